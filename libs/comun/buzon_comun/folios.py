"""Folios of acuses: unique across replicas and never reused.

Each service that issues acuses owns a `folios` table (one counter per prefix and year) and takes the next
number with one atomic upsert in the caller's transaction, so two replicas never get the same folio; a folio
taken in a transaction that rolls back was never printed on anything, and the rollback hands its number back. The prefix says the kind of acuse, so folios of different services never collide:
REG (registro de medio), VAL (validación de medio), BAJ (baja de medio), ACT (activación), ACL (aclaración u
orientación presentada en Promociones Electrónicas).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, String, Table
from sqlalchemy.orm import Session

from buzon_comun.db import insercion
from buzon_comun.reloj import en_mexico

PREFIJOS = {"registro_medio": "REG", "validacion_medio": "VAL", "baja_medio": "BAJ", "activacion": "ACT",
            "aclaracion": "ACL"}


def tabla_folios(metadata) -> Table:
    return Table(
        "folios",
        metadata,
        Column("prefijo", String(8), primary_key=True),
        Column("anio", Integer, primary_key=True),
        Column("ultimo", Integer, nullable=False),
    )


def siguiente_folio(db: Session, tabla: Table, tipo_acuse: str, *, ahora: datetime) -> str:
    """The next folio, e.g. REG-2026-00000042, inside the caller's transaction."""
    prefijo = PREFIJOS[tipo_acuse]
    anio = en_mexico(ahora).year
    sentencia = insercion(db, tabla).values(prefijo=prefijo, anio=anio, ultimo=1)
    sentencia = sentencia.on_conflict_do_update(
        index_elements=[tabla.c.prefijo, tabla.c.anio], set_={"ultimo": tabla.c.ultimo + 1}
    ).returning(tabla.c.ultimo)
    numero = db.execute(sentencia).scalar_one()
    return f"{prefijo}-{anio}-{numero:08d}"
