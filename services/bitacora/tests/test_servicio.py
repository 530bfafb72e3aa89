"""The bitácora service on real RabbitMQ and PostgreSQL: events written in batches, none acknowledged before its
row is committed, an unreadable one parked alone, a redelivered one recorded once, nothing lost on a stop."""
import json
from datetime import datetime, timezone

import pytest
from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import func, select, text

from buzon_bitacora.models import eventos
from buzon_bitacora.service import Servicio, cola_bitacora
from buzon_comun.consumo import REINTENTOS, listar_fallidos
from buzon_comun.eventos import SesionCerrada, mensaje
from buzon_comun.servicio import COLA_BITACORA
from buzon_dev.pruebas import esperar

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def motor(entorno_bd, motor_de, monkeypatch):
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    return motor_de("bitacora")


@pytest.fixture
def iniciar(motor, container_factory, config_nameko):
    def iniciar():
        contenedor = container_factory(Servicio, config_nameko)
        contenedor.start()
        return contenedor
    return iniciar


@pytest.fixture
def publicar(config_nameko):
    """Publish as a service's outbox does: to its events exchange, with confirms and `mandatory`."""
    publicador = Publisher(config_nameko["AMQP_URI"], use_confirms=True, mandatory=True, serializer="json")

    def publicar(*contenidos, origen="auth", tipo="sesion_cerrada"):
        for contenido in contenidos:
            publicador.publish(contenido, exchange=get_event_exchange(origen, {}), routing_key=tipo)
        return [c["id"] for c in contenidos if isinstance(c, dict) and "id" in c]
    return publicar


def cerradas(n: int) -> list[dict]:
    return [mensaje(SesionCerrada(rfc="MAVA800101RS5"), ahora=AHORA) for _ in range(n)]


def ids_escritos(motor) -> set[str]:
    with motor.connect() as conexion:
        return set(conexion.execute(select(eventos.c.id)).scalars())


def en_cola(config_nameko) -> list[dict]:
    """What waits in the bitácora's queue, left there."""
    vistos = []
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        canal = conexion.channel()
        while (recibido := canal.basic_get(COLA_BITACORA, no_ack=False)) is not None:
            vistos.append(recibido)
        cuerpos = [json.loads(recibido.body) for recibido in vistos]
        for recibido in vistos:
            canal.basic_reject(recibido.delivery_tag, requeue=True)
    return cuerpos


def test_a_burst_ends_with_one_row_per_event_written_in_batches_and_nothing_left_unacknowledged(
        iniciar, publicar, motor, config_nameko):
    contenedor = iniciar()
    ids = publicar(*cerradas(500))
    esperar(lambda: len(ids_escritos(motor)) == 500, plazo=60)
    with motor.connect() as conexion:
        # Rows written in one transaction share their recibido_en.
        lotes = conexion.execute(select(func.count(eventos.c.recibido_en.distinct()))).scalar_one()
    assert ids_escritos(motor) == set(ids) and lotes < 500
    contenedor.stop()
    # Stopped, every unacknowledged message would be back in the queue.
    assert en_cola(config_nameko) == [] and listar_fallidos(config_nameko["AMQP_URI"]) == []


def test_a_single_event_on_an_idle_queue_does_not_wait_for_a_full_batch(iniciar, publicar, motor):
    iniciar()
    [id_evento] = publicar(*cerradas(1))
    esperar(lambda: ids_escritos(motor) == {id_evento}, plazo=10)


def test_a_redelivered_event_is_recorded_once(iniciar, publicar, motor, config_nameko):
    contenedor = iniciar()
    [repetido] = cerradas(1)
    ids = publicar(repetido, repetido, *cerradas(3), repetido)
    esperar(lambda: len(ids_escritos(motor)) == 4, plazo=10)
    # Once more, in a later batch: the event after it is written once that batch is.
    ids += publicar(repetido, *cerradas(1))
    esperar(lambda: len(ids_escritos(motor)) == 5, plazo=10)
    contenedor.stop()
    assert ids_escritos(motor) == set(ids) and en_cola(config_nameko) == []


def test_a_message_that_is_not_an_event_is_parked_alone_and_the_rest_of_its_batch_written(
        iniciar, publicar, motor, config_nameko):
    iniciar()
    antes, despues = cerradas(10), cerradas(10)
    ilegible = {"id": "ilegible-1", "tipo": "sesion_cerrada"}  # no version
    ids = publicar(*antes, ilegible, *despues)
    [apartado] = esperar(lambda: listar_fallidos(config_nameko["AMQP_URI"]), plazo=10)
    assert (apartado["id"], apartado["intentos"], apartado["cola"]) == ("ilegible-1", 1, COLA_BITACORA)
    assert "EventoInatendible" in apartado["error"]
    esperar(lambda: ids_escritos(motor) == set(ids) - {"ilegible-1"}, plazo=10)


@pytest.fixture
def commit_que_falla(motor):
    """Make every COMMIT that inserted into the bitácora fail (a deferred constraint trigger), as a database that
    goes away between the INSERT and its commit would; give the function that makes commits work again."""
    with motor.begin() as conexion:
        conexion.execute(text("CREATE OR REPLACE FUNCTION falla_al_confirmar() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN RAISE EXCEPTION 'la base de datos no confirma'; END $$"))
        conexion.execute(text("CREATE CONSTRAINT TRIGGER falla_al_confirmar AFTER INSERT ON eventos "
                              "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION falla_al_confirmar()"))

    def reparar():
        with motor.begin() as conexion:
            conexion.execute(text("DROP TRIGGER IF EXISTS falla_al_confirmar ON eventos"))
            conexion.execute(text("DROP FUNCTION IF EXISTS falla_al_confirmar()"))

    yield reparar
    reparar()


def test_a_batch_whose_commit_fails_is_not_acknowledged_and_comes_back(iniciar, publicar, motor, config_nameko,
                                                                        commit_que_falla):
    reintentos = REINTENTOS.labels(COLA_BITACORA)
    antes = reintentos._value.get()
    iniciar()
    ids = publicar(*cerradas(30))
    # Every message of the failed batches went to its next try (acknowledged only once that copy was confirmed).
    esperar(lambda: reintentos._value.get() >= antes + 30, plazo=15)
    assert ids_escritos(motor) == set()
    commit_que_falla()
    esperar(lambda: ids_escritos(motor) == set(ids), plazo=30)
    assert listar_fallidos(config_nameko["AMQP_URI"]) == []


@pytest.mark.parametrize("parar", ["stop", "kill"])
def test_stopping_mid_burst_leaves_each_event_written_or_back_in_the_queue(iniciar, publicar, motor, config_nameko,
                                                                          parar):
    # A backlog waits before it starts: the process takes PREFETCH of them at once, so when it stops one batch is
    # being written and more wait their turn in the process.
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        cola_bitacora()(conexion.channel()).declare()
    ids = set(publicar(*cerradas(500)))
    contenedor = iniciar()
    esperar(lambda: ids_escritos(motor), plazo=30, paso=0.01)
    getattr(contenedor, parar)()
    escritos = ids_escritos(motor)
    devueltos = [c["id"] for c in en_cola(config_nameko)]
    # Never acknowledged without its row: each one is written, or back in the queue, once.
    assert escritos | set(devueltos) == ids and len(devueltos) == len(set(devueltos))
    if parar == "stop":
        # The batch being written when it stopped was finished and acknowledged: none is written and back too.
        assert escritos.isdisjoint(devueltos)
    # A new process writes what was given back.
    iniciar()
    esperar(lambda: ids_escritos(motor) == ids, plazo=30)
    assert listar_fallidos(config_nameko["AMQP_URI"]) == []
