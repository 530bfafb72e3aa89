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


@pytest.fixture(scope="session")
def sistema(tmp_path_factory, url_bd_e2e, vhost_e2e):
    sistema = Sistema(tmp_path_factory.mktemp("e2e"), url_bd_e2e, RAIZ)
    sistema.entorno["BUZON_AMQP_URI"] = vhost_e2e
    with sistema.en_marcha():
        yield sistema
    try:
        viva = requests.get(sistema.url + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        viva = False
    assert not viva, "make down dejó el sistema en marcha"
