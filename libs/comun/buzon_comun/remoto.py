"""Calling another service: every RPC with a deadline, a circuit breaker and a bound on what waits.

`Remoto("auth")` replaces nameko's `RpcProxy("auth")`: `self.auth.sesion(token)` is still a plain call, but
- it answers within its deadline (`BUZON_PLAZO_RPC_S`, default 5 s; per call kind in `BUZON_PLAZOS_RPC`), or raises
  `ServicioNoDisponible` (503 at the gateway, with Retry-After), and its request message carries that deadline as
  its TTL, so a stopped service's queue does not fill with calls nobody waits for any more;
- after a few calls in a row time out or find nobody (`FALLAS_PARA_ABRIR`), the breaker opens: calls fail at once
  for `ABIERTO_S`, then one call probes whether the service is back;
- at most ¾ of the caller's workers wait on one target at once: a call beyond that waits up to `ESPERA_LUGAR_S` for
  a place (a healthy target frees one in milliseconds, so a burst is not refused) and then fails, so a service
  that doesn't answer can't use up the gateway.
Requests are neither persisted nor confirmed by the broker (the caller has a deadline and the client retries: a
request the broker lost is a call that timed out), and the services' replies neither (`servicio.Llamada`): a call
costs the broker no disk and the caller no wait for a confirm.
A contract error (any `ErrorBuzon`) is the service answering: it passes through and counts as an answer.
"""
from __future__ import annotations

import logging
import time
import uuid

import eventlet
from eventlet.semaphore import Semaphore
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, NON_PERSISTENT
from nameko.exceptions import deserialize
from nameko.messaging import HeaderEncoder
from nameko.rpc import ReplyListener, get_rpc_exchange
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from buzon_comun import colas
from buzon_comun.config import Config, ssl_amqp
from buzon_comun.errores import ServicioNoDisponible

log = logging.getLogger(__name__)

FALLAS_PARA_ABRIR = 3
ABIERTO_S = 5.0
# Reconnect quickly after the broker came back; the deadline bounds the whole call anyway.
POLITICA_RECONEXION = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}
# How long a call beyond the bound of calls in flight waits for a place (never past its own deadline).
ESPERA_LUGAR_S = 1.0
MENSAJE_NO_DISPONIBLE = "El servicio no está disponible en este momento. Intenta de nuevo en unos segundos."

LLAMADAS_FALLIDAS = Counter("buzon_rpc_no_disponible_total",
                            "Calls to another service that got no answer in time, found nobody or were refused at "
                            "once by the open breaker or the bound of calls in flight.",
                            ["destino", "metodo", "motivo"])


class Cortacircuitos:
    """Closed while the target answers; open (fail fast) for `abierto_s` after `umbral` failures in a row; then
    half open: one call probes, and its outcome closes or reopens it. Plain code with a clock to move in tests."""

    def __init__(self, umbral: int = FALLAS_PARA_ABRIR, abierto_s: float = ABIERTO_S, reloj=time.monotonic):
        self.umbral = umbral
        self.abierto_s = abierto_s
        self.reloj = reloj
        self.fallas = 0
        self.abierto_hasta: float | None = None
        self.probando = False

    def permitir(self) -> bool:
        if self.abierto_hasta is None:
            return True
        if self.reloj() < self.abierto_hasta or self.probando:
            return False
        self.probando = True  # half open: this call is the probe
        return True

    def exito(self) -> None:
        self.fallas, self.abierto_hasta, self.probando = 0, None, False

    def falla(self) -> None:
        self.fallas += 1
        self.probando = False
        if self.fallas >= self.umbral or self.abierto_hasta is not None:
            self.abierto_hasta = self.reloj() + self.abierto_s

    def reintentar_en_s(self) -> int:
        if self.abierto_hasta is None:
            return 1
        return max(1, round(self.abierto_hasta - self.reloj()))


def plazos_de(config: Config) -> tuple[float, dict[str, float]]:
    return config.plazo_rpc_s, dict(config.plazos_rpc)


class _Llamador(HeaderEncoder):
    """One call: publish the request with its TTL, wait for the reply until the deadline."""

    def __init__(self, remoto: "Remoto", worker_ctx, metodo: str):
        self.remoto = remoto
        self.worker_ctx = worker_ctx
        self.metodo = metodo

    def __call__(self, *args, **kwargs):
        remoto = self.remoto
        if not remoto.cortacircuitos.permitir():
            raise remoto.no_disponible(self.metodo, "abierto")
        if not remoto.en_vuelo.acquire(timeout=min(ESPERA_LUGAR_S, remoto.plazo_de(self.metodo))):
            raise remoto.no_disponible(self.metodo, "saturado")
        correlacion = str(uuid.uuid4())
        try:
            cuerpo = self._esperar(correlacion, args, kwargs)
        finally:
            remoto.escucha._reply_events.pop(correlacion, None)
            remoto.en_vuelo.release()
        # It answered: even an error is an answer (a contract refusal, or its own fault: a 500, not a 503).
        remoto.cortacircuitos.exito()
        error = cuerpo.get("error")
        if error:
            raise deserialize(error)
        return cuerpo["result"]

    def _esperar(self, correlacion: str, args, kwargs) -> dict:
        remoto = self.remoto
        plazo = remoto.plazo_de(self.metodo)
        evento = remoto.escucha.get_reply_event(correlacion)
        try:
            with eventlet.Timeout(plazo, False):
                remoto.publicador(self.metodo, plazo).publish(
                    {"args": args, "kwargs": kwargs}, exchange=remoto.intercambio,
                    routing_key=f"{remoto.destino}.{self.metodo}",
                    reply_to=remoto.escucha.routing_key, correlation_id=correlacion,
                    extra_headers=self.get_message_headers(self.worker_ctx))
                return evento.wait()
        except Exception as exc:  # noqa: BLE001 - the bus itself failed (broker down, connection lost)
            log.warning("%s.%s: sin conexión con el bus: %s", remoto.destino, self.metodo, exc)
            raise remoto.no_disponible(self.metodo, "bus", fallo=True) from None
        raise remoto.no_disponible(self.metodo, "plazo", fallo=True)


class EscuchaRespuestas(ReplyListener):
    """nameko's reply listener, without acknowledgements: a reply is for one call waiting in this process, on a
    queue only this process reads, so if the process dies there is nobody to give it to anyway. It spares the
    broker and the caller one write per call."""

    def setup(self):
        super().setup()
        self.queue = colas.ajustar(self.queue)  # it expires when unused: a classic queue, whatever the flag
        self.queue.no_ack = True  # read when the consumer starts, after every provider's setup

    def handle_message(self, body, message):
        evento = self._reply_events.pop(message.properties.get("correlation_id"), None)
        if evento is not None:
            evento.send(body)


class _Proxy:
    def __init__(self, remoto: "Remoto", worker_ctx):
        self._remoto = remoto
        self._worker_ctx = worker_ctx

    def __getattr__(self, metodo: str) -> _Llamador:
        return _Llamador(self._remoto, self._worker_ctx, metodo)


class Remoto(DependencyProvider):
    escucha = EscuchaRespuestas()

    def __init__(self, destino: str):
        self.destino = destino
        self.cortacircuitos = Cortacircuitos()
        self._publicadores: dict = {}

    def setup(self):
        config = Config.desde_entorno()
        self.plazo_por_omision, self.plazos = plazos_de(config)
        self.intercambio = get_rpc_exchange(self.container.config)
        self.uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.ssl = self.container.config.get(AMQP_SSL_CONFIG_KEY)
        self.en_vuelo = Semaphore(max(1, self.container.max_workers * 3 // 4))

    def plazo_de(self, metodo: str) -> float:
        return self.plazos.get(f"{self.destino}.{metodo}", self.plazos.get(f"*.{metodo}", self.plazo_por_omision))

    def publicador(self, metodo: str, plazo: float) -> Publisher:
        # The TTL is the deadline: past it nobody waits for the answer, so the request need not be delivered.
        publicador = self._publicadores.get(metodo)
        if publicador is None:
            publicador = Publisher(self.uri, ssl=self.ssl, use_confirms=False, delivery_mode=NON_PERSISTENT,
                                   expiration=plazo,
                                   serializer="json", retry=True, retry_policy=POLITICA_RECONEXION)
            self._publicadores[metodo] = publicador
        return publicador

    def no_disponible(self, metodo: str, motivo: str, fallo: bool = False) -> ServicioNoDisponible:
        if fallo:
            self.cortacircuitos.falla()
        LLAMADAS_FALLIDAS.labels(self.destino, metodo, motivo).inc()
        log.warning("%s.%s no disponible (%s)", self.destino, metodo, motivo)
        return ServicioNoDisponible("servicio_no_disponible", MENSAJE_NO_DISPONIBLE,
                                    {"reintentar_en_s": self.cortacircuitos.reintentar_en_s()})

    def get_dependency(self, worker_ctx) -> _Proxy:
        return _Proxy(self, worker_ctx)


def bus_disponible(uri: str, plazo_s: float = 1.0) -> bool:
    """Whether the broker takes a connection now (for /health to name it when nothing answers)."""
    from kombu import Connection

    try:
        with eventlet.Timeout(plazo_s + 0.5), Connection(uri, connect_timeout=plazo_s, ssl=ssl_amqp(uri)) as conexion:
            conexion.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=plazo_s)
        return True
    except (Exception, eventlet.Timeout):  # noqa: BLE001 - no answer in time is no broker
        return False
