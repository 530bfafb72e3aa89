"""Renders PDFs in a pool of spawned processes, so that WeasyPrint's CPU-bound work never freezes the service's
eventlet loop (one page holds the CPU about 90 ms; in the loop, every other call would wait that long).

`spawn`, because `fork` would copy the monkey-patched process and `forkserver` is unavailable after patching;
`eventlet.tpool` crashes WeasyPrint (greenlet switches across threads through the logging lock).
"""
from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import eventlet
from nameko.extensions import DependencyProvider

from buzon_acuses.pdf import calentar, pdf_de_html
from buzon_comun.config import Config

log = logging.getLogger(__name__)

ESPERA_S = 0.005


class Renderizador(DependencyProvider):
    """Injects `renderizar(html) -> bytes`; the pool lives as long as the service container."""

    def __init__(self):
        self._pool: ProcessPoolExecutor | None = None
        self.procesos = 1

    def setup(self):
        self.procesos = Config.desde_entorno().acuses_procesos
        self._pool = self._nuevo_pool()

    def _nuevo_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.procesos, mp_context=multiprocessing.get_context("spawn"))
        # Importing WeasyPrint takes ~0.6 s per process: done now, not in the first person's download.
        for _ in range(self.procesos):
            pool.submit(calentar)
        return pool

    def stop(self):
        self._cerrar(esperar=True)

    def kill(self):
        self._cerrar(esperar=False)

    def _cerrar(self, *, esperar: bool):
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=esperar, cancel_futures=True)

    def renderizar(self, html: str) -> bytes:
        pool = self._pool
        if pool is None:
            raise RuntimeError("el renderizador de acuses está detenido")
        try:
            futuro = pool.submit(pdf_de_html, html)
            # Polling keeps the wait cooperative: `.result()` would block the loop until the PDF is ready.
            while not futuro.done():
                eventlet.sleep(ESPERA_S)
            return futuro.result()
        except BrokenProcessPool:
            # A rendering process died (e.g. killed for memory): later acuses get a fresh pool; this one is
            # retried by the sweep.
            log.error("un proceso de renderizado terminó de forma anormal; se reinicia el grupo de procesos")
            if self._pool is pool:
                self._pool = self._nuevo_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    def get_dependency(self, worker_ctx):
        return self.renderizar
