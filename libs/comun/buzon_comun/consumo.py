"""Consuming events at least once: a handler that fails is retried with growing delays, then parked for operators.

`evento(origen, tipo)` is nameko's `event_handler` with one change in what happens to a message whose handler
raised: instead of acknowledging it (lost) or requeueing it at once (a hot loop while the database is down), it is
published, with publisher confirms, to a delay queue and acknowledged only then. After the delay RabbitMQ
dead-letters it straight back to the handler's own queue (its routing key is that queue's name, through the default
exchange), so no other consumer sees it twice. After the last delay it goes to the durable queue
`buzon.eventos.fallidos`, where `buzon-eventos` lists it and puts it back (see `main`).

The delays are queues of their own, one per delay (`buzon.reintentos.<s>s`, with `x-message-ttl`): per-message
expirations in one queue would make a short delay wait behind a long one. Every service shares them. Each queue
here, a handler's own included, is declared through `buzon_comun.colas` (quorum queues with BUZON_COLAS_QUORUM=1,
whose delay queues dead-letter at least once).

Handlers get `(id_evento, evento)`: the message is read here (`buzon_comun.eventos.leer`), and a message of a
contract nobody knows goes to the parked queue at once (retrying can't teach it). Redelivery is normal (a process
killed mid-handler, a retry after a partial failure): handlers stay idempotent on what the event names.

`cola_en_lotes(cola)` hands a handler its queue's messages in batches (one transaction for many, one multiple ack),
with the same retries and parking per message (`ManejadorLote`).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime, timezone
from functools import partial

from amqp.exceptions import ConnectionError as ConexionPerdida
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer
from prometheus_client import Counter

from buzon_comun import colas
from buzon_comun.config import ssl_amqp
from buzon_comun.eventos import ContratoDesconocido, leer

log = logging.getLogger(__name__)

# Seconds before each new try of a failed event; after the last one, the message is parked.
DEMORAS_S = (1, 5, 30, 120, 600)
COLA_FALLIDOS = "buzon.eventos.fallidos"
ENCABEZADO_INTENTOS = "x-buzon-intentos"
ENCABEZADO_COLA = "x-buzon-cola"
ENCABEZADO_ERROR = "x-buzon-error"
ENCABEZADO_FALLIDO_EN = "x-buzon-fallido-en"
# The exchange it first came from: its next tries come back through the default exchange.
ENCABEZADO_INTERCAMBIO = "x-buzon-intercambio"
LARGO_ERROR = 500

REINTENTOS = Counter("buzon_eventos_reintentos_total", "Events whose handler failed and that wait to be tried again.",
                     ["cola"])
FALLIDOS = Counter("buzon_eventos_fallidos_total", "Events parked in buzon.eventos.fallidos after their last try.",
                   ["cola"])


def _intercambio_demora(segundos: int) -> Exchange:
    return Exchange(f"buzon.reintentos.{segundos}s", type="fanout", durable=True)


def cola_demora(segundos: int) -> Queue:
    # Dead-lettered to the default exchange with the routing key it was published with: the handler's queue.
    return colas.cola(f"buzon.reintentos.{segundos}s", _intercambio_demora(segundos),
                      argumentos={"x-message-ttl": segundos * 1000, "x-dead-letter-exchange": ""})


INTERCAMBIO_FALLIDOS = Exchange(COLA_FALLIDOS, type="fanout", durable=True)


def cola_fallidos() -> Queue:
    return colas.cola(COLA_FALLIDOS, INTERCAMBIO_FALLIDOS)


class EventoInatendible(Exception):
    """Raised by a handler for a message no retry can fix (it isn't for this consumer, its data can't be read):
    it is parked at once for an operator."""


def destino_tras_falla(intentos: int, demoras: tuple = DEMORAS_S) -> int | None:
    """Seconds to wait before the next try once `intentos` tries have failed, or None: park it."""
    return demoras[intentos - 1] if intentos <= len(demoras) else None


class _ConReintentos:
    """What both consumers share: a handler's failure goes to its next try or is parked, never acknowledged away."""

    crudo = True
    demoras = DEMORAS_S

    def _preparar_reintentos(self):
        declarar = [cola_demora(s) for s in self.demoras] + [cola_fallidos()]
        self.publicador = Publisher(self.container.config[AMQP_URI_CONFIG_KEY], use_confirms=True, mandatory=True,
                                    declare=declarar, serializer="json",
                                    ssl=self.container.config.get(AMQP_SSL_CONFIG_KEY))

    def handle_message(self, body, message):
        if self.crudo:
            args = (body,)
        else:
            try:
                args = leer(body)
            except ContratoDesconocido as exc:
                log.error("evento de contrato desconocido en %s: se aparta", self.queue.name)
                self._despachar_falla(message, body, exc, aparte=True)
                return
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, args, {}, context_data=self.unpack_message_headers(message),
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        else:
            self._despachar_falla(message, message.decode(), exc_info[1],
                                  aparte=isinstance(exc_info[1], EventoInatendible))
        return result, exc_info

    def _despachar_falla(self, message, body, exc: BaseException, aparte: bool = False) -> None:
        """Hand the message to its next try (or park it), then acknowledge it; if even that fails, the broker
        keeps it (requeued): at least once, whatever breaks."""
        cola = self.queue.name
        encabezados = dict(message.headers or {})
        intentos = int(encabezados.get(ENCABEZADO_INTENTOS, 0)) + 1
        encabezados.update({ENCABEZADO_INTENTOS: intentos, ENCABEZADO_COLA: cola,
                            ENCABEZADO_ERROR: f"{type(exc).__name__}: {exc}"[:LARGO_ERROR]})
        encabezados.setdefault(ENCABEZADO_INTERCAMBIO, intercambio_de(message))
        demora = None if aparte else destino_tras_falla(intentos, self.demoras)
        try:
            if demora is None:
                encabezados[ENCABEZADO_FALLIDO_EN] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                self.publicador.publish(body, exchange=INTERCAMBIO_FALLIDOS, routing_key=cola, headers=encabezados)
                FALLIDOS.labels(cola).inc()
                log.error("evento de %s apartado en %s tras %d intentos: %s", cola, COLA_FALLIDOS, intentos,
                          encabezados[ENCABEZADO_ERROR])
            else:
                self.publicador.publish(body, exchange=_intercambio_demora(demora), routing_key=cola,
                                        headers=encabezados)
                REINTENTOS.labels(cola).inc()
                log.warning("evento de %s falló (intento %d); se reintentará en %d s", cola, intentos, demora)
        except Exception:  # noqa: BLE001 - the broker keeps the message; it comes back
            log.exception("no se pudo reprogramar un evento de %s; vuelve a su cola", cola)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


class ManejadorEvento(_ConReintentos, EventHandler):
    """nameko's EventHandler (one event type of one origin, on a queue of its own per handler), retried."""

    def __init__(self, origen: str, tipo: str, *, crudo: bool = False, demoras: tuple = DEMORAS_S, **kwargs):
        super().__init__(origen, tipo, **kwargs)
        self.crudo = crudo
        self.demoras = demoras

    def setup(self):
        super().setup()  # nameko builds the handler's queue here
        self.queue = colas.ajustar(self.queue)
        self._preparar_reintentos()


def intercambio_de(message) -> str:
    """The exchange a message was first published to, through whatever retries it went."""
    return (message.headers or {}).get(ENCABEZADO_INTERCAMBIO) or message.delivery_info.get("exchange") or ""


class ManejadorCola(_ConReintentos, Consumer):
    """A handler of a queue declared by the service itself (several bindings, say), retried the same way; the
    handler gets the message's body as it came and the exchange it was first published to."""

    def __init__(self, cola: Queue, **kwargs):
        super().__init__(cola, **kwargs)

    def setup(self):
        super().setup()
        self.queue = colas.ajustar(self.queue)
        self._preparar_reintentos()

    def handle_message(self, body, message):
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (body, intercambio_de(message)), {},
                                        context_data=self.unpack_message_headers(message), handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)


evento = ManejadorEvento.decorator
cola = ManejadorCola.decorator


# --- batches: many messages, one transaction ---------------------------------------------------------------------

# Put in a batch handler's arrivals when its container stops: the batch being gathered is given back.
ALTO = object()


def juntar(llegadas: LightQueue, maximo: int, espera_s: float) -> list:
    """The next batch from a queue of `(llegada, ...)` arrivals (`llegada`: time.monotonic()): it waits, blocked
    rather than polling, for a first one, then takes what arrives until it holds `maximo` or `espera_s` have passed
    since that first one arrived. ALTO ends a batch (as its last item)."""
    lote = [llegadas.get()]
    if lote[0] is ALTO:
        return lote
    limite = lote[0][0] + espera_s
    while len(lote) < maximo:
        try:
            siguiente = llegadas.get(timeout=max(limite - time.monotonic(), 0))
        except Empty:
            break
        lote.append(siguiente)
        if siguiente is ALTO:
            break
    return lote


def ultimo_de_cada_canal(mensajes: list) -> list:
    """The last delivery of each channel: one multiple ack of it acknowledges every earlier one of that channel."""
    ultimos = {}
    for mensaje in mensajes:
        previo = ultimos.get(mensaje.channel)
        if previo is None or mensaje.delivery_tag > previo.delivery_tag:
            ultimos[mensaje.channel] = mensaje
    return list(ultimos.values())


class ConsumidorLotes(QueueConsumer):
    """nameko's QueueConsumer on a connection of its own for batch handlers: their prefetch (not max_workers), and
    each delivery handed over in the consuming thread, in order, with no thread spawned per message."""

    @property
    def prefetch_count(self):
        return max((proveedor.prefetch for proveedor in self._providers), default=self.container.max_workers)

    def handle_message(self, provider, body, message):
        provider.handle_message(body, message)


class ManejadorLote(_ConReintentos, Consumer):
    """A handler of a queue declared by the service that takes its messages in batches: up to `maximo`, or what
    arrived within `espera_s` of the first, whichever comes first, one batch at a time. The handler gets the batch
    as `[(body, exchange it was first published to), ...]` and returns the positions of the messages no retry can
    fix, with why (`{posición: motivo}`, or nothing): those are parked at once, and the rest are acknowledged, with
    one multiple ack, once the handler returned (after its commit). If the handler raises, every message of the
    batch takes the retry path, each with its own count of tries, as one message of `cola` would.

    Stopping the container lets the batch being handled finish (and be acknowledged); what arrived after it is
    given back to the queue unhandled. A killed process acknowledges nothing more: the broker redelivers whatever
    was not acknowledged, so handlers stay idempotent."""

    queue_consumer = ConsumidorLotes()

    def __init__(self, cola: Queue, *, maximo: int = 100, espera_s: float = 0.05, prefetch: int = 200,
                 demoras: tuple = DEMORAS_S, **kwargs):
        super().__init__(cola, **kwargs)
        self.maximo, self.espera_s, self.prefetch, self.demoras = maximo, espera_s, prefetch, demoras
        self._llegadas: LightQueue | None = None
        self._hilo = None

    def setup(self):
        super().setup()
        self.queue = colas.ajustar(self.queue)
        self._preparar_reintentos()
        self._llegadas = LightQueue()

    def start(self):
        self._hilo = self.container.spawn_managed_thread(self._atender, identifier=f"lotes[{self.queue.name}]")

    def stop(self):
        if self._hilo is not None:
            self._llegadas.put(ALTO)
            self._hilo.wait()
        super().stop()
        while not self._llegadas.empty():
            llegada = self._llegadas.get()
            if llegada is not ALTO:
                self.queue_consumer.requeue_message(llegada[2])

    def handle_message(self, body, message):
        self._llegadas.put((time.monotonic(), body, message))

    def _atender(self):
        while True:
            lote = juntar(self._llegadas, self.maximo, self.espera_s)
            if lote[-1] is ALTO:
                for _, _, message in lote[:-1]:
                    self.queue_consumer.requeue_message(message)
                return
            self._manejar([message for _, _, message in lote], [(body, intercambio_de(message))
                                                                  for _, body, message in lote])

    def _manejar(self, mensajes: list, entregas: list) -> None:
        hecho = Event()

        def handle_result(worker_ctx, result=None, exc_info=None):
            try:
                self._resolver(mensajes, result, exc_info)
            finally:
                hecho.send()
            return result, exc_info

        try:
            self.container.spawn_worker(self, (entregas,), {}, handle_result=handle_result)
        except ContainerBeingKilled:
            for message in mensajes:
                self.queue_consumer.requeue_message(message)
            return
        hecho.wait()

    def _resolver(self, mensajes: list, rechazados: dict | None, exc_info) -> None:
        if exc_info is not None:
            for message in mensajes:
                self._despachar_falla(message, message.decode(), exc_info[1],
                                      aparte=isinstance(exc_info[1], EventoInatendible))
            return
        rechazados = rechazados or {}
        for posicion, motivo in rechazados.items():
            self._despachar_falla(mensajes[posicion], mensajes[posicion].decode(), EventoInatendible(motivo),
                                  aparte=True)
        aceptados = [message for posicion, message in enumerate(mensajes) if posicion not in rechazados]
        for ultimo in ultimo_de_cada_canal(aceptados):
            # A channel lost since (a reconnection) took its deliveries back: the broker redelivers them.
            if ultimo.channel.connection:
                try:
                    ultimo.ack(multiple=True)
                except (ConexionPerdida, OSError):
                    pass


cola_en_lotes = ManejadorLote.decorator


# --- operators: what was parked, and putting it back -----------------------------------------------------------

def _abrir(uri: str) -> Connection:
    conexion = Connection(uri, connect_timeout=10, ssl=ssl_amqp(uri))
    conexion.ensure_connection(max_retries=3)
    return conexion


def listar_fallidos(uri: str, limite: int = 100) -> list[dict]:
    """The parked messages, oldest first, without taking them (they are returned to the queue)."""
    with _abrir(uri) as conexion:
        canal = conexion.channel()
        cola_fallidos()(canal).declare()
        vistos, mensajes = [], []
        try:
            while len(vistos) < limite:
                mensaje = canal.basic_get(COLA_FALLIDOS, no_ack=False)
                if mensaje is None:
                    break
                vistos.append(mensaje)
                cabeceras = mensaje.headers or {}
                cuerpo = json.loads(mensaje.body)
                mensajes.append({"cola": cabeceras.get(ENCABEZADO_COLA), "intentos": cabeceras.get(ENCABEZADO_INTENTOS),
                                 "error": cabeceras.get(ENCABEZADO_ERROR),
                                 "fallido_en": cabeceras.get(ENCABEZADO_FALLIDO_EN),
                                 "id": cuerpo.get("id") if isinstance(cuerpo, dict) else None,
                                 "tipo": cuerpo.get("tipo") if isinstance(cuerpo, dict) else None})
        finally:
            for mensaje in vistos:
                canal.basic_reject(mensaje.delivery_tag, requeue=True)
    return mensajes


def reintentar_fallidos(uri: str, ids: set[str] | None = None) -> int:
    """Put parked messages back in the queue they came from, with their tries counted from zero; `ids` (event
    ids) chooses which, None means all. Each is acknowledged only after the broker confirmed its new copy."""
    devueltos = 0
    with _abrir(uri) as conexion:
        canal = conexion.channel()
        cola_fallidos()(canal).declare()
        productor = conexion.Producer(channel=conexion.channel())
        productor.channel.confirm_select()
        pendientes = []
        try:
            while True:
                mensaje = canal.basic_get(COLA_FALLIDOS, no_ack=False)
                if mensaje is None:
                    break
                cabeceras = dict(mensaje.headers or {})
                cuerpo = json.loads(mensaje.body)
                elegido = ids is None or (isinstance(cuerpo, dict) and cuerpo.get("id") in ids)
                if not elegido or not cabeceras.get(ENCABEZADO_COLA):
                    pendientes.append(mensaje)
                    continue
                cola = cabeceras.pop(ENCABEZADO_COLA)
                for nombre in (ENCABEZADO_INTENTOS, ENCABEZADO_ERROR, ENCABEZADO_FALLIDO_EN):
                    cabeceras.pop(nombre, None)
                productor.publish(mensaje.body, exchange="", routing_key=cola, headers=cabeceras, mandatory=True,
                                  content_type=mensaje.properties.get("content_type"),
                                  content_encoding=mensaje.properties.get("content_encoding"), delivery_mode=2)
                canal.basic_ack(mensaje.delivery_tag)
                devueltos += 1
        finally:
            for mensaje in pendientes:
                canal.basic_reject(mensaje.delivery_tag, requeue=True)
    return devueltos


def main(argv=None) -> int:
    from buzon_comun.config import Config

    parser = argparse.ArgumentParser(prog="buzon-eventos", description="Eventos apartados tras fallar sus intentos.")
    sub = parser.add_subparsers(dest="orden", required=True)
    sub.add_parser("fallidos", help="lista los eventos apartados (sin sacarlos de la cola)")
    reintentar = sub.add_parser("reintentar", help="devuelve eventos apartados a la cola de su consumidor")
    reintentar.add_argument("ids", nargs="*", help="ids de los eventos (todos si se omite y se da --todos)")
    reintentar.add_argument("--todos", action="store_true")
    args = parser.parse_args(argv)
    uri = Config.desde_entorno().amqp_uri
    if args.orden == "fallidos":
        for mensaje in listar_fallidos(uri):
            print(json.dumps(mensaje, ensure_ascii=False))
        return 0
    if not args.ids and not args.todos:
        parser.error("indica los ids de los eventos o --todos")
    devueltos = reintentar_fallidos(uri, None if args.todos else set(args.ids))
    print(f"eventos devueltos a su cola: {devueltos}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
