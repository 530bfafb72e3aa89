"""Delivery rules on PostgreSQL with a clock the tests move: idempotency, retries, final states, the outbox."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import ContratoDesconocido, leer
from buzon_notificaciones import entregas
from buzon_notificaciones.entregas import SolicitudAjena, intentar, registrar
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal
from buzon_notificaciones.models import entregas as tabla, salida

REINTENTOS = (3, 15, 60)


class Enviador:
    """Fails with the given failures in order, then accepts; records every try."""

    def __init__(self, *fallas):
        self.fallas = list(fallas)
        self.intentos = []

    def __call__(self, entrega):
        self.intentos.append((entrega.id_mensaje, entrega.texto))
        if self.fallas:
            raise self.fallas.pop(0)


def fila(db, id_mensaje):
    return db.execute(select(tabla).where(tabla.c.id_mensaje == id_mensaje)).one()


def bandeja(db):
    return [(f.tipo, json.loads(f.mensaje)) for f in db.execute(select(salida).order_by(salida.c.creado_en)).all()]


def intentar_ahora(db, reloj, enviar, canal="sms"):
    return intentar(db, canal=canal, ahora=reloj.ahora(), enviar=enviar, reintentos=REINTENTOS)


def test_a_request_is_stored_rendered_and_due_now(db, reloj, solicitud_sms):
    solicitud = solicitud_sms()
    id_mensaje = registrar(db, solicitud, canal="sms", ahora=reloj.ahora())
    entrega = fila(db, id_mensaje)
    assert entrega.estado == "en_cola" and entrega.intentos == 0 and entrega.proximo_intento == reloj.ahora()
    assert "48213" in entrega.texto and entrega.para == "+525512345678" and entrega.origen == "contactos"
    assert entrega.solicitado_en.isoformat() == "2026-11-28T18:00:00+00:00"


def test_the_same_request_twice_makes_one_entrega_and_one_send(db, reloj, solicitud_sms):
    solicitud = solicitud_sms()
    otra_copia = {**solicitud, "id": "otro-evento"}  # the requester's outbox may publish it again under any id
    assert registrar(db, solicitud, canal="sms", ahora=reloj.ahora()) is not None
    assert registrar(db, solicitud, canal="sms", ahora=reloj.ahora()) is None
    assert registrar(db, otra_copia, canal="sms", ahora=reloj.ahora()) is None
    enviar = Enviador()
    assert intentar_ahora(db, reloj, enviar).estado == "enviado"
    assert intentar_ahora(db, reloj, enviar) is None
    assert registrar(db, solicitud, canal="sms", ahora=reloj.ahora()) is None
    assert intentar_ahora(db, reloj, enviar) is None
    assert len(enviar.intentos) == 1
    assert len(db.execute(select(tabla)).all()) == 1


def test_success_announces_mensaje_enviado_and_blanks_the_body(db, reloj, solicitud_sms):
    id_mensaje = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    reloj.avanzar(seconds=2)
    assert intentar_ahora(db, reloj, Enviador()) == entregas.Resultado(id_mensaje, "enviado", 1)
    entrega = fila(db, id_mensaje)
    assert entrega.enviado_en == reloj.ahora() and entrega.proximo_intento is None
    assert entrega.texto is None and entrega.html is None and entrega.solicitud is None
    assert entrega.para == "+525512345678" and entrega.plantilla == "codigo_sms"
    [(tipo, evento)] = bandeja(db)
    _, enviado = leer(evento)
    assert tipo == "mensaje_enviado" and enviado.id_mensaje == id_mensaje and enviado.canal == "sms"
    assert enviado.enviado_en == "2026-11-28T12:00:02-06:00"


def test_temporary_failures_follow_the_schedule_then_give_up(db, reloj, solicitud_correo):
    solicitud = solicitud_correo()
    id_mensaje = registrar(db, solicitud, canal="correo", ahora=reloj.ahora())
    enviar = Enviador(*[FallaTemporal("SMTP 421 ocupado")] * 10)
    for intento, demora in enumerate(REINTENTOS, start=1):
        assert intentar_ahora(db, reloj, enviar, "correo").estado == "en_cola"
        entrega = fila(db, id_mensaje)
        assert entrega.intentos == intento and entrega.ultimo_error == "SMTP 421 ocupado"
        assert entrega.proximo_intento == reloj.ahora() + timedelta(seconds=demora)
        reloj.avanzar(seconds=demora - 0.5)
        assert intentar_ahora(db, reloj, enviar, "correo") is None  # not due yet
        reloj.avanzar(seconds=0.5)
    assert intentar_ahora(db, reloj, enviar, "correo").estado == "fallido"
    entrega = fila(db, id_mensaje)
    assert entrega.intentos == len(REINTENTOS) + 1 and "tras 4 intentos" in entrega.ultimo_error
    assert entrega.texto is None and entrega.html is None and entrega.solicitud is None and entrega.asunto
    assert len(enviar.intentos) == 4 and len({texto for _, texto in enviar.intentos}) == 1
    tipos = [tipo for tipo, _ in bandeja(db)]
    assert tipos == ["mensaje_fallido", "notificaciones.fallidas.correo"]
    assert bandeja(db)[1][1] == solicitud  # the dead letter is the original request


def test_a_temporary_failure_then_success(db, reloj, solicitud_sms):
    id_mensaje = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    enviar = Enviador(FallaTemporal("HTTP 503"), FallaTemporal("HTTP 503"))
    assert intentar_ahora(db, reloj, enviar).estado == "en_cola"
    reloj.avanzar(seconds=3)
    assert intentar_ahora(db, reloj, enviar).estado == "en_cola"
    reloj.avanzar(seconds=15)
    assert intentar_ahora(db, reloj, enviar) == entregas.Resultado(id_mensaje, "enviado", 3)
    assert {i for i, _ in enviar.intentos} == {id_mensaje}
    assert fila(db, id_mensaje).ultimo_error == "HTTP 503"


def test_a_permanent_failure_gives_up_at_once(db, reloj, solicitud_sms):
    solicitud = solicitud_sms()
    id_mensaje = registrar(db, solicitud, canal="sms", ahora=reloj.ahora())
    assert intentar_ahora(db, reloj, Enviador(FallaPermanente("HTTP 400"))).estado == "fallido"
    entrega = fila(db, id_mensaje)
    assert entrega.intentos == 1 and entrega.ultimo_error == "HTTP 400" and entrega.texto is None
    (tipo_evento, evento), (tipo_fallida, carta) = bandeja(db)
    assert tipo_evento == "mensaje_fallido" and leer(evento)[1].error == "HTTP 400"
    assert tipo_fallida == "notificaciones.fallidas.sms" and carta == solicitud


def test_a_request_the_template_cannot_honour_fails_without_sending(db, reloj, solicitud_sms):
    id_mensaje = registrar(db, solicitud_sms(datos={"codigo": "123"}), canal="sms", ahora=reloj.ahora())
    entrega = fila(db, id_mensaje)
    assert entrega.estado == "fallido" and entrega.intentos == 0 and "5 dígitos" in entrega.ultimo_error
    enviar = Enviador()
    assert intentar_ahora(db, reloj, enviar) is None and enviar.intentos == []
    assert [tipo for tipo, _ in bandeja(db)] == ["mensaje_fallido", "notificaciones.fallidas.sms"]


def test_an_unexpected_error_is_retried_like_a_temporary_failure(db, reloj, solicitud_sms):
    id_mensaje = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    assert intentar_ahora(db, reloj, Enviador(RuntimeError("algo raro"))).estado == "en_cola"
    assert fila(db, id_mensaje).ultimo_error == "algo raro"


def test_each_channel_takes_only_its_own(db, reloj, solicitud_sms, solicitud_correo):
    with pytest.raises(SolicitudAjena):
        registrar(db, solicitud_correo(), canal="sms", ahora=reloj.ahora())
    with pytest.raises(ContratoDesconocido):
        registrar(db, {**solicitud_sms(), "version": 99}, canal="sms", ahora=reloj.ahora())
    registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    assert intentar_ahora(db, reloj, Enviador(), "correo") is None


def test_two_workers_never_claim_the_same_message(db, reloj, solicitud_sms, limpiar_bd):
    """While one worker holds a message, another worker skips it (FOR UPDATE SKIP LOCKED)."""
    from sqlalchemy.orm import Session

    registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    otro = Session(limpiar_bd)
    vistos = []

    def enviar_mientras_otro_mira(entrega):
        vistos.append(intentar(otro, canal="sms", ahora=reloj.ahora(), enviar=Enviador(), reintentos=REINTENTOS))

    try:
        assert intentar_ahora(db, reloj, enviar_mientras_otro_mira).estado == "enviado"
    finally:
        otro.close()
    assert vistos == [None]


def test_the_schedule_is_spent_after_its_last_delay():
    assert [entregas.proxima_demora((3, 15), n) for n in (1, 2, 3)] == [3.0, 15.0, None]


def test_an_unknown_message_is_not_found(db):
    with pytest.raises(NoEncontrado):
        entregas.consultar(db, "no-existe")


def test_operators_see_the_state_in_mexico_city_time(db, reloj, solicitud_sms):
    id_mensaje = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    intentar_ahora(db, reloj, Enviador(FallaTemporal("HTTP 503")))
    estado = entregas.consultar(db, id_mensaje)
    assert estado["estado"] == "en_cola" and estado["canal"] == "sms" and estado["intentos"] == 1
    assert estado["ultimo_error"] == "HTTP 503" and estado["enviado_en"] is None
    assert estado["solicitado_en"] == "2026-11-28T12:00:00-06:00"
    assert estado["proximo_intento"] == "2026-11-28T12:00:03-06:00"


def test_outcomes_are_counted_per_channel(db, reloj, solicitud_sms):
    from prometheus_client import REGISTRY

    def valor(nombre):
        return REGISTRY.get_sample_value(nombre, {"canal": "sms"}) or 0

    antes = {n: valor(n) for n in ("buzon_notificaciones_enviados_total", "buzon_notificaciones_fallidos_total",
                                   "buzon_notificaciones_reintentos_total", "buzon_notificaciones_demora_segundos_count")}
    registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    intentar_ahora(db, reloj, Enviador(FallaTemporal("HTTP 503")))
    reloj.avanzar(seconds=3)
    intentar_ahora(db, reloj, Enviador())
    registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    intentar_ahora(db, reloj, Enviador(FallaPermanente("HTTP 400")))
    assert {n: valor(n) - v for n, v in antes.items()} == {
        "buzon_notificaciones_enviados_total": 1, "buzon_notificaciones_fallidos_total": 1,
        "buzon_notificaciones_reintentos_total": 1, "buzon_notificaciones_demora_segundos_count": 1}


def atender_ahora(db, reloj, solicitud, enviar, canal="sms"):
    return entregas.atender(db, solicitud, canal=canal, ahora=reloj.ahora(), enviar=enviar, reintentos=REINTENTOS)


def test_a_request_as_it_arrives_is_stored_and_sent_in_one_go(db, reloj, solicitud_correo):
    solicitud = solicitud_correo()
    enviar = Enviador()
    resultado = atender_ahora(db, reloj, solicitud, enviar, "correo")
    id_mensaje = solicitud["datos"]["id_mensaje"]
    assert resultado == entregas.Resultado(id_mensaje, "enviado", 1)
    [(enviado, texto)] = enviar.intentos
    assert enviado == id_mensaje and solicitud["datos"]["datos"]["enlace"] in texto
    entrega = fila(db, id_mensaje)
    assert entrega.estado == "enviado" and entrega.texto is None and entrega.solicitud is None
    assert [tipo for tipo, _ in bandeja(db)] == ["mensaje_enviado"]
    assert atender_ahora(db, reloj, solicitud, enviar, "correo") is None and len(enviar.intentos) == 1


def test_a_request_whose_first_try_fails_for_now_waits_for_the_timer(db, reloj, solicitud_sms):
    solicitud = solicitud_sms()
    assert atender_ahora(db, reloj, solicitud, Enviador(FallaTemporal("HTTP 503"))).estado == "en_cola"
    entrega = fila(db, solicitud["datos"]["id_mensaje"])
    assert entrega.intentos == 1 and "48213" in entrega.texto and json.loads(entrega.solicitud) == solicitud
    reloj.avanzar(seconds=3)
    assert intentar_ahora(db, reloj, Enviador()).estado == "enviado"


def test_a_request_refused_or_unrenderable_on_arrival_is_given_up(db, reloj, solicitud_sms):
    refusada, sin_codigo = solicitud_sms(), solicitud_sms(datos={"codigo": "12"})
    assert atender_ahora(db, reloj, refusada, Enviador(FallaPermanente("HTTP 400"))).estado == "fallido"
    enviar = Enviador()
    assert atender_ahora(db, reloj, sin_codigo, enviar) == entregas.Resultado(sin_codigo["datos"]["id_mensaje"],
                                                                                "fallido", 0)
    assert enviar.intentos == []
    assert [tipo for tipo, _ in bandeja(db)] == ["mensaje_fallido", "notificaciones.fallidas.sms"] * 2
    assert [carta for tipo, carta in bandeja(db) if tipo.startswith("notificaciones.fallidas")] == [refusada, sin_codigo]


def test_a_copy_arriving_while_the_first_is_sent_waits_and_is_dropped(db, reloj, solicitud_sms, limpiar_bd):
    """The row of a request in flight is inserted but not committed: a copy of it waits on that insert, then finds
    it, instead of sending it a second time; the retry timer never sees it."""
    import eventlet
    from sqlalchemy.orm import Session

    solicitud = solicitud_sms()
    otra, timer = Session(limpiar_bd), Session(limpiar_bd)
    copia = {}

    def enviar_mientras_llega_la_copia(entrega):
        hilo = eventlet.spawn(atender_ahora, otra, reloj, {**solicitud, "id": "otro-evento"}, Enviador())
        eventlet.sleep(0.3)
        copia["esperaba"] = not hilo.dead
        copia["hilo"] = hilo
        copia["timer"] = intentar(timer, canal="sms", ahora=reloj.ahora(), enviar=Enviador(), reintentos=REINTENTOS)

    try:
        assert atender_ahora(db, reloj, solicitud, enviar_mientras_llega_la_copia).estado == "enviado"
        assert copia["hilo"].wait() is None
    finally:
        otra.close()
        timer.close()
    assert copia["esperaba"] and copia["timer"] is None


# -- buzon's avisos: their origin, and their retries behind everyone else's -------------------------------------

AVISO = {"rfc": "EDE0101013A2", "depositada_en": "2026-12-07T01:30:00+00:00"}


def test_the_origin_recorded_is_the_exchange_the_request_came_from(db, reloj, solicitud_sms):
    aviso = registrar(db, solicitud_sms(plantilla="aviso_notificacion", datos=AVISO), canal="sms",
                      ahora=reloj.ahora(), origen="buzon")
    codigo = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora(), origen="contactos")
    sin_decir = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora())
    assert [fila(db, i).origen for i in (aviso, codigo, sin_decir)] == ["buzon", "contactos", "contactos"]
    assert entregas.consultar(db, aviso)["origen"] == "buzon"


def test_retries_take_every_other_requesters_messages_before_buzons_avisos(db, reloj, solicitud_sms):
    """A campaign's avisos due long before a code's retry still wait for it when the retry timer asks first for
    the rest (the order the workers' timer asks in)."""
    avisos = [registrar(db, solicitud_sms(plantilla="aviso_notificacion", datos=AVISO), canal="sms",
                        ahora=reloj.ahora(), origen="buzon") for _ in range(3)]
    reloj.avanzar(seconds=10)
    codigo = registrar(db, solicitud_sms(), canal="sms", ahora=reloj.ahora(), origen="contactos")
    enviar = Enviador()
    tomar = dict(canal="sms", ahora=reloj.ahora(), enviar=enviar, reintentos=REINTENTOS)
    assert intentar(db, **tomar, avisos=False).id_mensaje == codigo
    assert intentar(db, **tomar, avisos=False) is None
    assert {intentar(db, **tomar, avisos=True).id_mensaje for _ in avisos} == set(avisos)
    assert intentar(db, **tomar, avisos=True) is None
