"""The outbox published by its dependency (Salida), on real RabbitMQ and PostgreSQL: after each worker that
enqueued, with confirms; the bitácora's queue gets every event too; an event nobody can receive stays, counted."""
from datetime import datetime, timezone

import eventlet
import eventlet.event
import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_hook
from sqlalchemy import MetaData, text

from buzon_comun.bandeja_salida import encolar, tabla_salida
from buzon_comun.db import BaseDatos, transaccion
from buzon_comun.eventos import SesionCerrada
from buzon_comun.servicio import COLA_BITACORA, NO_ENRUTABLES, Salida, rpc
from buzon_dev import pruebas
from buzon_dev.pruebas import esperar

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)
ESQUEMA = "pruebas_salida"
metadata = MetaData()
salida = tabla_salida(metadata)
SIN_COLAS = Exchange("pruebas.sin_colas", type="topic", durable=False, auto_delete=True)


class Anunciante:
    name = ESQUEMA
    db = BaseDatos()
    salida = Salida(salida)

    @rpc
    def anunciar(self, rfc: str) -> None:
        with transaccion(self.db):
            encolar(self.db, salida, SesionCerrada(rfc=rfc), ahora=AHORA)

    @rpc
    def leer(self) -> None:
        with transaccion(self.db):
            self.db.execute(text("SELECT 1"))

    @rpc
    def anunciar_y_consultar(self, rfc: str) -> int:
        with transaccion(self.db):
            encolar(self.db, salida, SesionCerrada(rfc=rfc), ahora=AHORA)
        # A read after the unit of work keeps the session's connection until the worker ends.
        return self.db.execute(text("SELECT count(*) FROM pg_sleep(0.2)")).scalar_one()


class SalidaSinColas(Salida):
    """An outbox whose events go where no queue listens."""

    def setup(self):
        super().setup()
        self.publicador.declare.append(SIN_COLAS)

    def destino(self, tipo: str) -> dict:
        return {"exchange": SIN_COLAS, "routing_key": tipo}


class SalidaRetenida(Salida):
    """An outbox whose first publish waits until the test lets it go (a slow broker)."""

    def __init__(self, tabla):
        super().__init__(tabla)
        self.retenida = eventlet.event.Event()
        self.soltar = eventlet.event.Event()

    def publicar(self, tipo: str, mensaje: dict) -> None:
        if not self.retenida.ready():
            self.retenida.send()
            self.soltar.wait()
        super().publicar(tipo, mensaje)


class AnuncianteLento(Anunciante):
    salida = SalidaRetenida(salida)


class AnuncianteSinColas(Anunciante):
    salida = SalidaSinColas(salida)


@pytest.fixture
def engine(esquema_temporal, url_bd, monkeypatch):
    monkeypatch.setenv("BUZON_DATABASE_URL", url_bd)
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    return esquema_temporal(metadata, ESQUEMA)


def pendientes(engine) -> int:
    with engine.connect() as conexion:
        return conexion.execute(text("SELECT count(*) FROM salida")).scalar_one()


def test_events_go_out_after_the_worker_that_enqueued_them_and_reach_the_bitacora(engine, container_factory,
                                                                                   config_nameko):
    clase, recibidos = pruebas.oyente("oyente_salida", (ESQUEMA, "sesion_cerrada"))
    container_factory(clase, config_nameko).start()
    contenedor = container_factory(Anunciante, config_nameko)
    contenedor.start()
    with entrypoint_hook(contenedor, "anunciar") as anunciar:
        anunciar("AAA010101AAA")
    [evento] = esperar(lambda: recibidos, plazo=10)
    assert evento["datos"]["rfc"] == "AAA010101AAA"
    assert pendientes(engine) == 0
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        copia = conexion.channel().basic_get(COLA_BITACORA, no_ack=True)
    assert copia is not None and "AAA010101AAA" in str(copia.body)


def test_a_worker_that_enqueued_nothing_relays_nothing(engine, container_factory, config_nameko):
    with engine.begin() as conexion:
        # A row another replica left: only the timer (or a worker that enqueued) relays it, not a mere read.
        conexion.execute(text("INSERT INTO salida (id, tipo, mensaje, creado_en, intentos) VALUES "
                              "('x', 'sesion_cerrada', '{}', now(), 0)"))
    contenedor = container_factory(Anunciante, config_nameko)
    contenedor.start()
    with entrypoint_hook(contenedor, "leer") as leer:
        leer()
    assert pendientes(engine) == 1


def test_an_event_nobody_can_receive_stays_in_the_outbox_and_is_counted(engine, container_factory, config_nameko):
    antes = NO_ENRUTABLES.labels(ESQUEMA, "sesion_cerrada")._value.get()
    contenedor = container_factory(AnuncianteSinColas, config_nameko)
    contenedor.start()
    with entrypoint_hook(contenedor, "anunciar") as anunciar:
        anunciar("BBB010101BBB")
    assert pendientes(engine) == 1
    with engine.connect() as conexion:
        assert conexion.execute(text("SELECT intentos FROM salida")).scalar_one() == 1
    assert NO_ENRUTABLES.labels(ESQUEMA, "sesion_cerrada")._value.get() == antes + 1


def test_more_workers_than_connections_all_finish_and_publish(engine, container_factory, config_nameko,
                                                              monkeypatch):
    """A process's pool is smaller than its workers (BUZON_DB_CONEXIONES): they take turns, and a worker that ends
    holding a connection gives it back before its outbox relay takes one, so none waits on another for ever."""
    monkeypatch.setenv("BUZON_DB_CONEXIONES", "2")
    clase, recibidos = pruebas.oyente("oyente_salida_pool", (ESQUEMA, "sesion_cerrada"))
    container_factory(clase, config_nameko).start()
    contenedor = container_factory(Anunciante, config_nameko)
    contenedor.start()
    assert contenedor.max_workers == 10

    def llamar(i):
        with entrypoint_hook(contenedor, "anunciar_y_consultar") as anunciar:
            return anunciar(f"AAA01010{i}AAA")

    hilos = [eventlet.spawn(llamar, i) for i in range(10)]
    assert [hilo.wait() for hilo in hilos] == [1] * 10
    esperar(lambda: len(recibidos) == 10, plazo=10)
    assert pendientes(engine) == 0


def test_one_relay_at_a_time_a_worker_leaves_its_events_to_the_relay_under_way(engine, container_factory,
                                                                                config_nameko):
    clase, recibidos = pruebas.oyente("oyente_salida_turno", (ESQUEMA, "sesion_cerrada"))
    container_factory(clase, config_nameko).start()
    contenedor = container_factory(AnuncianteLento, config_nameko)
    contenedor.start()
    [retenida] = [d for d in contenedor.extensions if isinstance(d, SalidaRetenida)]

    def anunciar(rfc):
        with entrypoint_hook(contenedor, "anunciar") as llamar:
            llamar(rfc)

    primero = eventlet.spawn(anunciar, "AAA010101AAA")
    retenida.retenida.wait()  # the first worker's relay is publishing, held by the broker
    with eventlet.Timeout(5):
        anunciar("BBB010101BBB")  # ends at once: its row is left to the relay under way
    assert pendientes(engine) == 2
    retenida.soltar.send()
    primero.wait()
    esperar(lambda: len(recibidos) == 2, plazo=10)  # the relay went round once more for the second row
    assert pendientes(engine) == 0
    assert {e["datos"]["rfc"] for e in recibidos} == {"AAA010101AAA", "BBB010101BBB"}
