"""The acuses service's own settings: the render's time limit and the schedule of retries.

Read from the environment once per process (at container start). They belong in `buzon_comun.config.Config` with
the rest (`acuses_plazo_render_s`, `acuses_reintentos_s`); until they move there, this module is their one reader.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from buzon_acuses.reintentos import DEMORAS_S, Reintentos

PLAZO_RENDER_S = 60.0
# While one process works on a request (the handler that received it, or a sweep), its next try is pushed this far
# past the render's limit, so another sweep leaves it alone; if that process dies, the request is due again after it.
MARGEN_RESERVA = timedelta(seconds=60)


def _segundos(texto: str, nombre: str) -> float:
    try:
        valor = float(texto)
    except ValueError:
        raise ValueError(f"{nombre} debe ser un número de segundos, no {texto!r}") from None
    if not valor > 0:
        raise ValueError(f"{nombre} debe ser mayor que cero, no {texto!r}")
    return valor


@dataclass(frozen=True)
class Ajustes:
    plazo_render_s: float = PLAZO_RENDER_S
    reintentos: Reintentos = field(default_factory=Reintentos)

    @property
    def reserva(self) -> timedelta:
        return timedelta(seconds=self.plazo_render_s) + MARGEN_RESERVA

    @classmethod
    def desde_entorno(cls, entorno=None) -> "Ajustes":
        """`BUZON_ACUSES_PLAZO_RENDER_S` (seconds, default 60) and `BUZON_ACUSES_REINTENTOS_S` (the delays before
        each retry, comma-separated, default "30,120,600,1800": five tries in all, then the request is parked)."""
        e = os.environ if entorno is None else entorno
        plazo = e.get("BUZON_ACUSES_PLAZO_RENDER_S", "").strip()
        demoras = e.get("BUZON_ACUSES_REINTENTOS_S", "").strip()
        return cls(
            plazo_render_s=_segundos(plazo, "BUZON_ACUSES_PLAZO_RENDER_S") if plazo else PLAZO_RENDER_S,
            reintentos=Reintentos(tuple(_segundos(parte.strip(), "BUZON_ACUSES_REINTENTOS_S")
                                        for parte in demoras.split(",") if parte.strip()) if demoras else DEMORAS_S),
        )
