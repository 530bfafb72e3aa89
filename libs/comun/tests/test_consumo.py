"""Consuming events at least once, on real RabbitMQ: a failing handler is retried after its delays, a message that
keeps failing is parked in buzon.eventos.fallidos, and an operator puts it back."""
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import eventlet
import pytest
from eventlet.queue import LightQueue
from nameko.standalone.events import event_dispatcher

from buzon_comun.consumo import (
    ALTO, COLA_FALLIDOS, EventoInatendible, destino_tras_falla, evento, juntar, listar_fallidos, reintentar_fallidos,
    ultimo_de_cada_canal,
)
from buzon_comun.eventos import SesionCerrada, mensaje
from buzon_dev.pruebas import esperar

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)
# Short delays, so the test waits seconds; production's are DEMORAS_S.
DEMORAS = (1, 2)


def test_the_schedule_of_tries():
    assert [destino_tras_falla(n, (1, 5, 30)) for n in (1, 2, 3, 4)] == [1, 5, 30, None]


class Registro:
    """What the handlers of the test service saw, and how many times each event may still fail."""

    def __init__(self):
        self.vistos: list[tuple[str, str]] = []
        self.fallar: dict[str, int] = {}


@pytest.fixture
def consumidor(container_factory, config_nameko):
    registro = Registro()

    class Consumidor:
        name = "pruebas_consumo"

        @evento("auth", "sesion_cerrada", demoras=DEMORAS)
        def al_cerrar(self, id_evento, cerrada):
            registro.vistos.append((id_evento, cerrada.rfc))
            if cerrada.rfc == "INATENDIBLE":
                raise EventoInatendible("no es para este consumidor")
            if registro.fallar.get(cerrada.rfc, 0) > 0:
                registro.fallar[cerrada.rfc] -= 1
                raise RuntimeError("la base de datos no responde")

    container_factory(Consumidor, config_nameko).start()
    return registro


def publicar(config_nameko, rfc: str) -> str:
    contenido = mensaje(SesionCerrada(rfc=rfc), ahora=AHORA)
    event_dispatcher(config_nameko)("auth", "sesion_cerrada", contenido)
    return contenido["id"]


def test_a_handler_that_fails_is_tried_again_after_its_delay(consumidor, config_nameko):
    consumidor.fallar["AAA010101AAA"] = 2
    id_evento = publicar(config_nameko, "AAA010101AAA")
    esperar(lambda: len(consumidor.vistos) == 3, plazo=15)
    assert consumidor.vistos == [(id_evento, "AAA010101AAA")] * 3
    assert listar_fallidos(config_nameko["AMQP_URI"]) == []


def test_a_message_that_keeps_failing_is_parked_and_an_operator_puts_it_back(consumidor, config_nameko):
    uri = config_nameko["AMQP_URI"]
    consumidor.fallar["BBB010101BBB"] = len(DEMORAS) + 1  # the first try and every retry
    id_evento = publicar(config_nameko, "BBB010101BBB")
    [apartado] = esperar(lambda: listar_fallidos(uri), plazo=15)
    assert (apartado["id"], apartado["tipo"], apartado["intentos"]) == (id_evento, "sesion_cerrada", 3)
    assert apartado["cola"].startswith("evt-auth-sesion_cerrada--pruebas_consumo")
    assert "la base de datos no responde" in apartado["error"]
    # Listing takes nothing away.
    assert [m["id"] for m in listar_fallidos(uri)] == [id_evento]
    assert len(consumidor.vistos) == 3

    # The database is back: the operator replays it, and it is handled once more.
    assert reintentar_fallidos(uri, {id_evento}) == 1
    esperar(lambda: len(consumidor.vistos) == 4, plazo=10)
    assert listar_fallidos(uri) == []


def test_a_message_no_retry_can_fix_is_parked_at_once(consumidor, config_nameko):
    id_evento = publicar(config_nameko, "INATENDIBLE")
    [apartado] = esperar(lambda: listar_fallidos(config_nameko["AMQP_URI"]), plazo=10)
    assert (apartado["id"], apartado["intentos"]) == (id_evento, 1)
    assert consumidor.vistos == [(id_evento, "INATENDIBLE")]


def test_a_message_of_an_unknown_contract_is_parked_without_reaching_the_handler(consumidor, config_nameko):
    event_dispatcher(config_nameko)("auth", "sesion_cerrada", {"id": "x", "tipo": "sesion_cerrada", "version": 99,
                                                               "datos": {}})
    [apartado] = esperar(lambda: listar_fallidos(config_nameko["AMQP_URI"]), plazo=10)
    assert apartado["id"] == "x" and "ContratoDesconocido" in apartado["error"]
    assert consumidor.vistos == []
    assert COLA_FALLIDOS == "buzon.eventos.fallidos"


# Batches (`cola_en_lotes`): the bitácora's tests run them on real RabbitMQ and PostgreSQL.

def llegadas(*nombres, hace_s: float = 0) -> LightQueue:
    cola = LightQueue()
    for nombre in nombres:
        cola.put((time.monotonic() - hace_s, nombre))
    return cola


def test_a_batch_takes_what_arrived_up_to_its_maximum():
    cola = llegadas(*range(250))
    assert [len(juntar(cola, 100, 0.05)) for _ in range(3)] == [100, 100, 50]
    assert cola.empty()


def test_a_batch_waits_idle_for_its_first_message_and_then_at_most_its_window_from_it():
    cola = LightQueue()
    eventlet.spawn_after(0.2, cola.put, (time.monotonic() + 0.2, "primero"))
    assert [nombre for _, nombre in juntar(cola, 100, 0.05)] == ["primero"]
    # The window counts from the first one's arrival: one that waited already ends its batch at once.
    cola = llegadas("viejo", hace_s=10)
    eventlet.spawn_after(0.1, cola.put, (time.monotonic(), "nuevo"))
    assert [nombre for _, nombre in juntar(cola, 100, 5)] == ["viejo"]


def test_stopping_ends_the_batch_being_gathered():
    cola = llegadas("a", "b")
    cola.put(ALTO)
    cola.put((time.monotonic(), "c"))
    assert juntar(cola, 100, 5)[-1] is ALTO
    assert juntar(cola, 100, 0)[0][1] == "c"
    cola.put(ALTO)
    assert juntar(cola, 100, 5) == [ALTO]


def test_one_multiple_ack_per_channel_at_its_last_delivery():
    uno, dos = object(), object()
    entregas = [SimpleNamespace(channel=canal, delivery_tag=tag) for canal, tag in
                [(uno, 1), (uno, 2), (dos, 1), (uno, 4), (dos, 3)]]
    assert [(e.channel, e.delivery_tag) for e in ultimo_de_cada_canal(entregas)] == [(uno, 4), (dos, 3)]
