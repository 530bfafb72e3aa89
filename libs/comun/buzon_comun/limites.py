"""Rate limits in the service's own database, shared by all its replicas. Two kinds:

- Fixed-window counters (how many per minute, hour or day): a `limites` table made by `tabla_limites`; `contar`
  adds one to the current window of a key atomically (an upsert), so two replicas never both let the n+1-th
  request through.
- Evenly spaced turns (one every `intervalo_s`, no bursts: a generic cell rate algorithm), for work that must not
  arrive in bursts, such as a campaign's deposits: a `ritmos` table made by `tabla_ritmos` keeps, per key, the
  moment of the next free turn; `turno` gives it to a request (which waits for it) and moves it atomically.

These work inside the caller's transaction (`buzon_comun.db.transaccion`) and never commit it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, Integer, String, Table, case, select
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


# Float seconds: a request exactly on its moment (sums of fractions of a second) is not refused by rounding.
_HOLGURA_S = 1e-6


def tabla_ritmos(metadata) -> Table:
    return Table(
        "ritmos",
        metadata,
        Column("clave", String(200), primary_key=True),
        # The theoretical arrival time of the key's next request, in seconds since the epoch (plain arithmetic in
        # SQL on PostgreSQL and SQLite alike).
        Column("siguiente", Float, nullable=False),
    )


def turno(db: Session, tabla: Table, clave: str, *, ahora: datetime, intervalo_s: float,
          espera_maxima_s: float) -> float:
    """Give a request of `clave` the next of its turns, one every `intervalo_s`, evenly spaced (a generic cell rate
    algorithm whose requests wait for their turn instead of coming back for it): the seconds the caller waits before
    it acts, 0.0 when its turn is now. The turn is this request's: the next one gets the turn after it, so requests
    that come together get distinct turns and none is refused only for that. A turn more than `espera_maxima_s`
    away is not given: DemasiadasSolicitudes with `reintentar_en_s`, the seconds until one would be (a fraction:
    the caller may retry that soon); a refusal moves nothing. One upsert whose condition decides, so two replicas
    never give out more turns than the rate between them."""
    clave = clave[:200]
    momento = ahora.timestamp()
    sentencia = insercion(db, tabla).values(clave=clave, siguiente=momento + intervalo_s)
    sentencia = sentencia.on_conflict_do_update(
        index_elements=[tabla.c.clave],
        set_={"siguiente": case((tabla.c.siguiente > momento, tabla.c.siguiente), else_=momento) + intervalo_s},
        where=tabla.c.siguiente <= momento + espera_maxima_s + _HOLGURA_S,
    ).returning(tabla.c.siguiente)
    fila = db.execute(sentencia).first()
    if fila is None:
        siguiente = db.execute(select(tabla.c.siguiente).where(tabla.c.clave == clave)).scalar_one()
        espera = max(siguiente - espera_maxima_s - momento, 0.001)
        raise DemasiadasSolicitudes(extra={"reintentar_en_s": round(espera, 3)})
    # The new `siguiente` is one interval past this request's turn.
    return max(fila.siguiente - intervalo_s - momento, 0.0)


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
