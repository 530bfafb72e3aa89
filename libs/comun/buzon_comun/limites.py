"""Rate limits as fixed-window counters in the service's own database, shared by all its replicas.

Each service that limits something owns a `limites` table made by `tabla_limites`; `contar` adds one to the
current window of a key atomically (an upsert), so two replicas never both let the n+1-th request through. These
work inside the caller's transaction (`buzon_comun.db.transaccion`) and never commit it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, select
from sqlalchemy.orm import Session

from buzon_comun.db import insercion
from buzon_comun.errores import DemasiadasSolicitudes


def tabla_limites(metadata) -> Table:
    return Table(
        "limites",
        metadata,
        Column("clave", String(200), primary_key=True),
        Column("ventana", Integer, primary_key=True),
        Column("cuenta", Integer, nullable=False),
    )


def _ventana(ahora: datetime, ventana_s: int) -> int:
    return int(ahora.timestamp()) // ventana_s


def contar(db: Session, tabla: Table, clave: str, *, ahora: datetime, ventana_s: int, limite: int) -> int:
    """Count one request for `clave`; raise DemasiadasSolicitudes past `limite` in the current window."""
    ventana = _ventana(ahora, ventana_s)
    sentencia = insercion(db, tabla).values(clave=clave[:200], ventana=ventana, cuenta=1)
    sentencia = sentencia.on_conflict_do_update(
        index_elements=[tabla.c.clave, tabla.c.ventana],
        set_={"cuenta": tabla.c.cuenta + 1},
    ).returning(tabla.c.cuenta)
    cuenta = db.execute(sentencia).scalar_one()
    if cuenta > limite:
        raise DemasiadasSolicitudes()
    return cuenta


def contados(db: Session, tabla: Table, clave: str, *, ahora: datetime, ventana_s: int) -> int:
    """How many `clave` has counted in the current window, counting nothing (for limits on failures only)."""
    cuenta = db.execute(select(tabla.c.cuenta).where(tabla.c.clave == clave[:200],
                                                     tabla.c.ventana == _ventana(ahora, ventana_s))).scalar()
    return cuenta or 0


def purgar(db: Session, tabla: Table, *, ahora: datetime, ventana_s: int) -> None:
    """Drop windows older than the current one."""
    ventana = _ventana(ahora, ventana_s)
    db.execute(tabla.delete().where(tabla.c.ventana < ventana))
