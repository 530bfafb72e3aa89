"""Rules of DOMINIO.md's Buzón section that need the service on real RabbitMQ and PostgreSQL (docs/buzon-reglas.md
maps every rule to its tests): the depositing system is told of a deemed notification by an event on the bus and by
its query, and a notification opens only with the addressee's own e.firma (as the activation), never with another
RFC's, not even the e.firma of the persona moral's legal representative."""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.standalone.events import event_dispatcher

from buzon_comun.errores import Conflicto, Prohibido
from buzon_comun.eventos import MensajeEnviado, leer, mensaje
from buzon_comun.reloj import iso_mexico
from buzon_comun.servicio import rpc
from buzon_dev.pruebas import b64, esperar, firmar, llamar

FISICA, MORAL = "MAVA800101RS5", "EDE0101013A2"
MEDIOS = [{"id": "m1", "mecanismo": "correo", "valor": "avisos@ejemplo.mx", "estado": "validado",
           "registros_patronales": []}]


class ActivacionFalsa:
    name = "activacion"

    @rpc
    def titular(self, rfc):
        return {"rfc": rfc, "nombre": "TITULAR", "curp": None, "rfc_representante": None, "tipo_persona": "moral"}


class ContactosFalso:
    name = "contactos"

    @rpc
    def padron(self, rfc):
        return {"registros_patronales": []}

    @rpc
    def listar(self, titular, incluir_bajas=False):
        return {"medios": MEDIOS}


@pytest.fixture
def buzon(levantar_buzon):
    return levantar_buzon(ActivacionFalsa, ContactosFalso, "oyente_reglas_buzon", ("buzon", "correo_solicitado"),
                          ("buzon", "notificacion_tacita"), ("buzon", "notificacion_abierta"))


def _de_tipo(recibidos, tipo) -> list:
    return [leer(m)[1] for m in list(recibidos) if m["tipo"] == tipo]


def _depositar(buzon, rfc, referencia) -> str:
    return llamar(buzon, "depositar", "cobranza", {
        "rfc": rfc, "asunto": "Requerimiento", "area": "Subdelegación Centro", "tipo_acto": "Requerimiento",
        "referencia": referencia, "documento": b64(buzon.pdf)})["id"]


def test_the_depositing_system_is_told_of_a_deemed_notification_on_the_bus_and_by_its_query(buzon, config_nameko):
    id_ = _depositar(buzon, MORAL, "OF-TACITA")
    [aviso] = esperar(lambda: [a for a in _de_tipo(buzon.recibidos, "correo_solicitado") if a.referencia == id_])
    # notificaciones reports the aviso sent a month ago: past any deadline of 3 días hábiles.
    enviado = (datetime.now(timezone.utc) - timedelta(days=30)).replace(microsecond=0)
    event_dispatcher(config_nameko)("notificaciones", "mensaje_enviado", mensaje(MensajeEnviado(
        id_mensaje=aviso.id_mensaje, canal="correo", referencia=id_, plantilla="aviso_notificacion",
        enviado_en=iso_mexico(enviado)), ahora=enviado))
    # The query deems it first (the timer runs every minute): tacita, at its deemed moment, with its folio.
    vista = esperar(lambda: (v := llamar(buzon, "consultar", "cobranza", id_))["estado"] == "tacita" and v)
    assert vista["aviso_enviado_en"] == iso_mexico(enviado)
    assert vista["folio_acuse"].startswith("NOT-") and vista["notificada_en"] is not None
    assert datetime.fromisoformat(vista["notificada_en"]) < datetime.now(timezone.utc)
    # And the event on buzon's exchange, for the system that deposited it.
    [evento] = esperar(lambda: _de_tipo(buzon.recibidos, "notificacion_tacita"))
    assert (evento.id, evento.sistema, evento.referencia, evento.rfc) == (id_, "cobranza", "OF-TACITA", MORAL)
    assert (evento.notificada_en, evento.folio_acuse, evento.aviso_enviado_en) == (
        vista["notificada_en"], vista["folio_acuse"], iso_mexico(enviado))
    # Deemed: nobody opens it any more, and its document is readable.
    with pytest.raises(Conflicto) as ya:
        llamar(buzon, "acuse_recibo", MORAL, id_)
    assert ya.value.codigo == "ya_notificada"
    assert llamar(buzon, "documento", MORAL, id_) == b64(buzon.pdf)
    assert _de_tipo(buzon.recibidos, "notificacion_abierta") == []


def test_only_the_addressees_own_efirma_opens_it(buzon, efirma_dev_fisica, efirma_dev_moral):
    """The persona moral's notification signed with the e.firma of its legal representative (a persona física,
    another RFC) is refused as the activation refuses it (403 certificado_ajeno); with its own e.firma it opens."""
    id_ = _depositar(buzon, MORAL, "OF-EFIRMA")
    cadena = llamar(buzon, "acuse_recibo", MORAL, id_)["cadena_original"]
    with pytest.raises(Prohibido) as ajeno:
        llamar(buzon, "abrir", MORAL, id_, b64(efirma_dev_fisica.cer_der), firmar(efirma_dev_fisica, cadena))
    assert ajeno.value.codigo == "certificado_ajeno"
    assert llamar(buzon, "pendientes", MORAL) == 1
    abierta = llamar(buzon, "abrir", MORAL, id_, b64(efirma_dev_moral.cer_der), firmar(efirma_dev_moral, cadena))
    assert abierta["estado"] == "abierta"
    [evento] = esperar(lambda: _de_tipo(buzon.recibidos, "notificacion_abierta"))
    assert (evento.id, evento.folio_acuse) == (id_, abierta["folio_acuse"])
    # A persona física's notification is not opened with the e.firma of a company it represents either.
    otra = _depositar(buzon, FISICA, "OF-EFIRMA-2")
    cadena = llamar(buzon, "acuse_recibo", FISICA, otra)["cadena_original"]
    with pytest.raises(Prohibido):
        llamar(buzon, "abrir", FISICA, otra, b64(efirma_dev_moral.cer_der), firmar(efirma_dev_moral, cadena))
    assert llamar(buzon, "pendientes", FISICA) == 1
