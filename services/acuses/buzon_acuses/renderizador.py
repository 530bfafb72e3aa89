"""Rendering acuse PDFs, split in two worker kinds that operators scale on their own:

- the renderers (`buzon-servicio acuses-render`, `buzon_acuses.render`): CPU-bound, they take render requests from
  their RPC queue and run them in a pool of spawned processes (`GrupoRender`), so the QR code, the template and
  WeasyPrint never freeze a service's eventlet loop (one page holds the CPU tens of milliseconds);
- the acuses service, which only asks for a render on an acuse's first download (`Renderizador`) and stores the bytes.

`spawn`, because `fork` would copy the monkey-patched process and `forkserver` is unavailable after patching;
`eventlet.tpool` crashes WeasyPrint (greenlet switches across threads through the logging lock). The pool is
`buzon_acuses.procesos.GrupoDeProcesos`: a render past its time limit, or whose process dies, costs only that
process (killed and replaced), never the others' renders.
"""
from __future__ import annotations

import base64
import logging

import eventlet
from eventlet.event import Event
from eventlet.hubs import IOClosed, notify_opened, trampoline
from nameko.extensions import DependencyProvider

from buzon_acuses.pdf import calentar, pdf_de_documento
from buzon_acuses.procesos import FallaDeRender, GrupoDeProcesos
from buzon_comun.config import Config
from buzon_comun.errores import ServicioNoDisponible
from buzon_comun.remoto import Remoto

log = logging.getLogger(__name__)

# What `ps -o comm` and `pgrep render` show for each rendering process (at most 15 characters).
NOMBRE_PROCESO = "acuses-render"
# How often idle processes that died are replaced (see GrupoDeProcesos.revisar).
INTERVALO_REVISION_S = 1.0
# On stop, renders still running get this long to finish before their processes are killed. nameko stops the
# dependencies once the workers are done, so normally none is left; `buzon-servicio --gracia` (10 s) bounds the
# whole stop, and past it `kill` ends the processes at once.
PLAZO_DETENER_S = 5.0


def esperar_lectura(fd: int, plazo_s: float) -> None:
    """Until `fd` has something to read (or `plazo_s` passes), yielding to the other green threads meanwhile: the
    hub wakes this one when the render process answers, instead of every waiting call polling."""
    try:
        trampoline(fd, read=True, timeout=plazo_s)
    except (eventlet.timeout.Timeout, IOClosed):
        pass  # the caller looks at the pipe (or its absence) again


def olvidar(fd: int) -> None:
    """Before a pipe is closed: the hub drops whoever waits on it (they wake with IOClosed, and look again), so the
    number can be reused by another socket without "second simultaneous read" (eventlet's `notify_opened` is that:
    "this number no longer means what it meant")."""
    notify_opened(fd)


class GrupoRender(DependencyProvider):
    """The renderers' pool of processes, as long as the container lives: injects `ejecutar(plantilla, contexto) ->
    bytes` (FallaDeRender if the render gives no PDF; GrupoDetenido while stopping)."""

    def __init__(self):
        self.grupo: GrupoDeProcesos | None = None

    def setup(self):
        config = Config.desde_entorno()
        self.grupo = GrupoDeProcesos(
            pdf_de_documento, procesos=config.acuses_procesos, plazo_s=config.acuses_plazo_render_s, nombre=NOMBRE_PROCESO,
            # Importing WeasyPrint takes ~0.6 s per process: done as each one starts, not in someone's download.
            al_iniciar=calentar,
            # Every wait is cooperative: a blocking one would stall the loop until the PDF is ready.
            dormir=eventlet.sleep, esperar_lectura=esperar_lectura, al_cerrar=olvidar)
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


class RenderNoDisponible(FallaDeRender):
    """The renderers gave no PDF: `motivo` is theirs (its time limit, a crashed process, stopping) or
    `sin_renderizador` (none answered within the deadline: `acuses_render.pdf` in BUZON_PLAZOS_RPC)."""

    def __init__(self, motivo: str):
        super().__init__(motivo)
        self.motivo = motivo


class Renderizador(Remoto):
    """In the acuses service: injects `renderizar(folio, plantilla, contexto) -> bytes`, a request to the renderers
    (`acuses_render.pdf`, with Remoto's deadline and breaker). Two downloads of one acuse arriving together in a
    process make one request: the second waits for the first's result (or its failure)."""

    def __init__(self):
        super().__init__("acuses_render")
        self.en_curso: dict[str, Event] = {}

    def renderizar(self, proxy, folio: str, plantilla: str, contexto: dict) -> bytes:
        propio = self.en_curso.get(folio)
        if propio is not None:
            exito, valor = propio.wait()
            if exito:
                return valor
            raise valor
        propio = self.en_curso[folio] = Event()
        try:
            pdf = pedir_render(proxy, plantilla, contexto)
        except BaseException as exc:
            propio.send((False, exc))
            raise
        else:
            propio.send((True, pdf))
            return pdf
        finally:
            del self.en_curso[folio]

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        return lambda folio, plantilla, contexto: self.renderizar(proxy, folio, plantilla, contexto)


def pedir_render(proxy, plantilla: str, contexto: dict) -> bytes:
    """One render by the renderers; RenderNoDisponible when it gives no PDF (their refusal names why)."""
    try:
        return base64.b64decode(proxy.pdf(plantilla, contexto))
    except ServicioNoDisponible as exc:
        raise RenderNoDisponible(exc.extra.get("motivo", "sin_renderizador")) from None
