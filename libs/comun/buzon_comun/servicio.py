"""What every service class has: its configuration, data, clock, metrics and a health RPC."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.events import EventDispatcher
from nameko.rpc import rpc as rpc_nameko
from nameko.timer import timer
from sqlalchemy import text

from buzon_comun.bandeja_salida import publicar_pendientes
from buzon_comun.config import Config
from buzon_comun.db import BaseDatos
from buzon_comun.errores import ErrorBuzon
from buzon_comun.metricas import Metricas
from buzon_comun.reloj import Reloj


def rpc(fn=None, **opciones):
    """nameko's @rpc for our services: a contract error is an expected refusal (logged as a warning), not a
    fault of the service (logged as an error with its traceback)."""
    opciones.setdefault("expected_exceptions", (ErrorBuzon,))
    decorador = rpc_nameko(**opciones)
    return decorador if fn is None else decorador(fn)


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


class ConEventos:
    """For services that announce events through their outbox (`buzon_comun.bandeja_salida`).

    The service names its `salida` table in `tabla_salida`, calls `publicar_eventos()` after committing a change,
    and the timer relays whatever an earlier attempt (or another replica) left behind.
    """

    tabla_salida = None
    despachar = EventDispatcher()

    def publicar_eventos(self) -> int:
        return publicar_pendientes(self.db, self.tabla_salida, self.despachar)

    @timer(interval=2)
    def retransmitir_eventos(self) -> None:
        self.publicar_eventos()
