"""The buzon service on real RabbitMQ and PostgreSQL, with the real auth (dev PKI and OCSP responder) and small
activacion and contactos: a deposit gets its avisos through its own event, notificaciones' delivery report starts
its días hábiles, a real e.firma opens it, and the events reach a listener."""
from datetime import datetime, timezone

import pytest
from nameko.standalone.events import event_dispatcher

from buzon_comun.errores import Conflicto, NoEncontrado, ReglaIncumplida
from buzon_comun.eventos import MensajeEnviado, MensajeFallido, leer, mensaje
from buzon_comun.reloj import iso_mexico
from buzon_comun.servicio import rpc
from buzon_dev.documentos import firmar_con, pdf_de_prueba
from buzon_dev.pruebas import b64, esperar, firmar, llamar

MORAL = "EDE0101013A2"
OTRO_RFC = "MAVA800101RS5"
RPS = ["A1234567890", "B1234567890"]

ACTIVOS = {OTRO_RFC, MORAL}
INACTIVO = "GOCJ750505AB1"
MEDIOS = [{"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado",
           "registros_patronales": []},
          {"id": "m2", "mecanismo": "telefono", "valor": "5512345678", "estado": "validado",
           "registros_patronales": []},
          {"id": "m3", "mecanismo": "correo", "valor": "pendiente@ejemplo.mx", "estado": "pendiente",
           "registros_patronales": []}]


class ActivacionFalsa:
    name = "activacion"

    @rpc
    def titular(self, rfc):
        return {"rfc": rfc, "nombre": "EMPRESA", "curp": None, "rfc_representante": None,
                "tipo_persona": "moral"} if rfc in ACTIVOS else None


class ContactosFalso:
    name = "contactos"

    @rpc
    def padron(self, rfc):
        return {"registros_patronales": [{"registro_patronal": rp, "razon_social": "EMPRESA"} for rp in RPS]
                if rfc == MORAL else []}

    @rpc
    def listar(self, titular, incluir_bajas=False):
        return {"medios": MEDIOS if titular["rfc"] == OTRO_RFC else []}


def _cuerpo(buzon, rfc=OTRO_RFC, referencia="OF-1", **extra):
    return {"rfc": rfc, "asunto": "Requerimiento", "area": "Subdelegación Centro", "tipo_acto": "Requerimiento",
            "referencia": referencia, "documento": b64(buzon.pdf), **extra}


@pytest.fixture
def buzon(levantar_buzon):
    return levantar_buzon(ActivacionFalsa, ContactosFalso, "oyente_buzon", ("buzon", "correo_solicitado"),
                          ("buzon", "sms_solicitado"), ("buzon", "notificacion_abierta"), ("buzon", "acuse_solicitado"))


def _de_tipo(recibidos, tipo):
    return [leer(m)[1] for m in list(recibidos) if m["tipo"] == tipo]


def test_a_deposit_gets_its_avisos_and_the_addressee_opens_it_with_a_real_efirma(buzon, config_nameko,
                                                                               efirma_dev_fisica):
    depositada = llamar(buzon, "depositar", "sipare", _cuerpo(buzon))
    assert depositada["estado"] == "pendiente"
    assert llamar(buzon, "depositar", "sipare", _cuerpo(buzon)) == depositada  # the same referencia: the first answer

    # Its own event asks contactos for the medios: one aviso per validated one, on buzon's exchange.
    avisos = esperar(lambda: len(_de_tipo(buzon.recibidos, "correo_solicitado")
                                 + _de_tipo(buzon.recibidos, "sms_solicitado")) >= 2
                     and _de_tipo(buzon.recibidos, "correo_solicitado") + _de_tipo(buzon.recibidos, "sms_solicitado"))
    assert sorted(a.para for a in avisos) == ["+525512345678", "ana@ejemplo.mx"]
    assert {a.plantilla for a in avisos} == {"aviso_notificacion"}
    assert {a.referencia for a in avisos} == {depositada["id"]}

    # notificaciones' reports: the email sent, the SMS failed; another kind of message changes nothing.
    correo = next(a for a in avisos if a.para == "ana@ejemplo.mx")
    sms = next(a for a in avisos if a.para != "ana@ejemplo.mx")
    enviado = datetime.now(timezone.utc).replace(microsecond=0)
    despachar = event_dispatcher(config_nameko)
    despachar("notificaciones", "mensaje_enviado", mensaje(MensajeEnviado(
        id_mensaje=sms.id_mensaje, canal="sms", referencia=depositada["id"], plantilla="codigo_sms",
        enviado_en=iso_mexico(enviado)), ahora=enviado))
    despachar("notificaciones", "mensaje_enviado", mensaje(MensajeEnviado(
        id_mensaje=correo.id_mensaje, canal="correo", referencia=depositada["id"], plantilla="aviso_notificacion",
        enviado_en=iso_mexico(enviado)), ahora=enviado))
    despachar("notificaciones", "mensaje_fallido", mensaje(MensajeFallido(
        id_mensaje=sms.id_mensaje, canal="sms", referencia=depositada["id"], plantilla="aviso_notificacion",
        error="proveedor caído"), ahora=enviado))
    vista = esperar(lambda: (v := llamar(buzon, "consultar", "sipare", depositada["id"]))["aviso_enviado_en"]
                    and {a["estado"] for a in v["avisos"]} == {"enviado", "fallido"} and v)
    assert vista["aviso_enviado_en"] == iso_mexico(enviado) and vista["estado"] == "pendiente"
    with pytest.raises(NoEncontrado):
        llamar(buzon, "consultar", "otro_sistema", depositada["id"])

    # The addressee: listed, pending; another RFC doesn't see it; the document waits for the opening.
    assert [n["id"] for n in llamar(buzon, "listar", OTRO_RFC)["notificaciones"]] == [depositada["id"]]
    assert llamar(buzon, "pendientes", OTRO_RFC) == 1
    with pytest.raises(NoEncontrado):
        llamar(buzon, "obtener", MORAL, depositada["id"])
    with pytest.raises(Conflicto) as sin_abrir:
        llamar(buzon, "documento", OTRO_RFC, depositada["id"])
    assert sin_abrir.value.codigo == "notificacion_sin_abrir"

    cadena = llamar(buzon, "acuse_recibo", OTRO_RFC, depositada["id"])["cadena_original"]
    assert f"|{depositada['id']}|{OTRO_RFC}|" in cadena
    cer = b64(efirma_dev_fisica.cer_der)
    with pytest.raises(ReglaIncumplida) as mala:
        llamar(buzon, "abrir", OTRO_RFC, depositada["id"], cer, firmar(efirma_dev_fisica, cadena + "x"))
    assert mala.value.codigo == "firma_invalida"
    abierta = llamar(buzon, "abrir", OTRO_RFC, depositada["id"], cer, firmar(efirma_dev_fisica, cadena))
    assert abierta["estado"] == "abierta" and abierta["folio_acuse"].startswith("NOT-")
    with pytest.raises(Conflicto) as otra:
        llamar(buzon, "abrir", OTRO_RFC, depositada["id"], cer, firmar(efirma_dev_fisica, cadena))
    assert otra.value.codigo == "ya_notificada"
    assert b64(buzon.pdf) == llamar(buzon, "documento", OTRO_RFC, depositada["id"])
    assert llamar(buzon, "consultar", "sipare", depositada["id"])["folio_acuse"] == abierta["folio_acuse"]

    eventos = esperar(lambda: (_de_tipo(buzon.recibidos, "notificacion_abierta")
                               and _de_tipo(buzon.recibidos, "acuse_solicitado")) and buzon.recibidos)
    [evento] = _de_tipo(eventos, "notificacion_abierta")
    [acuse] = _de_tipo(eventos, "acuse_solicitado")
    assert (evento.sistema, evento.referencia, evento.folio_acuse) == ("sipare", "OF-1", abierta["folio_acuse"])
    assert (acuse.tipo, acuse.folio, acuse.titular["nombre"]) == ("notificacion", abierta["folio_acuse"],
                                                                   "ANA MARIA MARTINEZ VARGAS")


def test_an_inactive_buzon_and_foreign_rps_are_refused(buzon, firmador_ajeno):
    with pytest.raises(Conflicto) as inactivo:
        llamar(buzon, "depositar", "sipare", _cuerpo(buzon, rfc=INACTIVO))
    assert inactivo.value.codigo == "buzon_inactivo"
    with pytest.raises(ReglaIncumplida) as ajeno:
        llamar(buzon, "depositar", "sipare", _cuerpo(buzon, rfc=MORAL, registros_patronales=[RPS[0], "C1234567890"]))
    assert ajeno.value.codigo == "registro_patronal_ajeno"
    propio = llamar(buzon, "depositar", "sipare", _cuerpo(buzon, rfc=MORAL, referencia="OF-2",
                                                          registros_patronales=[RPS[1]]))
    assert llamar(buzon, "obtener", MORAL, propio["id"])["registros_patronales"] == [RPS[1]]
    with pytest.raises(ReglaIncumplida) as no_pdf:
        llamar(buzon, "depositar", "sipare", _cuerpo(buzon, referencia="OF-3", documento=b64(b"no soy un pdf")))
    assert no_pdf.value.codigo == "documento_invalido"
    # The signature is verified in the service too (in eventlet's thread pool): an unsigned PDF, one signed by a
    # key of no trusted CA.
    with pytest.raises(ReglaIncumplida) as sin_firma:
        llamar(buzon, "depositar", "sipare", _cuerpo(buzon, referencia="OF-4", documento=b64(pdf_de_prueba())))
    assert sin_firma.value.codigo == "documento_sin_firma"
    with pytest.raises(ReglaIncumplida) as ajena:
        llamar(buzon, "depositar", "sipare", _cuerpo(buzon, referencia="OF-5", documento=b64(firmar_con(
            pdf_de_prueba(), firmador_ajeno))))
    assert ajena.value.codigo == "firma_documento_invalida"
    assert llamar(buzon, "listar", INACTIVO) == {"notificaciones": []}
