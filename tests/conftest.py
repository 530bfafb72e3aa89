"""The system started with `make up` for the end-to-end tests, as an integrator sees it.

The stand-ins run as their own processes on free ports and reach the system only through the variables of
API.md, so the tests also prove that `make up` honours them. One system serves every end-to-end test.
"""
import os
from pathlib import Path

import pytest
import requests

from buzon_dev.sistema import Sistema, borrar_vhost, vhost_propio

RAIZ = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def vhost_e2e():
    """A RabbitMQ vhost of its own, so that no other system running on this broker answers the test's calls."""
    nombre = f"buzon-e2e-{os.getpid()}"
    yield vhost_propio(nombre)
    borrar_vhost(nombre)


# Every end-to-end test runs on the system as a cluster deploys it: two processes of every service (the gateway's
# sharing its port) taking turns at the same queues, all of them quorum queues (tests/test_e2e_sistema.py checks
# both). Three database connections per process: twenty processes keep within PostgreSQL's 100 (README).
# No session cache in the gateways: auth publishes `sesion_cerrada` before it answers a logout, but the other
# gateway takes the event from its queue a moment later, and may still accept the token in that moment
# (gateway/README.md); the tests hold the contract's «the token no longer works» through whichever gateway takes the
# next connection, with no race to lose (the cache has tests of its own: gateway/tests/test_cache_sesiones.py).
DESPLIEGUE = {"BUZON_REPLICAS": "2", "BUZON_COLAS_QUORUM": "1", "BUZON_DB_CONEXIONES": "3",
              "BUZON_GATEWAY_CACHE_SESION_S": "0"}


@pytest.fixture(scope="session")
def sistema(tmp_path_factory, url_bd_e2e, vhost_e2e):
    sistema = Sistema(tmp_path_factory.mktemp("e2e"), url_bd_e2e, RAIZ, BUZON_AMQP_URI=vhost_e2e, **DESPLIEGUE)
    with sistema.en_marcha():
        yield sistema
    try:
        viva = requests.get(sistema.url + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        viva = False
    assert not viva, "make down dejó el sistema en marcha"
