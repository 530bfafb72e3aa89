"""Deliveries: a requested message from its request to enviado or fallido, with retries on a schedule.

Plain functions over a SQLAlchemy session and an `ahora`, free of nameko. The caller sends through `enviar`, a
function that hands one entrega to the mail server or SMS provider and raises FallaTemporal or FallaPermanente.
Every state change commits together with the event that announces it (the outbox `salida`); a message given up
also leaves its original request in the outbox, addressed to the channel's dead-letter queue.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import agregar, encolar
from buzon_comun.db import transaccion
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import CorreoSolicitado, MensajeEnviado, MensajeFallido, SmsSolicitado, leer
from buzon_comun.reloj import iso_mexico
from buzon_notificaciones import metricas
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal
from buzon_notificaciones.models import entregas, salida
from buzon_notificaciones.plantillas import Mensaje, renderizar

log = logging.getLogger(__name__)

EN_COLA = "en_cola"
ENVIADO = "enviado"
FALLIDO = "fallido"
CANALES = {CorreoSolicitado: "correo", SmsSolicitado: "sms"}
# The outbox row type of a dead letter; the relay publishes it to the queue of the same name.
PREFIJO_FALLIDAS = "notificaciones.fallidas."
# Who asks for avisos of notifications: their retries wait behind those of every other requester's messages.
ORIGEN_AVISOS = "buzon"

Enviar = Callable[[Row], None]


class SolicitudAjena(ValueError):
    """A request of another channel or kind reached this worker."""


@dataclass(frozen=True)
class Resultado:
    id_mensaje: str
    estado: str
    intentos: int


def tipo_fallida(canal: str) -> str:
    return PREFIJO_FALLIDAS + canal


def registrar(db: Session, solicitud: dict, *, canal: str, ahora: datetime, origen: str | None = None,
              renderizar_mensaje: Callable[[str, str, dict], Mensaje] = renderizar) -> str | None:
    """Store the entrega of a request, rendered and due now; None if its id_mensaje is known already.

    A request the templates cannot honour is stored as fallido at once. `origen` is the service whose exchange
    the request came from (`origen_de`).
    """
    with transaccion(db):
        fila, error = _registrar(db, solicitud, canal=canal, ahora=ahora, origen=origen,
                                 renderizar_mensaje=renderizar_mensaje)
    if fila is None:
        return None
    if error is not None:
        _contar_sin_enviar(fila, error)
    return fila.id_mensaje


def atender(db: Session, solicitud: dict, *, canal: str, ahora: datetime, enviar: Enviar, reintentos: tuple,
            origen: str | None = None,
            renderizar_mensaje: Callable[[str, str, dict], Mensaje] = renderizar) -> Resultado | None:
    """A request as it arrives: stored and given its first try in one transaction; None if its id_mensaje is known.

    On PostgreSQL the new row stays locked (uncommitted) while it is tried: a copy of the request arriving
    meanwhile waits for the outcome and then finds the row, and the retry timer never sees a row in flight. A crash
    in between rolls everything back and the request, not yet acknowledged, comes again. One transaction instead
    of two (registrar, then intentar) spares a commit, a connection checkout and a SELECT per message. On SQLite
    (local runs) a write transaction left open across the send would hold its one writer lock, so it is two.
    """
    postgresql = db.bind.dialect.name == "postgresql"
    with transaccion(db):
        fila, error = _registrar(db, solicitud, canal=canal, ahora=ahora, origen=origen,
                                 renderizar_mensaje=renderizar_mensaje)
        if fila is None:
            return None
        if error is None and postgresql:
            resultado = _probar(db, fila, ahora=ahora, enviar=enviar, reintentos=reintentos)
    if error is not None:
        _contar_sin_enviar(fila, error)
        return Resultado(fila.id_mensaje, FALLIDO, 0)
    if not postgresql:
        return intentar(db, canal=canal, ahora=ahora, enviar=enviar, reintentos=reintentos, id_mensaje=fila.id_mensaje)
    _contar(fila, resultado, ahora)
    return resultado


def origen_de(evento, origen: str | None) -> str:
    """The service that asked: the one whose exchange the request came from; without it (a caller that doesn't
    know), the first requester the contract names."""
    return origen or evento.ORIGEN.split(",")[0].strip()


def _registrar(db: Session, solicitud: dict, *, canal: str, ahora: datetime, origen: str | None,
               renderizar_mensaje: Callable[[str, str, dict], Mensaje]) -> tuple[Row | None, str | None]:
    """In the caller's transaction: the new entrega's row (None if its id_mensaje is known) and, when its template
    cannot be honoured, the error it was given up with."""
    _, evento = leer(solicitud)
    if CANALES.get(type(evento)) != canal:
        raise SolicitudAjena(f"{type(evento).__name__} no es una solicitud de {canal}")
    try:
        mensaje, error = renderizar_mensaje(canal, evento.plantilla, evento.datos), None
    except FallaPermanente as falla:
        mensaje, error = None, str(falla)
    valores = dict(
        id_mensaje=evento.id_mensaje,
        canal=canal,
        para=evento.para,
        plantilla=evento.plantilla,
        referencia=evento.referencia,
        origen=origen_de(evento, origen),
        solicitud=json.dumps(solicitud, ensure_ascii=False),
        asunto=mensaje.asunto if mensaje else None,
        texto=mensaje.texto if mensaje else None,
        html=mensaje.html if mensaje else None,
        estado=EN_COLA,
        intentos=0,
        proximo_intento=ahora,
        solicitado_en=_fecha(solicitud.get("ocurrido_en"), ahora),
    )
    fila = _insertar_si_no_existe(db, valores)
    if fila is None:
        log.info("solicitud repetida del mensaje %s: ya se atiende", evento.id_mensaje)
        return None, None
    if error is not None:
        _dar_por_fallido(db, fila, error, ahora=ahora)
    return fila, error


def _contar_sin_enviar(fila: Row, error: str) -> None:
    metricas.FALLIDOS.labels(fila.canal).inc()
    log.warning("mensaje %s fallido sin enviarse: %s", fila.id_mensaje, error)


def intentar(db: Session, *, canal: str, ahora: datetime, enviar: Enviar, reintentos: tuple,
             id_mensaje: str | None = None, avisos: bool | None = None) -> Resultado | None:
    """Claim one due entrega of the channel (that one if `id_mensaje` is given), try it and record the outcome.

    None when nothing is due. The claim is `FOR UPDATE SKIP LOCKED` and holds until the outcome commits, so no
    two workers ever try one message at the same time, and a message once enviado is never tried again.
    `avisos` True takes only buzon's avisos, False only the rest (the retry timer takes the rest first).
    """
    consulta = (
        select(entregas)
        .where(entregas.c.canal == canal, entregas.c.estado == EN_COLA, entregas.c.proximo_intento <= ahora)
        .order_by(entregas.c.proximo_intento)
        .limit(1)
    )
    if avisos is not None:
        consulta = consulta.where((entregas.c.origen == ORIGEN_AVISOS) if avisos
                                  else (entregas.c.origen != ORIGEN_AVISOS))
    if id_mensaje is not None:
        consulta = consulta.where(entregas.c.id_mensaje == id_mensaje)
    if db.bind.dialect.name == "postgresql":
        consulta = consulta.with_for_update(skip_locked=True)
    with transaccion(db):
        fila = db.execute(consulta).first()
        if fila is None:
            return None
        resultado = _probar(db, fila, ahora=ahora, enviar=enviar, reintentos=reintentos)
    _contar(fila, resultado, ahora)
    return resultado


def _probar(db: Session, fila: Row, *, ahora: datetime, enviar: Enviar, reintentos: tuple) -> Resultado:
    """Try an entrega the caller's transaction holds, and record the outcome in it."""
    intentos = fila.intentos + 1
    try:
        enviar(fila)
    except FallaPermanente as falla:
        return _cerrar(db, fila, FALLIDO, intentos, ahora=ahora, error=str(falla))
    except Exception as falla:  # noqa: BLE001 - anything but a permanent refusal deserves another try
        if not isinstance(falla, FallaTemporal):
            log.exception("falla inesperada al enviar el mensaje %s", fila.id_mensaje)
        error = str(falla) or type(falla).__name__
        demora = proxima_demora(reintentos, intentos)
        if demora is None:
            return _cerrar(db, fila, FALLIDO, intentos, ahora=ahora, error=f"{error} (tras {intentos} intentos)")
        db.execute(update(entregas).where(entregas.c.id_mensaje == fila.id_mensaje).values(
            intentos=intentos, ultimo_error=error, proximo_intento=ahora + timedelta(seconds=demora)))
        log.info("mensaje %s: falla temporal en el intento %s (%s); nuevo intento en %s s",
                 fila.id_mensaje, intentos, error, demora)
        return Resultado(fila.id_mensaje, EN_COLA, intentos)
    return _cerrar(db, fila, ENVIADO, intentos, ahora=ahora)


def _contar(fila: Row, resultado: Resultado, ahora: datetime) -> None:
    """The metrics of an attempt, once its outcome is committed."""
    if resultado.estado == ENVIADO:
        metricas.ENVIADOS.labels(fila.canal).inc()
        metricas.DEMORA.labels(fila.canal).observe(max((ahora - fila.solicitado_en).total_seconds(), 0))
    elif resultado.estado == FALLIDO:
        metricas.FALLIDOS.labels(fila.canal).inc()
    else:
        metricas.REINTENTOS.labels(fila.canal).inc()


def proxima_demora(reintentos: tuple, intentos: int) -> float | None:
    """Seconds before the next try after `intentos` tries, or None when the schedule is spent."""
    if intentos <= len(reintentos):
        return float(reintentos[intentos - 1])
    return None


def consultar(db: Session, id_mensaje: str) -> dict:
    with transaccion(db):
        fila = db.execute(select(entregas).where(entregas.c.id_mensaje == id_mensaje)).first()
    if fila is None:
        raise NoEncontrado("no_encontrado", "No existe ese mensaje.")
    return {
        "id_mensaje": fila.id_mensaje,
        "estado": fila.estado,
        "canal": fila.canal,
        "plantilla": fila.plantilla,
        "referencia": fila.referencia,
        "origen": fila.origen,
        "intentos": fila.intentos,
        "ultimo_error": fila.ultimo_error,
        "proximo_intento": iso_mexico(fila.proximo_intento) if fila.proximo_intento else None,
        "solicitado_en": iso_mexico(fila.solicitado_en),
        "enviado_en": iso_mexico(fila.enviado_en) if fila.enviado_en else None,
    }


def _cerrar(db: Session, fila: Row, estado: str, intentos: int, *, ahora: datetime, error: str | None = None) -> Resultado:
    """Record the final outcome in the caller's transaction."""
    if estado == ENVIADO:
        db.execute(update(entregas).where(entregas.c.id_mensaje == fila.id_mensaje).values(
            estado=ENVIADO, intentos=intentos, enviado_en=ahora, proximo_intento=None,
            solicitud=None, texto=None, html=None))
        encolar(db, salida, MensajeEnviado(id_mensaje=fila.id_mensaje, canal=fila.canal, referencia=fila.referencia,
                                           plantilla=fila.plantilla, enviado_en=iso_mexico(ahora)), ahora=ahora)
        log.info("mensaje %s enviado por %s en el intento %s", fila.id_mensaje, fila.canal, intentos)
    else:
        db.execute(update(entregas).where(entregas.c.id_mensaje == fila.id_mensaje).values(intentos=intentos))
        _dar_por_fallido(db, fila, error, ahora=ahora)
        log.warning("mensaje %s fallido por %s tras %s intentos: %s", fila.id_mensaje, fila.canal, intentos, error)
    return Resultado(fila.id_mensaje, estado, intentos)


def _dar_por_fallido(db: Session, fila: Row, error: str, *, ahora: datetime) -> None:
    """Mark it fallido in the caller's transaction, announce it and leave the request for the dead-letter queue."""
    db.execute(update(entregas).where(entregas.c.id_mensaje == fila.id_mensaje).values(
        estado=FALLIDO, ultimo_error=error, proximo_intento=None, solicitud=None, texto=None, html=None))
    encolar(db, salida, MensajeFallido(id_mensaje=fila.id_mensaje, canal=fila.canal, referencia=fila.referencia,
                                       plantilla=fila.plantilla, error=error), ahora=ahora)
    agregar(db, salida, tipo_fallida(fila.canal), json.loads(fila.solicitud), ahora=ahora)


def _insertar_si_no_existe(db: Session, valores: dict) -> Row | None:
    """The new row, or None when one with its id_mensaje exists (a concurrent insert of it is waited for)."""
    dialecto = db.bind.dialect.name
    if dialecto == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialecto == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the system runs on PostgreSQL, or SQLite locally
        raise RuntimeError(f"base de datos no admitida: {dialecto}")
    return db.execute(insert(entregas).values(**valores).on_conflict_do_nothing(index_elements=["id_mensaje"])
                      .returning(*entregas.c)).first()


def _fecha(texto: str | None, defecto: datetime) -> datetime:
    try:
        fecha = datetime.fromisoformat(texto)
    except (TypeError, ValueError):
        return defecto
    return fecha if fecha.tzinfo else defecto
