"""Calls between services with deadlines (buzon_comun.remoto), on real RabbitMQ: a call answers within its
deadline whatever the other side does, a service known down fails at once, and nobody's requests pile up."""
import time

import eventlet
import pytest
from kombu import Connection
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from buzon_comun.errores import ReglaIncumplida, ServicioNoDisponible
from buzon_comun import remoto
from buzon_comun.remoto import Cortacircuitos, Remoto
from buzon_dev.pruebas import esperar


class Reloj:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_the_breaker_opens_after_failures_in_a_row_and_one_probe_closes_it():
    reloj = Reloj()
    cortacircuitos = Cortacircuitos(umbral=3, abierto_s=5, reloj=reloj)
    for _ in range(2):
        assert cortacircuitos.permitir()
        cortacircuitos.falla()
    cortacircuitos.exito()  # an answer in between: the count starts again
    for _ in range(3):
        assert cortacircuitos.permitir()
        cortacircuitos.falla()
    assert not cortacircuitos.permitir() and cortacircuitos.reintentar_en_s() == 5
    reloj.t += 5
    assert cortacircuitos.permitir()        # half open: one probe…
    assert not cortacircuitos.permitir()    # …and only one
    cortacircuitos.falla()                  # the probe failed: open again
    assert not cortacircuitos.permitir()
    reloj.t += 5
    assert cortacircuitos.permitir()
    cortacircuitos.exito()
    assert cortacircuitos.permitir() and cortacircuitos.permitir()


class Lento:
    name = "pruebas_lento"

    @rpc
    def dormir(self, segundos: float) -> str:
        eventlet.sleep(segundos)
        return "despierto"

    @rpc
    def rehusar(self) -> None:
        raise ReglaIncumplida("regla", "No se puede.")


class Cliente:
    name = "pruebas_cliente"
    lento = Remoto("pruebas_lento")

    @rpc
    def pedir(self, segundos: float) -> str:
        return self.lento.dormir(segundos)

    @rpc
    def pedir_rehuso(self) -> None:
        return self.lento.rehusar()


@pytest.fixture
def plazos(monkeypatch):
    monkeypatch.setenv("BUZON_PLAZOS_RPC", "pruebas_lento.dormir=1")


@pytest.fixture
def cliente(plazos, container_factory, config_nameko):
    contenedor = container_factory(Cliente, config_nameko)
    contenedor.start()
    return contenedor


def llamar(contenedor, metodo, *args):
    inicio = time.monotonic()
    with entrypoint_hook(contenedor, metodo) as hook:
        try:
            return hook(*args), time.monotonic() - inicio
        except Exception as exc:  # noqa: BLE001 - the test looks at what came back
            return exc, time.monotonic() - inicio


def test_an_answer_in_time_and_a_refusal_pass_through(cliente, container_factory, config_nameko):
    container_factory(Lento, config_nameko).start()
    assert llamar(cliente, "pedir", 0)[0] == "despierto"
    error, _ = llamar(cliente, "pedir_rehuso")
    assert isinstance(error, ReglaIncumplida) and error.codigo == "regla"


def test_replies_are_read_without_acknowledgements(cliente, container_factory, config_nameko, rabbit_manager):
    """The caller's reply queue is consumed with no_ack (the broker says so), and calls still get their answers."""
    container_factory(Lento, config_nameko).start()
    for _ in range(3):
        assert llamar(cliente, "pedir", 0)[0] == "despierto"
    vhost = Connection(config_nameko["AMQP_URI"]).virtual_host

    def consumidores():  # the management API's figures lag a few seconds behind the broker
        hallados = {c["queue"]["name"]: c["ack_required"] for c in rabbit_manager._get("consumers", vhost)}
        return hallados if any(n.startswith("rpc.reply-pruebas_cliente") for n in hallados) else None

    consumidores = esperar(consumidores, plazo=20)
    respuestas = [nombre for nombre in consumidores if nombre.startswith("rpc.reply-pruebas_cliente")]
    assert respuestas and not any(consumidores[nombre] for nombre in respuestas)
    assert consumidores["rpc-pruebas_lento"]  # requests are still acknowledged after their worker


def test_a_slow_service_answers_503_at_its_deadline(cliente, container_factory, config_nameko):
    container_factory(Lento, config_nameko).start()
    error, segundos = llamar(cliente, "pedir", 5)
    assert isinstance(error, ServicioNoDisponible) and error.codigo == "servicio_no_disponible"
    assert 0.9 < segundos < 2.5
    assert error.extra["reintentar_en_s"] >= 1


def test_a_service_never_deployed_is_503_within_the_deadline(cliente):
    """No queue at all: requests go unconfirmed (cheaper for every call), so the broker's drop shows as the
    deadline passing, never as a wait beyond it."""
    error, segundos = llamar(cliente, "pedir", 0)
    assert isinstance(error, ServicioNoDisponible) and 0.9 < segundos < 2.5


def test_a_service_known_down_fails_fast_and_its_queue_keeps_no_request(cliente, container_factory, config_nameko):
    lento = container_factory(Lento, config_nameko)
    lento.start()
    lento.stop()  # its durable queue stays, with nobody consuming: like a stopped process
    for _ in range(3):
        error, segundos = llamar(cliente, "pedir", 0)
        assert isinstance(error, ServicioNoDisponible) and segundos < 2.5
    error, segundos = llamar(cliente, "pedir", 0)
    assert isinstance(error, ServicioNoDisponible) and segundos < 0.2  # the breaker is open
    # The requests carried their deadline as TTL: none waits in the queue for a reader that may come much later.
    eventlet.sleep(1.5)
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        _, mensajes, _ = conexion.channel().queue_declare("rpc-pruebas_lento", passive=True)
    assert mensajes == 0


def test_calls_waiting_on_one_service_never_take_all_the_callers_workers(cliente, container_factory, config_nameko,
                                                                       monkeypatch):
    monkeypatch.setattr(remoto, "ESPERA_LUGAR_S", 0.3)
    container_factory(Lento, config_nameko).start()
    # config_nameko runs 10 workers: at most 7 calls to one target wait at once; the rest wait 0.3 s for a place
    # and fail, long before their own deadline (1 s), so a frozen target never holds every worker for long.
    hilos = [eventlet.spawn(llamar, cliente, "pedir", 5) for _ in range(9)]
    resultados = [hilo.wait() for hilo in hilos]
    assert all(isinstance(r, ServicioNoDisponible) for r, _ in resultados)
    rapidos = sorted(s for _, s in resultados)[:2]
    assert all(s < 0.8 for s in rapidos), resultados


def test_a_burst_beyond_the_bound_waits_for_a_place_instead_of_failing(cliente, container_factory, config_nameko):
    container_factory(Lento, config_nameko).start()
    # 9 calls at once on a healthy target, 7 places: the two beyond the bound get one as soon as a call ends.
    hilos = [eventlet.spawn(llamar, cliente, "pedir", 0.3) for _ in range(9)]
    assert [hilo.wait()[0] for hilo in hilos] == ["despierto"] * 9
