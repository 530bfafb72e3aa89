"""Transactional outbox: a state change and the event that announces it are committed together.

A service writes the event into its own `salida` table in the same transaction as the change (`encolar`), and a
relay publishes what is pending (`publicar_pendientes`), right after the change (`buzon_comun.servicio.Salida`, once
the worker that enqueued ends) and from a timer as a safety net. A row is deleted only once the broker confirmed
its event; an event the broker can't route (`NoEnrutable`) or can't take stays, and is tried again.
A published event's row is deleted: some events carry a secret for one delivery (a validation link, an SMS code)
that must not stay in the database. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas relay
without sending one event twice at the same time; an event may still be published twice if a replica dies
between publishing and deleting it, which is why consumers are idempotent on the event id.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Callable

from sqlalchemy import Column, Integer, String, Table, Text, delete, select, update
from sqlalchemy.orm import Session

from buzon_comun.db import FechaUtc, transaccion
from buzon_comun.eventos import Evento, mensaje

log = logging.getLogger(__name__)


def tabla_salida(metadata) -> Table:
    return Table(
        "salida",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("tipo", String(100), nullable=False),
        Column("mensaje", Text, nullable=False),
        Column("creado_en", FechaUtc, nullable=False, index=True),
        Column("intentos", Integer, nullable=False, default=0),
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


def publicar_pendientes(db: Session, tabla: Table, publicar: Callable[[str, dict], None], lote: int = 100) -> int:
    """Publish up to `lote` pending events in order; return how many went out. Stops at the first failure.

    The relay's own unit of work, on a session of its own. On PostgreSQL the rows are claimed (`FOR UPDATE SKIP
    LOCKED`) for as long as they are published, then deleted in the same transaction. SQLite (local runs) locks the
    whole file, and its waits would stall eventlet's loop while this green thread publishes: there the rows are
    read in one short transaction and deleted in another, and a row another process published meanwhile goes out
    twice at worst (consumers are idempotent)."""
    consulta = select(tabla.c.id, tabla.c.tipo, tabla.c.mensaje).order_by(tabla.c.creado_en).limit(lote)
    if db.bind.dialect.name == "postgresql":
        with transaccion(db):
            filas = db.execute(consulta.with_for_update(skip_locked=True)).all()
            publicados, fallida = _publicar(filas, publicar)
            _anotar(db, tabla, publicados, fallida)
        return len(publicados)
    with transaccion(db):
        filas = db.execute(consulta).all()
    publicados, fallida = _publicar(filas, publicar)
    with transaccion(db):
        _anotar(db, tabla, publicados, fallida)
    return len(publicados)


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


def _anotar(db: Session, tabla: Table, publicados: list[str], fallida: str | None) -> None:
    if publicados:
        db.execute(delete(tabla).where(tabla.c.id.in_(publicados)))
    if fallida is not None:
        db.execute(update(tabla).where(tabla.c.id == fallida).values(intentos=tabla.c.intentos + 1))
