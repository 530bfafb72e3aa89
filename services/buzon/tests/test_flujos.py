"""The steps that ask other services (`flujos`), with small stand-ins for activacion, contactos and auth: what is
asked and when, the reports of other messages ignored, the timer sweeping batch after batch."""
from datetime import datetime

import pytest

from buzon_buzon import avisos, flujos, notificaciones
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


def _depositar(db, reloj, cuerpo, confianza, activo=True, **cambios):
    activacion = Llamadas(titular={"rfc": MORAL, "nombre": "EMPRESA", "tipo_persona": "moral"} if activo else None)
    contactos = Llamadas(padron={"registros_patronales": [{"registro_patronal": "A1234567890"}]})
    respuesta = flujos.depositar(db, "cobranza", cuerpo(**cambios), confianza=confianza, activacion=activacion, contactos=contactos,
                                 ahora=reloj.ahora())
    return respuesta, activacion, contactos


def test_a_deposit_is_parsed_before_anyone_is_asked_and_the_padron_only_for_rps(db, reloj, cuerpo, confianza):
    with pytest.raises(ReglaIncumplida):
        flujos.depositar(db, "cobranza", cuerpo(documento="bm8gcGRm"), confianza=confianza, activacion=None, contactos=None,
                         ahora=reloj.ahora())
    _, activacion, contactos = _depositar(db, reloj, cuerpo, confianza, registros_patronales=[], referencia="R1")
    assert (activacion.pedidas, contactos.pedidas) == ([("titular", MORAL)], [])
    respuesta, _, contactos = _depositar(db, reloj, cuerpo, confianza, referencia="R2")
    assert contactos.pedidas == [("padron", MORAL)] and respuesta["estado"] == "pendiente"
    with pytest.raises(Conflicto) as inactivo:
        _depositar(db, reloj, cuerpo, confianza, activo=False, referencia="R3")
    assert inactivo.value.codigo == "buzon_inactivo"


def _avisada(db, reloj, cuerpo, confianza, referencia):
    id_ = _depositar(db, reloj, cuerpo, confianza, referencia=referencia)[0]["id"]
    evento = NotificacionDepositada(id=id_, sistema="cobranza", referencia=referencia, rfc=MORAL,
                                    registros_patronales=["A1234567890"], depositada_en=iso_mexico(reloj.ahora()))
    contactos = Llamadas(listar={"medios": MEDIOS})
    [aviso] = flujos.registrar_avisos(db, evento, contactos=contactos, ahora=reloj.ahora())["avisos"]
    assert contactos.pedidas == [("listar", {"rfc": MORAL})]
    return id_, aviso["id"]


def test_only_the_reports_of_avisos_count(db, reloj, cuerpo, confianza):
    _, aviso = _avisada(db, reloj, cuerpo, confianza, "R1")
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


def test_the_timer_sweeps_batch_after_batch(db, reloj, cuerpo, confianza, calendario):
    for n in range(5):
        _, aviso = _avisada(db, reloj, cuerpo, confianza, f"R{n}")
        flujos.mensaje_enviado(db, MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x",
                                                  plantilla=avisos.PLANTILLA, enviado_en=iso_mexico(ENVIADO)))
    antes = flujos.TACITAS._value.get()
    assert flujos.declarar_tacitas(db, calendario, TACITA, lote=2) == 5
    assert flujos.TACITAS._value.get() == antes + 5
    assert flujos.declarar_tacitas(db, calendario, TACITA, lote=2) == 0


def test_notifications_left_without_any_aviso_are_counted_once_by_reason(db, reloj, cuerpo, confianza):
    sin_medios, fallidos = (flujos.SIN_AVISO.labels(m)._value.get() for m in (avisos.SIN_MEDIOS,
                                                                             avisos.AVISOS_FALLIDOS))
    id_ = _depositar(db, reloj, cuerpo, confianza, referencia="R1")[0]["id"]
    evento = NotificacionDepositada(id=id_, sistema="cobranza", referencia="R1", rfc=MORAL, registros_patronales=[],
                                    depositada_en=iso_mexico(reloj.ahora()))
    for _ in range(2):  # a redelivered event counts nothing more
        flujos.registrar_avisos(db, evento, contactos=Llamadas(listar={"medios": []}), ahora=reloj.ahora())
    assert flujos.SIN_AVISO.labels(avisos.SIN_MEDIOS)._value.get() == sin_medios + 1
    _, aviso = _avisada(db, reloj, cuerpo, confianza, "R2")
    fallido = MensajeFallido(id_mensaje=aviso, canal="correo", referencia="x", plantilla=avisos.PLANTILLA, error="e")
    for _ in range(2):
        assert flujos.mensaje_fallido(db, fallido, ahora=reloj.ahora()) is True
    assert flujos.SIN_AVISO.labels(avisos.AVISOS_FALLIDOS)._value.get() == fallidos + 1


def test_a_view_deems_first_what_is_past_its_deadline(db, reloj, cuerpo, confianza, calendario):
    """The timer runs every minute: the person's and the system's views don't wait for it to show as tacita (with
    its folio and code) what can no longer be opened, and deem nothing else."""
    id_, aviso = _avisada(db, reloj, cuerpo, confianza, "R1")
    flujos.mensaje_enviado(db, MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x",
                                              plantilla=avisos.PLANTILLA, enviado_en=iso_mexico(ENVIADO)))
    antes = flujos.TACITAS._value.get()
    assert flujos.al_dia(db, calendario, TACITA.replace(minute=29), rfc=MORAL) == 0
    assert flujos.al_dia(db, calendario, TACITA, rfc="MAVA800101RS5") == 0
    assert flujos.al_dia(db, calendario, TACITA, sistema="otro", id=id_) == 0
    assert flujos.al_dia(db, calendario, TACITA, sistema="cobranza", id="no-es-un-id") == 0
    assert notificaciones.listar(db, MORAL, calendario=calendario)["notificaciones"][0]["estado"] == "pendiente"
    assert flujos.al_dia(db, calendario, TACITA, rfc=MORAL) == 1
    [vista] = notificaciones.listar(db, MORAL, calendario=calendario)["notificaciones"]
    assert (vista["estado"], vista["notificada_en"]) == ("tacita", "2027-01-15T07:30:00-06:00")
    assert vista["folio_acuse"] and len(vista["codigo_verificacion"]) == 16
    assert notificaciones.pendientes(db, MORAL) == 0 and flujos.TACITAS._value.get() == antes + 1
    # The system's query, by its id.
    otro, aviso = _avisada(db, reloj, cuerpo, confianza, "R2")
    flujos.mensaje_enviado(db, MensajeEnviado(id_mensaje=aviso, canal="correo", referencia="x",
                                              plantilla=avisos.PLANTILLA, enviado_en=iso_mexico(ENVIADO)))
    assert flujos.al_dia(db, calendario, TACITA, sistema="cobranza", id=otro) == 1
    assert notificaciones.consultar(db, "cobranza", otro, calendario=calendario)["estado"] == "tacita"
