"""Idempotent writes: a request repeated with the same key gets the first answer instead of acting twice.

A client that timed out cannot know whether its write was done, and a broker redelivers an RPC whose replica
died after committing and before answering: either way the same request arrives again. Each write that takes a key
(`Peticion`) records the key, a fingerprint of what was asked and its answer in the same transaction as the write,
so a repeat finds the answer exactly when the write happened. Keys are scoped by RFC (one person's key never meets
another's) and kept `VIGENCIA`; `purgar` drops older ones. Only an answer that acted is kept: a refusal changed
nothing, so its repeat is simply checked again.

Two requests with one key at once: the write checks the key again under the lock it already takes (`comprobar`),
so the second waits for the first and then finds its answer; and the key is the table's primary key, so two writes
can never both record it.

Each service that takes keys owns its table (`tabla_idempotencia`), in its own schema.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Column, String, Table, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buzon_comun.db import FechaUtc, transaccion
from buzon_comun.errores import Conflicto, ErrorBuzon, SolicitudInvalida
from buzon_comun.textos import es_texto_valido

# The promise of a key, documented for integrators: a repeat within a day gets the first answer.
VIGENCIA = timedelta(hours=24)
MAXIMO_CLAVE = 200
MENSAJE_CONFLICTO = ("Esa clave de idempotencia ya se usó con otra solicitud en las últimas 24 horas. Usa una clave "
                     "nueva para cada solicitud distinta y repite la misma clave solo al reintentar la misma "
                     "solicitud.")
MENSAJE_CLAVE_INVALIDA = f"La clave de idempotencia debe ser texto de 1 a {MAXIMO_CLAVE} caracteres."


def tabla_idempotencia(metadata) -> Table:
    return Table(
        "idempotencia",
        metadata,
        Column("rfc", String(13), primary_key=True),
        Column("clave", String(MAXIMO_CLAVE), primary_key=True),
        # SHA-256 of the canonical JSON of what was asked: the same key with another body is a conflict.
        Column("huella", String(64), nullable=False),
        Column("respuesta", Text, nullable=False),
        Column("creado_en", FechaUtc, nullable=False, index=True),
    )


def huella(solicitud: dict) -> str:
    """The fingerprint of what was asked, as it was sent: sorted keys, no spaces, so equal requests hash alike."""
    canonico = json.dumps(solicitud, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonico.encode("utf-8")).hexdigest()


class _Respondida(Exception):
    """Raised inside the write's transaction when the key turned out answered meanwhile: nothing was done yet, so
    rolling back loses nothing, and `una_vez` hands the first answer back."""

    def __init__(self, respuesta: dict):
        super().__init__("respondida")
        self.respuesta = respuesta


@dataclass(frozen=True)
class Peticion:
    """One write's key (None: the caller gave none, so nothing is recorded) and what it asked."""
    tabla: Table
    rfc: str
    clave: str | None
    huella: str
    ahora: datetime

    def previa(self, db: Session) -> dict | None:
        """The first answer to this key, in the caller's transaction; a conflict if the key asked something else."""
        if self.clave is None:
            return None
        fila = db.execute(select(self.tabla.c.huella, self.tabla.c.respuesta).where(
            self.tabla.c.rfc == self.rfc, self.tabla.c.clave == self.clave,
            self.tabla.c.creado_en > self.ahora - VIGENCIA)).first()
        if fila is None:
            return None
        if fila.huella != self.huella:
            raise Conflicto("idempotencia_conflicto", MENSAJE_CONFLICTO)
        return json.loads(fila.respuesta)

    def comprobar(self, db: Session) -> None:
        """Inside the write's transaction, under its lock: stop if another request with this key got there first."""
        previa = self.previa(db)
        if previa is not None:
            raise _Respondida(previa)

    def guardar(self, db: Session, respuesta: dict) -> None:
        """Record the answer in the write's own transaction (a lapsed row of the same key makes way)."""
        if self.clave is None:
            return
        db.execute(delete(self.tabla).where(self.tabla.c.rfc == self.rfc, self.tabla.c.clave == self.clave,
                                            self.tabla.c.creado_en <= self.ahora - VIGENCIA))
        db.execute(self.tabla.insert().values(rfc=self.rfc, clave=self.clave, huella=self.huella,
                                              respuesta=json.dumps(respuesta, ensure_ascii=False),
                                              creado_en=self.ahora))


def clave_valida(clave: object) -> str | None:
    if clave is None:
        return None
    if not es_texto_valido(clave, MAXIMO_CLAVE) or not clave:
        raise SolicitudInvalida("solicitud_invalida", MENSAJE_CLAVE_INVALIDA)
    return clave


def una_vez(db: Session, peticion: Peticion, escribir: Callable[[], dict]) -> dict:
    """The first answer to the key if there is one, else what `escribir` answers (it calls `comprobar` under its
    lock and `guardar` in its transaction). A write refused while another with the same key was being recorded
    (the medio is a duplicate now, the RFC already active) gets that other's answer."""
    if peticion.clave is None:
        return escribir()
    with transaccion(db):
        previa = peticion.previa(db)
    if previa is not None:
        return previa
    try:
        return escribir()
    except _Respondida as respondida:
        return respondida.respuesta
    except (ErrorBuzon, IntegrityError):
        with transaccion(db):
            previa = peticion.previa(db)
        if previa is None:
            raise
        return previa


def purgar(db: Session, tabla: Table, *, ahora: datetime) -> int:
    """Drop the keys whose promise ended; returns how many."""
    with transaccion(db):
        return db.execute(delete(tabla).where(tabla.c.creado_en <= ahora - VIGENCIA)).rowcount
