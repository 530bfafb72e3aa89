"""Retries of an acuse that failed to be issued, and parking the ones that keep failing.

Issuing renders nothing (the PDF is made on the first download, whose failures are a 503 and count nothing here):
a request whose document or seal can't be made counts one failed try and is tried again later, each time after a
longer delay; after the last try it is parked (`estancada_en`): logged as an error with its folio,
counted, and left alone by the sweep until an operator re-queues it (`python -m buzon_acuses.operacion`). So a few
requests that always fail cost the sweep a few tries each, never its whole turn.

The schedule lives in `solicitudes`: `intentos` (failed tries), `proximo_intento` (when the sweep may take it;
NULL once issued or parked), `ultimo_error`, `estancada_en`. Plain functions over a session and a given time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from buzon_acuses.models import acuses, solicitudes
from buzon_comun.db import transaccion

log = logging.getLogger(__name__)

# Seconds before the 2nd, 3rd, 4th and 5th try: a passing fault (a process killed, a busy machine) is over by the
# first retry; one that lasts an hour parks the request, and an operator sends it again once it is fixed.
DEMORAS_S = (30.0, 120.0, 600.0, 1800.0)
MAXIMO_ERROR = 500

FALLAS = Counter(
    "buzon_acuses_fallas_render",
    "Failed tries to issue an acuse (its document or its seal raised: motivo error). Renders on a first download "
    "are counted in buzon_acuses_fallas_descarga_total.",
    ["motivo"],
)
ESTANCADOS = Counter(
    "buzon_acuses_estancados",
    "Acuse requests parked after their last failed try; the sweep no longer takes them until re-queued.",
)

# What one try came to, for the caller's log.
EMITIDO = "emitido"
SIN_CAMBIO = "sin_cambio"  # already issued, parked, or another try's turn
REINTENTO = "reintento"
ESTANCADO = "estancado"


@dataclass(frozen=True)
class Reintentos:
    """The delays before each retry; a request gets `len(demoras_s) + 1` tries in all."""

    demoras_s: tuple[float, ...] = DEMORAS_S

    def __post_init__(self):
        if not self.demoras_s or any(d <= 0 for d in self.demoras_s):
            raise ValueError("los reintentos de acuses necesitan al menos una demora, todas mayores que cero")

    @property
    def intentos_maximos(self) -> int:
        return len(self.demoras_s) + 1

    def proximo(self, intentos: int, ahora: datetime) -> datetime | None:
        """When a request that has now failed `intentos` times may be tried again; None: its tries are spent."""
        if intentos < 1:
            raise ValueError("se pregunta por el siguiente intento después de una falla")
        if intentos > len(self.demoras_s):
            return None
        return ahora + timedelta(seconds=self.demoras_s[intentos - 1])


def registrar_falla(db: Session, folio: str, *, motivo: str, detalle: str, ahora: datetime,
                    reintentos: Reintentos) -> str:
    """Count a failed try of `folio` and schedule the next one, or park the request if that was its last.

    Returns REINTENTO or ESTANCADO (SIN_CAMBIO if the request was parked or issued meanwhile)."""
    error = f"{motivo}: {detalle}"[:MAXIMO_ERROR]
    with transaccion(db):
        intentos = db.execute(
            update(solicitudes)
            .where(solicitudes.c.folio == folio, solicitudes.c.estancada_en.is_(None),
                   ~exists().where(acuses.c.folio == solicitudes.c.folio))
            .values(intentos=solicitudes.c.intentos + 1, ultimo_error=error)
            .returning(solicitudes.c.intentos)
        ).scalar_one_or_none()
        if intentos is None:
            return SIN_CAMBIO
        proximo = reintentos.proximo(intentos, ahora)
        if proximo is None:
            db.execute(update(solicitudes).where(solicitudes.c.folio == folio)
                       .values(estancada_en=ahora, proximo_intento=None))
        else:
            db.execute(update(solicitudes).where(solicitudes.c.folio == folio).values(proximo_intento=proximo))
    FALLAS.labels(motivo).inc()
    if proximo is None:
        ESTANCADOS.inc()
        # The message's text may quote the document: it stays in the table, for operators; the log names the cause.
        log.error("acuse %s estancado tras %d intentos fallidos (el último: %s); no se reintenta hasta que un "
                  "operador lo reencole", folio, intentos, motivo)
        return ESTANCADO
    log.warning("no se pudo emitir el acuse %s (intento %d de %d: %s); se reintenta a partir de %s", folio,
                intentos, reintentos.intentos_maximos, motivo, proximo.isoformat(timespec="seconds"))
    return REINTENTO


def reclamar(db: Session, *, ahora: datetime, reserva: timedelta) -> str | None:
    """Take for this sweep the request due longest ago, still without its acuse: its next try moves `reserva`
    ahead, so another replica's sweep passes it by while this one works on it (and finds it again if this one
    dies). None when nothing is due."""
    siguiente = (
        select(solicitudes.c.folio)
        .where(solicitudes.c.proximo_intento <= ahora, ~exists().where(acuses.c.folio == solicitudes.c.folio))
        .order_by(solicitudes.c.proximo_intento, solicitudes.c.folio)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with transaccion(db):
        return db.execute(
            update(solicitudes)
            .where(solicitudes.c.folio == siguiente, solicitudes.c.proximo_intento <= ahora)
            .values(proximo_intento=ahora + reserva)
            .returning(solicitudes.c.folio)
        ).scalar_one_or_none()


def estancadas(db: Session, limite: int = 1000) -> list[dict]:
    """The parked requests, the longest parked first: folio, tipo, intentos, estancada_en, ultimo_error."""
    with transaccion(db):
        filas = db.execute(
            select(solicitudes.c.folio, solicitudes.c.tipo, solicitudes.c.intentos, solicitudes.c.estancada_en,
                   solicitudes.c.ultimo_error)
            .where(solicitudes.c.estancada_en.is_not(None))
            .order_by(solicitudes.c.estancada_en, solicitudes.c.folio).limit(limite)
        ).all()
    return [dict(fila._mapping) for fila in filas]


def cuantas_estancadas(db: Session) -> int:
    with transaccion(db):
        return db.execute(select(func.count()).select_from(solicitudes)
                          .where(solicitudes.c.estancada_en.is_not(None))).scalar_one()


def reencolar(db: Session, folios: list[str] | None, *, ahora: datetime) -> list[str]:
    """Send parked requests back to the sweep with their tries counted from zero (all of them if `folios` is
    None); the next sweep takes them. Gives the folios re-queued; others (not parked, unknown) are left alone."""
    condicion = [solicitudes.c.estancada_en.is_not(None)]
    if folios is not None:
        if not folios:
            return []
        condicion.append(solicitudes.c.folio.in_(folios))
    with transaccion(db):
        reencoladas = db.execute(
            update(solicitudes).where(*condicion)
            .values(estancada_en=None, intentos=0, proximo_intento=ahora)
            .returning(solicitudes.c.folio)
        ).scalars().all()
    for folio in reencoladas:
        log.info("acuse %s reencolado por un operador", folio)
    return sorted(reencoladas)
