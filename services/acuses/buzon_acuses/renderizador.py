"""Renders PDFs in a pool of spawned processes, so that WeasyPrint's CPU-bound work never freezes the service's
eventlet loop (one page holds the CPU about 90 ms; in the loop, every other call would wait that long).

`spawn`, because `fork` would copy the monkey-patched process and `forkserver` is unavailable after patching;
`eventlet.tpool` crashes WeasyPrint (greenlet switches across threads through the logging lock). The pool is
`buzon_acuses.procesos.GrupoDeProcesos`: a render past its time limit, or whose process dies, costs only that
process (killed and replaced), never the others' renders.
"""
from __future__ import annotations

import logging

import eventlet
from nameko.extensions import DependencyProvider

from buzon_acuses.pdf import calentar, pdf_de_html
from buzon_acuses.procesos import GrupoDeProcesos
from buzon_comun.config import Config

log = logging.getLogger(__name__)

# What `ps -o comm` and `pgrep render` show for each rendering process (at most 15 characters).
NOMBRE_PROCESO = "acuses-render"
# How often idle processes that died are replaced (see GrupoDeProcesos.revisar).
INTERVALO_REVISION_S = 1.0
# On stop, renders still running get this long to finish before their processes are killed. nameko stops the
# dependencies once the workers are done, so normally none is left; `buzon-servicio --gracia` (10 s) bounds the
# whole stop, and past it `kill` ends the processes at once.
PLAZO_DETENER_S = 5.0


class Renderizador(DependencyProvider):
    """Injects `renderizar(html) -> bytes`; the processes live as long as the service container."""

    def __init__(self):
        self.grupo: GrupoDeProcesos | None = None

    def setup(self):
        config = Config.desde_entorno()
        self.grupo = GrupoDeProcesos(
            pdf_de_html, procesos=config.acuses_procesos, plazo_s=config.acuses_plazo_render_s, nombre=NOMBRE_PROCESO,
            # Importing WeasyPrint takes ~0.6 s per process: done as each one starts, not in someone's download.
            al_iniciar=calentar,
            # Polling keeps every wait cooperative: a blocking wait would stall the loop until the PDF is ready.
            dormir=eventlet.sleep)
        self.grupo.iniciar()

    def start(self):
        self.container.spawn_managed_thread(self._revisar)

    def _revisar(self) -> None:
        while True:
            eventlet.sleep(INTERVALO_REVISION_S)
            try:
                self.grupo.revisar()
            except Exception:  # noqa: BLE001 - the next task replaces the process anyway; keep watching
                log.exception("no se pudo revisar el grupo de procesos de renderizado")

    def stop(self):
        self._cerrar(lambda grupo: grupo.detener(PLAZO_DETENER_S))

    def kill(self):
        self._cerrar(lambda grupo: grupo.matar())

    def _cerrar(self, como) -> None:
        grupo = self.grupo
        if grupo is None:
            return
        try:
            como(grupo)
        except Exception:  # noqa: BLE001 - lifecycle hooks never raise
            log.exception("no se pudieron terminar los procesos de renderizado")

    def get_dependency(self, worker_ctx):
        return self.grupo.ejecutar
