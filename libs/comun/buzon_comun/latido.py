"""This process's heartbeat for the health probe (`buzon_comun.salud`): the nameko side, added by `buzon-servicio`
to every class it runs. Written from the consumer loop while the process is connected to RabbitMQ; the probe
reads it without nameko."""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from nameko.extensions import DependencyProvider

from buzon_comun.salud import Ajustes, archivo_latido, escribir_latido

log = logging.getLogger(__name__)


def tiene_rpc_salud(contenedor) -> bool:
    from nameko.rpc import Rpc

    return any(isinstance(entrada, Rpc) and entrada.method_name == "salud" for entrada in contenedor.entrypoints)


def consumidores(contenedor) -> list:
    """The container's consumer loops (nameko shares one QueueConsumer among its entrypoints and reply listeners)."""
    from nameko.messaging import QueueConsumer

    return [extension for extension in list(contenedor.shared_extensions.values())
            if isinstance(extension, QueueConsumer)]


class Latido(DependencyProvider):
    """This process's heartbeat file, written from its consumer loop while it is connected (see the module's text).
    `buzon-servicio` adds it to every class it runs (services and gateway alike); nothing is injected."""

    def __init__(self, nombre: str, ajustes: Ajustes, reloj: Callable[[], float] = time.monotonic):
        self.nombre = nombre
        self.ajustes = ajustes
        self.reloj = reloj

    def setup(self):
        self.archivo = archivo_latido(self.ajustes.carpeta, self.nombre, os.getpid())
        self.datos = {"nombre": self.nombre, "servicio": self.container.service_name, "pid": os.getpid(),
                      "rpc_salud": tiene_rpc_salud(self.container)}
        self.ultimo: float | None = None
        self.detenido = False
        self.avisado = False
        try:
            self.ajustes.carpeta.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._avisar(exc)
        for consumidor in consumidores(self.container):
            self._enganchar(consumidor)

    def _enganchar(self, consumidor) -> None:
        original = consumidor.on_iteration

        def on_iteration():
            self.latir()
            original()

        consumidor.on_iteration = on_iteration

    def latir(self) -> None:
        if self.detenido:
            return
        ahora = self.reloj()
        if self.ultimo is not None and ahora - self.ultimo < self.ajustes.intervalo_s:
            return
        self.ultimo = ahora
        try:
            escribir_latido(self.archivo, {**self.datos, "en": time.time()})
        except OSError as exc:
            self._avisar(exc)

    def _avisar(self, exc: OSError) -> None:
        # Once: the probe will say the process is unhealthy; the log says why.
        if not self.avisado:
            self.avisado = True
            log.error("no se puede escribir el latido de salud en %s (BUZON_SALUD_DIR): %s", self.ajustes.carpeta, exc)

    def _olvidar(self) -> None:
        # Stopping: the consumer loop may still go round once or twice, and must not write the file again.
        self.detenido = True
        try:
            self.archivo.unlink(missing_ok=True)
        except OSError:
            pass  # lifecycle hooks never raise; a stale file only says "not alive", which is true

    def stop(self):
        self._olvidar()

    def kill(self):
        self._olvidar()

    def get_dependency(self, worker_ctx):
        return None


def con_latido(clase: type, nombre: str, ajustes: Ajustes) -> type:
    """`clase` with a `Latido`: a subclass, so nameko binds it like any declared dependency, and the service keeps
    its name, entrypoints and dependencies."""
    return type(clase.__name__, (clase,), {"_latido_salud": Latido(nombre, ajustes), "__module__": clase.__module__,
                                           "__doc__": clase.__doc__})
