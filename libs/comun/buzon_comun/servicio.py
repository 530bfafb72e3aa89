"""What every service class has: its configuration, data, clock, metrics and a health RPC."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import text

from buzon_comun.config import Config
from buzon_comun.db import BaseDatos
from buzon_comun.metricas import Metricas
from buzon_comun.reloj import Reloj


class ProveedorReloj(DependencyProvider):
    """Injects the system clock; tests replace it with a `RelojFijo`."""

    def get_dependency(self, worker_ctx) -> Reloj:
        return Reloj()


class ProveedorConfig(DependencyProvider):
    """Reads the environment once per process, not once per call."""

    def setup(self):
        self.config = Config.desde_entorno()

    def get_dependency(self, worker_ctx) -> Config:
        return self.config


class ServicioBase:
    config = ProveedorConfig()
    db = BaseDatos()
    metricas = Metricas()
    reloj = ProveedorReloj()

    @rpc
    def salud(self) -> dict:
        self.db.execute(text("SELECT 1"))
        return {"estado": "ok", "servicio": self.name}
