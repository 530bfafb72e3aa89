"""The end-to-end system as a cluster deploys it (tests/conftest.py: BUZON_COLAS_QUORUM=1, BUZON_REPLICAS=2), seen
from RabbitMQ after the end-to-end flows ran on it: every durable queue is a quorum queue, and both processes of
every service took part of the work.

The broker's management API gives what `rabbitmqctl list_queues name type` lists, and, per channel, the messages
delivered to each consumer: each replica consumes its service's queue on a connection of its own. (The launcher
gives a service's metrics port to its first replica only, so the broker is where both replicas' work shows.)
"""
import os
from urllib.parse import quote, urlparse

import pytest
import requests

from buzon_comun import colas
from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

API = os.environ.get("BUZON_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")


def replicas_de(sistema) -> int:
    return int(sistema.entorno["BUZON_REPLICAS"])


def vhost_de(sistema) -> str:
    return urlparse(sistema.entorno["BUZON_AMQP_URI"]).path.lstrip("/")


def api(ruta: str) -> list | dict:
    respuesta = requests.get(f"{API}/{ruta}", timeout=10)
    respuesta.raise_for_status()
    return respuesta.json()


def temporal(cola: dict) -> bool:
    """A queue that lives only while its process does (nameko's reply queues, a gateway's broadcast queue)."""
    return cola["auto_delete"] or cola["exclusive"] or "x-expires" in cola["arguments"]


def test_every_durable_queue_is_a_quorum_queue_and_reply_queues_stay_classic(sistema):
    declaradas = api(f"queues/{quote(vhost_de(sistema), safe='')}")
    por_tipo: dict[str, set[str]] = {}
    for cola in declaradas:
        por_tipo.setdefault("temporal" if temporal(cola) else "durable", set()).add(cola["name"])
        assert cola["type"] == ("classic" if temporal(cola) else "quorum"), cola["name"]
        if cola["type"] == "quorum":
            assert cola["durable"] and cola["arguments"]["x-delivery-limit"] == colas.LIMITE_ENTREGAS, cola["name"]
    # What the services declare as they start: an RPC queue each, the event handlers' queues, the bitácora's.
    servicios = {nombre.removeprefix("rpc-") for nombre in por_tipo["durable"] if nombre.startswith("rpc-")}
    assert {"auth", "contactos", "notificaciones", "activacion", "acuses", "bitacora"} <= servicios
    assert "buzon.bitacora" in por_tipo["durable"]
    assert any(nombre.startswith("evt-contactos-correo_solicitado--") for nombre in por_tipo["durable"])
    # Every process that calls another has its reply queue, classic: the gateways, at least.
    assert sum(nombre.startswith("rpc.reply-gateway-") for nombre in por_tipo["temporal"]) >= replicas_de(sistema)


def reparto(vhost: str) -> dict[str, list[int]]:
    """Per service, the messages RabbitMQ delivered from its RPC queue's consumers' channels, one figure per
    process (a consumer's connection); per gateway process, the replies its reply queue took."""
    canales = {canal["name"]: canal for canal in api(f"vhosts/{quote(vhost, safe='')}/channels")}
    por_servicio: dict[str, dict[str, int]] = {}
    for consumidor in api(f"consumers/{quote(vhost, safe='')}"):
        cola = consumidor["queue"]["name"]
        if not cola.startswith("rpc-"):
            continue
        canal = consumidor["channel_details"]
        entregados = canales.get(canal["name"], {}).get("message_stats", {}).get("deliver", 0)
        por_servicio.setdefault(cola.removeprefix("rpc-"), {})[canal["connection_name"]] = entregados
    resultado = {servicio: sorted(procesos.values()) for servicio, procesos in por_servicio.items()}
    resultado["gateway"] = sorted(
        cola.get("message_stats", {}).get("deliver_no_ack", 0) for cola in api(f"queues/{quote(vhost, safe='')}")
        if cola["name"].startswith("rpc.reply-gateway-") and cola.get("consumers"))
    return resultado


def test_both_processes_of_every_service_take_their_share_of_the_work(sistema):
    # Calls of every service (/health asks each one), on connections of their own: the kernel spreads
    # connections over the gateways, RabbitMQ a queue's messages over its consumers, in turn.
    for _ in range(20):
        assert requests.get(f"{sistema.url}/health", headers={"Connection": "close"}).status_code == 200
    vhost, replicas = vhost_de(sistema), replicas_de(sistema)
    assert replicas == 2

    def repartido():
        visto = reparto(vhost)
        # The broker publishes its statistics every few seconds: wait for the figures to show the calls.
        if all(len(cifras) == replicas and min(cifras) > 0 for cifras in visto.values()):
            return visto
        return None

    try:
        visto = esperar(repartido, plazo=30)
    except AssertionError:
        pytest.fail(f"un proceso sin trabajo o sin consumir (entregas por proceso): {reparto(vhost)}")
    assert {"auth", "contactos", "notificaciones", "activacion", "acuses", "bitacora", "gateway"} <= visto.keys()
