"""Transactional outbox: a state change and the event that announces it are committed together.

A service writes the event into its own `salida` table in the same transaction as the change (`encolar`), and a
relay publishes what is pending (`publicar_pendientes`), right after the change (`buzon_comun.servicio.Salida`, once
the worker that enqueued ends) and from a timer as a safety net. A row is deleted only once the broker confirmed
its event; an event the broker can't route (`NoEnrutable`) or can't take stays, and is tried again.
A published event's row is deleted: some events carry a secret for one delivery (a validation link, an SMS code)
that must not stay in the database.

No transaction stays open while the relay publishes (a broker that is slow to confirm would otherwise keep a
database connection idle in transaction, and its row locks, for as long): the relay claims a batch of rows by
stamping `reclamado_hasta` in one short transaction, publishes them, and deletes what went out in another. Other
relays (other workers, other replicas) skip claimed rows, so two never publish one row at the same time. A relay
that dies while publishing leaves its claim behind; once the claim expires (`RECLAMO`) another relay takes those
rows. An event may therefore be published twice (a relay died between publishing and deleting, or a claim ran
out while the broker was slow), which is why consumers are idempotent on the event id.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import Column, Integer, String, Table, Text, delete, or_, select, update
from sqlalchemy.orm import Session

from buzon_comun.db import FechaUtc, transaccion
from buzon_comun.eventos import Evento, mensaje

log = logging.getLogger(__name__)

# How long a relay's claim on its rows lasts: far longer than publishing a batch takes (each event waits for its
# confirm, milliseconds), and the longest a dead relay's rows wait before another relay takes them.
RECLAMO = timedelta(seconds=30)


def tabla_salida(metadata) -> Table:
    return Table(
        "salida",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("tipo", String(100), nullable=False),
        Column("mensaje", Text, nullable=False),
        Column("creado_en", FechaUtc, nullable=False, index=True),
        Column("intentos", Integer, nullable=False, default=0),
        # Until when a relay holds the row to publish it; NULL (or past) when no relay does.
        Column("reclamado_hasta", FechaUtc, nullable=True),
    )


# Marks a session that enqueued, so the relay runs after the workers that did and not after every read.
_PENDIENTE = "salida_pendiente"


class NoEnrutable(Exception):
    """The broker had no queue for the event: it stays in the outbox (and is reported) instead of being dropped."""


def encolar(db: Session, tabla: Table, evento: Evento, *, ahora: datetime) -> str:
    """Add the event to the caller's transaction (the caller commits both together)."""
    contenido = mensaje(evento, ahora=ahora)
    agregar(db, tabla, evento.TIPO, contenido, ahora=ahora, id_fila=contenido["id"])
    return contenido["id"]


def agregar(db: Session, tabla: Table, tipo: str, contenido: dict, *, ahora: datetime,
            id_fila: str | None = None) -> None:
    """A row of any kind (an event, or a message for a queue of its own) in the caller's transaction."""
    db.execute(tabla.insert().values(id=id_fila or str(uuid.uuid4()), tipo=tipo, mensaje=json.dumps(contenido),
                                     creado_en=ahora, intentos=0))
    db.info[_PENDIENTE] = True


def hay_pendientes(db: Session) -> bool:
    """Whether this session enqueued since the last time it was asked."""
    return bool(db.info.pop(_PENDIENTE, False))


def publicar_pendientes(db: Session, tabla: Table, publicar: Callable[[str, dict], None], lote: int = 100, *,
                        ahora: datetime | None = None, reclamo: timedelta = RECLAMO) -> int:
    """Publish up to `lote` pending events in order; return how many went out. Stops at the first failure.

    The relay's own units of work, on a session of its own, none of them open while publishing: claim the rows
    (the same on PostgreSQL and SQLite, whose waits would stall eventlet's loop), publish, then delete what went
    out and release what did not."""
    ahora = ahora or datetime.now(timezone.utc)
    hasta = ahora + reclamo
    with transaccion(db):
        filas = _reclamar(db, tabla, lote, ahora=ahora, hasta=hasta)
    if not filas:
        return 0
    publicados, fallida = _publicar(filas, publicar)
    with transaccion(db):
        _anotar(db, tabla, filas, publicados, fallida, hasta=hasta)
    return len(publicados)


def _reclamar(db: Session, tabla: Table, lote: int, *, ahora: datetime, hasta: datetime) -> list:
    """Stamp up to `lote` of the oldest unclaimed rows (or rows whose claim expired) as this relay's until `hasta`.

    On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`: a relay claiming at the same moment skips them
    instead of waiting, and once this transaction commits the stamp keeps every relay away. SQLite runs one
    writer at a time, so its UPDATE is atomic as it is."""
    libre = or_(tabla.c.reclamado_hasta.is_(None), tabla.c.reclamado_hasta <= ahora)
    elegidas = select(tabla.c.id).where(libre).order_by(tabla.c.creado_en).limit(lote)
    if db.bind.dialect.name == "postgresql":
        elegidas = elegidas.with_for_update(skip_locked=True)
    filas = db.execute(
        update(tabla).where(tabla.c.id.in_(elegidas), libre).values(reclamado_hasta=hasta)
        .returning(tabla.c.id, tabla.c.tipo, tabla.c.mensaje, tabla.c.creado_en)
    ).all()
    return sorted(filas, key=lambda fila: fila.creado_en)


def _publicar(filas, publicar: Callable[[str, dict], None]) -> tuple[list[str], str | None]:
    """The ids published, in order, and the one that failed (where publishing stopped), if any."""
    publicados = []
    for fila in filas:
        try:
            publicar(fila.tipo, json.loads(fila.mensaje))
        except Exception:  # noqa: BLE001 - the broker may be down or refuse it: keep the event and try later
            log.warning("no se pudo publicar el evento %s (%s); se reintentará", fila.id, fila.tipo, exc_info=True)
            return publicados, fila.id
        publicados.append(fila.id)
    return publicados, None


def _anotar(db: Session, tabla: Table, filas, publicados: list[str], fallida: str | None, *,
            hasta: datetime) -> None:
    """Delete what went out; count the try of the one that failed; release it and the rest for the next relay.
    A row is released only while the claim is still this relay's (past it, another relay may hold it)."""
    if publicados:
        db.execute(delete(tabla).where(tabla.c.id.in_(publicados)))
    if fallida is not None:
        db.execute(update(tabla).where(tabla.c.id == fallida).values(intentos=tabla.c.intentos + 1))
        hechos = set(publicados)
        sueltas = [fila.id for fila in filas if fila.id not in hechos]
        db.execute(update(tabla).where(tabla.c.id.in_(sueltas), tabla.c.reclamado_hasta == hasta)
                   .values(reclamado_hasta=None))
