"""Health of one process, for Docker's HEALTHCHECK and Kubernetes' probes, without HTTP: `buzon-servicio NOMBRE --salud`.

An RPC to a service name goes to any replica (they share one queue), so it tells whether the *kind* answers, not
whether *this* process is well. Liveness has to be about this process, so every process run by `buzon-servicio`
keeps a heartbeat file (`buzon_comun.latido.Latido`):

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

Kubernetes runs the probe every few seconds in every pod, so this module imports neither eventlet nor nameko:
`buzon-servicio … --salud` reaches it through `buzon_comun.entrada` without loading the service's stack.
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

from buzon_comun.config import segundos, ssl_amqp

log = logging.getLogger(__name__)

EXTENSION = ".latido"
INTERVALO_S = 5.0
VENTANA_S = 30.0
PLAZO_S = 5.0
SANO, ENFERMO = 0, 1


@dataclass(frozen=True)
class Ajustes:
    carpeta: Path
    intervalo_s: float
    ventana_s: float

    @classmethod
    def desde_entorno(cls, entorno: Mapping) -> "Ajustes":
        carpeta = (entorno.get("BUZON_SALUD_DIR") or "").strip()
        return cls(carpeta=Path(carpeta) if carpeta else Path(tempfile.gettempdir()) / "buzon-salud",
                   intervalo_s=segundos(entorno, "BUZON_SALUD_INTERVALO_S", INTERVALO_S),
                   ventana_s=segundos(entorno, "BUZON_SALUD_VENTANA_S", VENTANA_S))


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
    import socket

    from kombu import Connection, Consumer, Exchange, Producer, Queue

    # nameko's RPC exchange (nameko.rpc.get_rpc_exchange), named here so the probe doesn't import nameko.
    intercambio = Exchange("nameko-rpc", type="topic", durable=True, auto_delete=False)
    correlacion = uuid.uuid4().hex
    cola = Queue(f"rpc.reply-salud-{correlacion}", exchange=intercambio, routing_key=correlacion, exclusive=True,
                 auto_delete=True, durable=False)
    respuesta: dict = {}

    def recibir(cuerpo, mensaje):
        if mensaje.properties.get("correlation_id") == correlacion:
            respuesta["cuerpo"] = cuerpo

    def devuelto(excepcion, exchange, routing_key, mensaje):
        respuesta["sin_cola"] = True

    limite = time.monotonic() + plazo_s
    try:
        with Connection(uri, connect_timeout=plazo_s, ssl=ssl_amqp(uri)) as conexion:
            canal = conexion.channel()
            with Consumer(canal, [cola], callbacks=[recibir], no_ack=True, accept=["json"]):
                Producer(canal, on_return=devuelto).publish(
                    {"args": [], "kwargs": {}}, exchange=intercambio, routing_key=f"{servicio}.salud",
                    reply_to=correlacion, correlation_id=correlacion, serializer="json", mandatory=True,
                    delivery_mode=1, expiration=plazo_s, declare=[intercambio])
                while not respuesta:
                    restante = limite - time.monotonic()
                    if restante <= 0:
                        raise socket.timeout
                    conexion.drain_events(timeout=restante)
    except socket.timeout:
        return f"{servicio} no respondió su RPC salud en {plazo_s:g} s"
    except Exception as exc:  # noqa: BLE001 - the bus itself failed: that is the answer
        return f"no se pudo preguntar a {servicio} por RabbitMQ: {exc}"
    if respuesta.get("sin_cola"):
        return f"nadie atiende la cola rpc-{servicio}: ningún proceso de {servicio} está conectado"
    error = respuesta["cuerpo"].get("error")
    return f"{servicio} {describir_error(error)}" if error else None


def bus_disponible(uri: str, plazo_s: float) -> str | None:
    """None if the broker takes a connection within `plazo_s`, else that it doesn't."""
    from kombu import Connection

    try:
        with Connection(uri, connect_timeout=plazo_s, ssl=ssl_amqp(uri)) as conexion:
            conexion.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=plazo_s)
    except Exception:  # noqa: BLE001 - no answer in time is no broker
        return f"RabbitMQ no acepta conexiones en {plazo_s:g} s"
    return None


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
