"""The steps that ask other services (`flujos`), with small stand-ins for activacion, contactos and auth: what is
asked and when, the reports of other messages ignored, the timer sweeping batch after batch."""
from datetime import datetime

import pytest

from buzon_buzon import avisos, flujos
from buzon_comun.errores import Conflicto, ReglaIncumplida
from buzon_comun.eventos import MensajeEnviado, MensajeFallido, NotificacionDepositada
from buzon_comun.reloj import ZONA_MEXICO, iso_mexico

MORAL = "EDE0101013A2"
MEDIOS = [{"id": "m1", "mecanismo": "correo", "valor": "a@ejemplo.mx", "estado": "validado", "registros_patronales": []}]
ENVIADO = datetime(2027, 1, 11, 10, 0, tzinfo=ZONA_MEXICO)
TACITA = datetime(2027, 1, 15, 7, 30, tzinfo=ZONA_MEXICO)


class Llamadas:
    """A service stand-in that answers from a table and records what it was asked."""

    def __init__(self, **respuestas):
        self.respuestas = respuestas
        self.pedidas = []

    def __getattr__(self, metodo):
        def llamar(*args):
            self.pedidas.append((metodo, *args))
            return self.respuestas[metodo]
        return llamar


def _depositar(db, reloj, cuerpo, activo=True, **cambios):
    activacion = Llamadas(activo=activo)
    contactos = Llamadas(padron={"registros_patronales": [{"registro_patronal": "A1234567890"}]})
    respuesta = flujos.depositar(db, "cobranza", cuerpo(**cambios), activacion=activacion, contactos=contactos,
                                 ahora=reloj.ahora())
    return respuesta, activacion, contactos


def test_a_deposit_is_parsed_before_anyone_is_asked_and_the_padron_only_for_rps(db, reloj, cuerpo):
    with pytest.raises(ReglaIncumplida):
        flujos.depositar(db, "cobranza", cuerpo(documento="bm8gcGRm"), activacion=None, contactos=None,
                         ahora=reloj.ahora())
    _, activacion, contactos = _depositar(db, reloj, cuerpo, registros_patronales=[], referencia="R1")
    assert (activacion.pedidas, contactos.pedidas) == ([("activo", MORAL)], [])
    respuesta, _, contactos = _depositar(db, reloj, cuerpo, referencia="R2")
    assert contactos.pedidas == [("padron", MORAL)] and respuesta["estado"] == "pendiente"
    with pytest.raises(Conflicto) as inactivo:
        _depositar(db, reloj, cuerpo, activo=False, referencia="R3")
    assert inactivo.value.codigo == "buzon_inactivo"


def _avisada(db, reloj, cuerpo, referencia):
    id_ = _depositar(db, reloj, cuerpo, referencia=referencia)[0]["id"]
    evento = NotificacionDepositada(id=id_, sistema="cobranza", referencia=referencia, rfc=MORAL,
                                    registros_patronales=["A1234567890"], depositada_en=iso_mexico(reloj.ahora()))
    contactos = Llamadas(listar={"medios": MEDIOS})
    [aviso] = flujos.registrar_avisos(db, evento, contactos=contactos, ahora=reloj.ahora())["avisos"]
    assert contactos.pedidas == [("listar", {"rfc": MORAL})]
    return id_, aviso["id"]


def test_only_the_reports_of_avisos_count(db, reloj, cuerpo):
    _, aviso = _avisada(db, reloj, cuerpo, "R1")
    otro = MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x", plantilla="codigo_sms",
                          enviado_en=iso_mexico(ENVIADO))
    assert flujos.mensaje_enviado(db, otro) is False
    fallido = MensajeFallido(id_mensaje=aviso, canal="correo", referencia="x", plantilla=avisos.PLANTILLA, error="e")
    antes = flujos.AVISOS.labels("fallido")._value.get()
    assert flujos.mensaje_fallido(db, fallido, ahora=reloj.ahora()) is True
    assert flujos.AVISOS.labels("fallido")._value.get() == antes + 1
    enviado = MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x", plantilla=avisos.PLANTILLA,
                             enviado_en=iso_mexico(ENVIADO))
    assert flujos.mensaje_enviado(db, enviado) is True  # sent after all: it counts from its time


def test_the_timer_sweeps_batch_after_batch(db, reloj, cuerpo, calendario):
    for n in range(5):
        _, aviso = _avisada(db, reloj, cuerpo, f"R{n}")
        flujos.mensaje_enviado(db, MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x",
                                                  plantilla=avisos.PLANTILLA, enviado_en=iso_mexico(ENVIADO)))
    antes = flujos.TACITAS._value.get()
    assert flujos.declarar_tacitas(db, calendario, TACITA, lote=2) == 5
    assert flujos.TACITAS._value.get() == antes + 5
    assert flujos.declarar_tacitas(db, calendario, TACITA, lote=2) == 0
