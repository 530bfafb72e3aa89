"""Health of one process, for Docker's HEALTHCHECK and Kubernetes' probes, without HTTP: `buzon-servicio NOMBRE --salud`.

An RPC to a service name goes to any replica (they share one queue), so it tells whether the *kind* answers, not
whether *this* process is well. Liveness has to be about this process, so every process run by `buzon-servicio`
keeps a heartbeat file (`Latido`):

- written from nameko's consumer loop (`QueueConsumer.on_iteration`), which goes round at least once a second
  while the process's connection to RabbitMQ is up and its event loop is free, and not at all while it reconnects
  (nameko retries forever there, and ignores signals meanwhile) or while a green thread holds the loop;
- at most every `BUZON_SALUD_INTERVALO_S` seconds (default 5), in `BUZON_SALUD_DIR` (default `<tmp>/buzon-salud`;
  a writable folder of the container, e.g. an emptyDir under a read-only root filesystem), named
  `<nombre>.<pid>.latido`; removed when the process stops.

The probe reads that file: healthy while the newest heartbeat of the kind (or of `--pid`) is younger than the
window (`--ventana`, default `BUZON_SALUD_VENTANA_S` or 30 s). `--listo` (readiness) also asks the kind's
`salud` RPC within `--plazo` seconds (its database answers), or, for a process without one (the gateway), whether
RabbitMQ takes a connection. Without NOMBRE it checks every kind with a heartbeat in the folder: in a container,
the one process it runs (the image's HEALTHCHECK).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

EXTENSION = ".latido"
INTERVALO_S = 5.0
VENTANA_S = 30.0
PLAZO_S = 5.0
SANO, ENFERMO = 0, 1


def _segundos(entorno: Mapping, nombre: str, defecto: float) -> float:
    texto = (entorno.get(nombre) or "").strip()
    if not texto:
        return defecto
    try:
        valor = float(texto)
    except ValueError:
        raise ValueError(f"{nombre} debe ser un número de segundos, no {texto!r}") from None
    if not valor > 0:
        raise ValueError(f"{nombre} debe ser mayor que cero, no {texto!r}")
    return valor


@dataclass(frozen=True)
class Ajustes:
    carpeta: Path
    intervalo_s: float
    ventana_s: float

    @classmethod
    def desde_entorno(cls, entorno: Mapping) -> "Ajustes":
        carpeta = (entorno.get("BUZON_SALUD_DIR") or "").strip()
        return cls(carpeta=Path(carpeta) if carpeta else Path(tempfile.gettempdir()) / "buzon-salud",
                   intervalo_s=_segundos(entorno, "BUZON_SALUD_INTERVALO_S", INTERVALO_S),
                   ventana_s=_segundos(entorno, "BUZON_SALUD_VENTANA_S", VENTANA_S))


def archivo_latido(carpeta: Path, nombre: str, pid: int) -> Path:
    # A dot ends the name: "acuses.*" must not match "acuses-render.*".
    return carpeta / f"{nombre}.{pid}{EXTENSION}"


def escribir_latido(archivo: Path, datos: dict) -> None:
    """Whole or not at all: written beside it and renamed over it, so a probe never reads half a file."""
    temporal = archivo.with_name(f".{archivo.name}.{uuid.uuid4().hex}")
    try:
        temporal.write_text(json.dumps(datos), encoding="utf-8")
        os.replace(temporal, archivo)
    finally:
        temporal.unlink(missing_ok=True)


@dataclass(frozen=True)
class LatidoLeido:
    nombre: str
    pid: int
    servicio: str
    en: float
    rpc_salud: bool


def leer_latidos(carpeta: Path, nombre: str | None = None, pid: int | None = None) -> list[LatidoLeido]:
    """The heartbeats in `carpeta` (of `nombre`, of `pid`), newest first; a file that can't be read is skipped."""
    patron = f"{nombre or '*'}.{pid if pid is not None else '*'}{EXTENSION}"
    leidos = []
    for archivo in carpeta.glob(patron):
        try:
            datos = json.loads(archivo.read_text(encoding="utf-8"))
            leidos.append(LatidoLeido(nombre=str(datos["nombre"]), pid=int(datos["pid"]),
                                      servicio=str(datos["servicio"]), en=float(datos["en"]),
                                      rpc_salud=bool(datos.get("rpc_salud"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # gone meanwhile (its process stopped), or not ours
    return sorted(leidos, key=lambda latido: latido.en, reverse=True)


@dataclass(frozen=True)
class Resultado:
    sano: bool
    mensaje: str
    latidos: tuple[LatidoLeido, ...] = ()

    @property
    def codigo(self) -> int:
        return SANO if self.sano else ENFERMO


def comprobar_vida(latidos: list[LatidoLeido], nombre: str | None, carpeta: Path, ventana_s: float, ahora: float,
                   pid: int | None = None) -> Resultado:
    """Liveness from the heartbeats read: the newest of each kind (one kind when `nombre` is given) younger than
    `ventana_s`. Old files of processes that died are outlived by the newest one."""
    quien = nombre or "buzon-servicio"
    if not latidos:
        de_quien = f" del pid {pid}" if pid is not None else ""
        return Resultado(False, f"{quien}: no hay latido{de_quien} en {carpeta}: el proceso no arrancó, ya terminó "
                                f"o escribe en otra carpeta (BUZON_SALUD_DIR)")
    recientes: dict[str, LatidoLeido] = {}
    for latido in latidos:
        if latido.nombre not in recientes or latido.en > recientes[latido.nombre].en:
            recientes[latido.nombre] = latido
    problemas, bien = [], []
    for latido in sorted(recientes.values(), key=lambda x: x.nombre):
        edad = max(0.0, ahora - latido.en)
        if edad > ventana_s:
            problemas.append(f"{latido.nombre}: el último latido (pid {latido.pid}) fue hace {edad:.0f} s, más que "
                             f"la ventana de {ventana_s:g} s: el proceso no está conectado a RabbitMQ, su bucle está "
                             f"bloqueado o ya terminó")
        else:
            bien.append(f"{latido.nombre}: vivo (pid {latido.pid}, último latido hace {edad:.1f} s)")
    if problemas:
        return Resultado(False, "; ".join(problemas))
    return Resultado(True, "; ".join(bien), tuple(recientes.values()))


def describir_error(error: dict) -> str:
    from nameko.exceptions import deserialize

    import buzon_comun.errores  # noqa: F401 - registers the classes, so the answer comes back as ours

    excepcion = deserialize(error)
    extra = getattr(excepcion, "extra", None)
    if isinstance(extra, dict) and extra.get("causa") == "base_de_datos":
        return "no llega a su base de datos"
    return f"respondió con error: {excepcion}"


def llamar_salud(uri: str, servicio: str, plazo_s: float) -> str | None:
    """Ask the kind `servicio` for its `salud` RPC, answered within `plazo_s` by whichever replica takes it; None if it
    answered well, else what went wrong. The request expires with the deadline (a kind that is down gets no pile
    of probes in its queue), goes nowhere if no replica ever declared the queue (mandatory: said at once), and the
    reply comes to an exclusive queue of this call, gone with its connection."""
    import eventlet
    from kombu import Connection, Consumer, Producer, Queue
    from nameko.rpc import get_rpc_exchange

    intercambio = get_rpc_exchange({})
    correlacion = uuid.uuid4().hex
    cola = Queue(f"rpc.reply-salud-{correlacion}", exchange=intercambio, routing_key=correlacion, exclusive=True,
                 auto_delete=True, durable=False)
    respuesta: dict = {}

    def recibir(cuerpo, mensaje):
        if mensaje.properties.get("correlation_id") == correlacion:
            respuesta["cuerpo"] = cuerpo

    def devuelto(excepcion, exchange, routing_key, mensaje):
        respuesta["sin_cola"] = True

    try:
        with eventlet.Timeout(plazo_s), Connection(uri, connect_timeout=plazo_s) as conexion:
            canal = conexion.channel()
            with Consumer(canal, [cola], callbacks=[recibir], no_ack=True, accept=["json"]):
                Producer(canal, on_return=devuelto).publish(
                    {"args": [], "kwargs": {}}, exchange=intercambio, routing_key=f"{servicio}.salud",
                    reply_to=correlacion, correlation_id=correlacion, serializer="json", mandatory=True,
                    delivery_mode=1, expiration=plazo_s, declare=[intercambio])
                while not respuesta:
                    conexion.drain_events()
    except eventlet.Timeout:
        return f"{servicio} no respondió su RPC salud en {plazo_s:g} s"
    except Exception as exc:  # noqa: BLE001 - the bus itself failed: that is the answer
        return f"no se pudo preguntar a {servicio} por RabbitMQ: {exc}"
    if respuesta.get("sin_cola"):
        return f"nadie atiende la cola rpc-{servicio}: ningún proceso de {servicio} está conectado"
    error = respuesta["cuerpo"].get("error")
    return f"{servicio} {describir_error(error)}" if error else None


def bus_disponible(uri: str, plazo_s: float) -> str | None:
    from buzon_comun.remoto import bus_disponible as disponible

    return None if disponible(uri, plazo_s) else f"RabbitMQ no acepta conexiones en {plazo_s:g} s"


def sondear(nombre: str | None, ajustes: Ajustes, *, uri: str, listo: bool = False, plazo_s: float = PLAZO_S,
            ventana_s: float | None = None, pid: int | None = None, ahora: Callable[[], float] = time.time,
            llamar: Callable[[str, str, float], str | None] = llamar_salud,
            bus: Callable[[str, float], str | None] = bus_disponible) -> Resultado:
    """The probe: liveness of this process (its heartbeat); with `listo`, also readiness (the kind's `salud` RPC, or
    the broker for a process without one)."""
    ventana = ventana_s if ventana_s is not None else ajustes.ventana_s
    momento = ahora()
    vida = comprobar_vida(leer_latidos(ajustes.carpeta, nombre, pid), nombre, ajustes.carpeta, ventana, momento, pid)
    if not vida.sano or not listo:
        return vida
    problemas, bien = [], []
    for latido in vida.latidos:
        problema = llamar(uri, latido.servicio, plazo_s) if latido.rpc_salud else bus(uri, plazo_s)
        if problema:
            problemas.append(f"{latido.nombre}: no está listo: {problema}")
        else:
            bien.append(f"{latido.nombre}: listo (pid {latido.pid}, último latido hace {momento - latido.en:.1f} s)")
    if problemas:
        return Resultado(False, "; ".join(problemas), vida.latidos)
    return Resultado(True, "; ".join(bien), vida.latidos)


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
