"""Dates as people read them on an acuse: Mexico City time, Spanish month names."""
from __future__ import annotations

from datetime import datetime

from buzon_comun.reloj import en_mexico

MESES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre")


def fecha_acuse(momento: datetime | str) -> str:
    """"28 de noviembre de 2026 12:00:00 hrs." (without the "Fecha: " label)."""
    if isinstance(momento, str):
        momento = datetime.fromisoformat(momento)
    if momento.tzinfo is None:
        raise ValueError("la fecha de un acuse necesita zona horaria")
    local = en_mexico(momento)
    return f"{local.day:02d} de {MESES[local.month - 1]} de {local.year} {local:%H:%M:%S} hrs."
