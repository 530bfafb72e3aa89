"""What every service class has: its configuration, data, clock, metrics, a health RPC, and its outbox relay."""
from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.extensions import DependencyProvider
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.standalone.events import get_event_exchange
from nameko.timer import timer
from prometheus_client import Counter
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun import bandeja_salida, colas
from buzon_comun.config import Config
from buzon_comun.db import BaseDatos, transaccion
from buzon_comun.errores import ErrorBuzon, ServicioNoDisponible
from buzon_comun.metricas import Metricas
from buzon_comun.reloj import Reloj

log = logging.getLogger(__name__)

# The durable queue of every event, whatever its type, for the bitácora: bound by every publisher too, so no event
# type is ever unroutable while the system runs, even before its first consumer exists.
COLA_BITACORA = "buzon.bitacora"
# Rows of the outbox one relay round claims and publishes.
LOTE_RELEVO = 100
MENSAJE_BD_NO_DISPONIBLE = "La base de datos no está disponible en este momento. Intenta de nuevo en unos minutos."

NO_ENRUTABLES = Counter("buzon_eventos_no_enrutables_total",
                        "Events the broker could not route to any queue: kept in the outbox and tried again.",
                        ["origen", "tipo"])


def es_bd_no_disponible(exc: BaseException) -> bool:
    """The database can't be reached (down, restarting, connection dropped, or no connection of the process's pool
    came free in time): the caller may try again later."""
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


class PublicadorRespuestas(Publisher):
    """Replies go to the caller's own queue, which lives only while the caller does, and the caller waits with a
    deadline: neither a confirm from the broker nor a write to disk buys anything there."""

    use_confirms = False
    delivery_mode = NON_PERSISTENT


class Respondedor(Responder):
    publisher_cls = PublicadorRespuestas


class ConsumidorRpc(RpcConsumer):
    """nameko's consumer of the service's RPC queue (`rpc-<service>`), declared through `buzon_comun.colas`."""

    def setup(self):
        super().setup()
        self.queue = colas.ajustar(self.queue)


class Llamada(Rpc):
    """nameko's RPC entrypoint; a database that can't be reached answers the caller `ServicioNoDisponible` (503
    at the gateway), never a fault of the service (500). Replies without confirms (`PublicadorRespuestas`)."""

    rpc_consumer = ConsumidorRpc()

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and es_bd_no_disponible(exc_info[1]):
            error = ServicioNoDisponible("servicio_no_disponible", MENSAJE_BD_NO_DISPONIBLE, {"causa": "base_de_datos"})
            exc_info = (type(error), error, exc_info[2])
        config = self.container.config
        respondedor = Respondedor(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                                  config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                                  ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = respondedor.send_response(result, exc_info)
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


def rpc(fn=None, **opciones):
    """The RPC entrypoint of our services: a contract error is an expected refusal (logged as a warning), not a
    fault of the service (logged as an error with its traceback)."""
    opciones.setdefault("expected_exceptions", (ErrorBuzon,))
    decorador = Llamada.decorator(**opciones)
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


class ServicioSinDatos:
    """A worker kind that keeps no data of its own (the acuse renderers): configuration, clock, metrics and a health
    RPC that answers from the process alone."""

    config = ProveedorConfig()
    metricas = Metricas()
    reloj = ProveedorReloj()

    @rpc
    def salud(self) -> dict:
        return {"estado": "ok", "servicio": self.name}


class ServicioBase(ServicioSinDatos):
    """A service with its own data: its health RPC also proves that its database answers."""

    db = BaseDatos()

    @rpc
    def salud(self) -> dict:
        with transaccion(self.db):
            self.db.execute(text("SELECT 1"))
        return {"estado": "ok", "servicio": self.name}


class Salida(DependencyProvider):
    """The service's outbox (`buzon_comun.bandeja_salida`), published after each worker that enqueued events.

    Rules enqueue events in their own transaction (`encolar`); once the worker is done (its transaction committed
    or rolled back), `worker_result` publishes what is pending, from a session of its own, with publisher confirms
    and `mandatory`: a row is deleted only after the broker confirmed it, and an event nobody can receive stays in
    the outbox, logged and counted, instead of being dropped. Injected as a callable that relays now (the timer of
    `ConEventos` calls it for what another replica or a failed attempt left).
    """

    def __init__(self, tabla, origen: str | None = None):
        self.tabla = tabla
        self.origen = origen
        self._relevados: WeakKeyDictionary = WeakKeyDictionary()
        self._relevando = False
        self._otra_vuelta = False

    def setup(self):
        self.origen = self.origen or self.container.service_name
        self.intercambio = get_event_exchange(self.origen, self.container.config)
        auditoria = colas.cola(COLA_BITACORA, self.intercambio, "#")
        self.publicador = Publisher(self.container.config[AMQP_URI_CONFIG_KEY], use_confirms=True, mandatory=True,
                                    declare=[self.intercambio, auditoria], serializer="json",
                                    ssl=self.container.config.get(AMQP_SSL_CONFIG_KEY))
        self.bd = next(d for d in self.container.dependencies if isinstance(d, BaseDatos))

    def destino(self, tipo: str) -> dict:
        """Where a row of the outbox goes: its events exchange, with the event's type as routing key."""
        return {"exchange": self.intercambio, "routing_key": tipo}

    def publicar(self, tipo: str, mensaje: dict) -> None:
        try:
            self.publicador.publish(mensaje, **self.destino(tipo))
        except UndeliverableMessage:
            NO_ENRUTABLES.labels(self.origen, tipo).inc()
            log.error("evento %s de %s no enrutable: queda en la bandeja de salida", tipo, self.origen)
            raise bandeja_salida.NoEnrutable(tipo) from None

    def relevar(self) -> int:
        """Publish what is pending; how many went out. One relay at a time per process: a worker that enqueued
        while another relays leaves its rows to that one, which goes round once more before it stops (or to the
        timer, if that round published nothing). Under load one relay claims and deletes the rows of many workers
        in a transaction each, instead of every worker taking two of its own, often to find its rows taken."""
        if self._relevando:
            self._otra_vuelta = True
            return 0
        self._relevando = True
        publicados = 0
        try:
            while True:
                self._otra_vuelta = False
                with Session(self.bd.engine) as db:
                    vuelta = bandeja_salida.publicar_pendientes(db, self.tabla, self.publicar, LOTE_RELEVO)
                publicados += vuelta
                if vuelta < LOTE_RELEVO and not (self._otra_vuelta and vuelta):
                    return publicados
        finally:
            self._relevando = False

    def get_dependency(self, worker_ctx):
        def relevar() -> int:
            self._relevados[worker_ctx] = True
            return self.relevar()

        return relevar

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        relevado = self._relevados.pop(worker_ctx, False)
        sesion = self.bd.sesion_de(worker_ctx)
        if relevado or sesion is None or not bandeja_salida.hay_pendientes(sesion):
            return
        # The worker is done with its session: its connection goes back to the pool before the relay takes one
        # (with every connection held by workers at this point, each waiting for a second one, none would finish).
        sesion.close()
        try:
            self.relevar()
        except Exception:  # noqa: BLE001 - lifecycle hooks never raise; the timer relays it later
            log.warning("no se pudo publicar la bandeja de salida de %s; se reintentará", self.origen, exc_info=True)


class ConEventos:
    """For services that announce events through their outbox: `salida = Salida(tabla)` publishes after every
    worker that enqueued; this timer relays whatever an earlier attempt (or another replica) left behind."""

    @timer(interval=2)
    def retransmitir_eventos(self) -> None:
        self.salida()
