"""The acuses service's own settings, derived from the configuration (`Config.acuses_plazo_render_s`,
`acuses_reintentos_s`, read once per process at container start): the render's time limit, the schedule of
retries and the reservation a request gets while one process works on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from buzon_acuses.reintentos import Reintentos
from buzon_comun.config import Config

# While one process works on a request (the handler that received it, or a sweep), its next try is pushed this far
# past the render's limit, so another sweep leaves it alone; if that process dies, the request is due again after it.
MARGEN_RESERVA = timedelta(seconds=60)
PLAZO_RENDER_S = Config.acuses_plazo_render_s


@dataclass(frozen=True)
class Ajustes:
    plazo_render_s: float = PLAZO_RENDER_S
    reintentos: Reintentos = field(default_factory=Reintentos)

    @property
    def reserva(self) -> timedelta:
        return timedelta(seconds=self.plazo_render_s) + MARGEN_RESERVA

    @classmethod
    def desde_config(cls, config: Config) -> "Ajustes":
        return cls(plazo_render_s=config.acuses_plazo_render_s, reintentos=Reintentos(config.acuses_reintentos_s))
