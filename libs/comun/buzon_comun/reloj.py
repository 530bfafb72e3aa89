"""One clock for the whole system, movable in tests; people see Mexico City time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

ZONA_MEXICO = ZoneInfo("America/Mexico_City")


class Reloj:
    def ahora(self) -> datetime:
        return datetime.now(timezone.utc)


class RelojFijo(Reloj):
    """A clock that only moves when told to."""

    def __init__(self, inicio: datetime):
        if inicio.tzinfo is None:
            raise ValueError("el reloj necesita una fecha con zona horaria")
        self._ahora = inicio

    def ahora(self) -> datetime:
        return self._ahora

    def avanzar(self, **delta) -> None:
        self._ahora += timedelta(**delta)


def en_mexico(momento: datetime) -> datetime:
    return momento.astimezone(ZONA_MEXICO)


def iso_mexico(momento: datetime) -> str:
    """ISO 8601 with offset in Mexico City time, as the public contract gives every time."""
    return en_mexico(momento).isoformat(timespec="seconds")
