"""Recording events in the bitácora: what happened, about whom, when. Plain functions, free of nameko.

Only the envelope and a few identifiers are kept, never an event's data: some carry a one-time validation link
or an SMS code, and the bitácora is kept for good. A redelivered event is recorded once (its id). Events come in
batches (`buzon_comun.consumo.cola_en_lotes`), each written with one INSERT in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buzon_comun.db import insercion, transaccion
from buzon_comun.textos import es_texto_valido
from buzon_bitacora.models import eventos

# Which field of an event names the object it is about, in order of preference.
REFERENCIAS = ("folio", "medio_id", "id_mensaje", "referencia")
SUFIJO_INTERCAMBIO = ".events"


class EventoIlegible(ValueError):
    """A message on an events exchange that is not an event envelope."""


def _texto(valor, maximo: int) -> str | None:
    return valor if isinstance(valor, str) and valor and es_texto_valido(valor, maximo) else None


def asiento(mensaje: object, intercambio: str, *, ahora: datetime) -> dict:
    """The row of one event: its envelope, its origin (from the exchange), its RFC and the object it names."""
    if not isinstance(mensaje, dict):
        raise EventoIlegible("el mensaje no es un objeto")
    id_evento, tipo, version = mensaje.get("id"), mensaje.get("tipo"), mensaje.get("version")
    if not (_texto(id_evento, 36) and _texto(tipo, 100) and isinstance(version, int)
            and not isinstance(version, bool)):
        raise EventoIlegible("al mensaje le falta id, tipo o versión")
    datos = mensaje.get("datos") if isinstance(mensaje.get("datos"), dict) else {}
    origen = intercambio[:-len(SUFIJO_INTERCAMBIO)] if intercambio.endswith(SUFIJO_INTERCAMBIO) else intercambio
    return {
        "id": id_evento, "origen": origen[:50] or "desconocido", "tipo": tipo, "version": version,
        "ocurrido_en": _texto(mensaje.get("ocurrido_en"), 40) or "",
        "rfc": _texto(datos.get("rfc"), 13),
        "referencia": next((r for r in (_texto(datos.get(c), 100) for c in REFERENCIAS) if r), None),
        "recibido_en": ahora,
    }


@dataclass(frozen=True)
class Anotacion:
    """What a batch left: how many of its events were new (a redelivered one is not), and which of its messages
    are not events (their positions in the batch, and why)."""

    nuevos: int
    ilegibles: dict[int, str]


def registrar(db: Session, mensajes: list[tuple[object, str]], *, ahora: datetime) -> Anotacion:
    """Record a batch of `(message, exchange)` in one transaction: every event once (an id already recorded, or
    twice in the batch, is skipped); a message that is not an event is left out and named, the rest are written."""
    filas, ilegibles = [], {}
    for posicion, (mensaje, intercambio) in enumerate(mensajes):
        try:
            filas.append(asiento(mensaje, intercambio, ahora=ahora))
        except EventoIlegible as exc:
            ilegibles[posicion] = str(exc)
    if not filas:
        return Anotacion(0, ilegibles)
    # With RETURNING, SQLAlchemy sends the rows as one multi-row INSERT (its "insertmanyvalues", compiled once for
    # any batch size); without it, psycopg2's executemany would send one statement per row.
    sentencia = (insercion(db, eventos).on_conflict_do_nothing(index_elements=[eventos.c.id])
                 .returning(eventos.c.id))
    with transaccion(db):
        nuevos = len(db.execute(sentencia, filas).all())
    return Anotacion(nuevos, ilegibles)
