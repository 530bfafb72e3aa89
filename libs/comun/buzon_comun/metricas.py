"""Prometheus metrics: per-entrypoint counts and latency for every service.

`Metricas` is a DependencyProvider that watches every worker of its service. Outside the gateway, each
service process also serves its registry over HTTP on the port configured for it (0: none), on the address
`BUZON_METRICAS_HOST` (loopback unless operators open it to their Prometheus).
"""
from __future__ import annotations

import logging
import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram, start_http_server

from buzon_comun.config import Config
from buzon_comun.errores import ErrorBuzon

log = logging.getLogger(__name__)

LLAMADAS = Counter(
    "buzon_llamadas_total",
    "Calls handled per service entrypoint and result (ok, rechazo: a contract error, error: a fault).",
    ["servicio", "entrypoint", "resultado"],
)
DURACION = Histogram(
    "buzon_llamada_duracion_segundos",
    "Time spent handling one call per service entrypoint.",
    ["servicio", "entrypoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_puertos_abiertos: set[int] = set()


def resultado_de(exc_info) -> str:
    if exc_info is None:
        return "ok"
    return "rechazo" if isinstance(exc_info[1], ErrorBuzon) else "error"


def servir_metricas(puerto: int, host: str = "127.0.0.1"):
    """Start the metrics endpoint once per process; a busy port is logged, never fatal. Gives the server started
    (None if none), for whoever needs to close it."""
    if puerto <= 0 or puerto in _puertos_abiertos:
        return None
    try:
        servidor, _hilo = start_http_server(puerto, addr=host)
    except OSError as exc:
        log.warning("no se pudo abrir el puerto de métricas %s en %s: %s", puerto, host, exc)
        return None
    _puertos_abiertos.add(puerto)
    log.info("métricas en %s, puerto %s", host, puerto)
    return servidor


class Metricas(DependencyProvider):
    def __init__(self, servir: bool = True):
        self.servir = servir
        self._inicios: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        if self.servir:
            config = Config.desde_entorno()
            servir_metricas(config.metricas_puertos.get(self.container.service_name, 0), config.metricas_host)

    def worker_setup(self, worker_ctx):
        self._inicios[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        inicio = self._inicios.pop(worker_ctx, None)
        try:
            servicio = self.container.service_name
            nombre = worker_ctx.entrypoint.method_name
            LLAMADAS.labels(servicio, nombre, resultado_de(exc_info)).inc()
            if inicio is not None:
                DURACION.labels(servicio, nombre).observe(time.perf_counter() - inicio)
        except Exception:  # noqa: BLE001 - lifecycle hooks never raise
            log.exception("no se pudo registrar la métrica")

    def get_dependency(self, worker_ctx):
        return None
