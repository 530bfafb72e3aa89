"""A service's metrics port listens on BUZON_METRICAS_HOST alone, not on every interface."""
import socket
import urllib.request
from types import SimpleNamespace

import pytest

from buzon_comun import metricas
from buzon_comun.config import Config


def puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def responde(host: str, puerto: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{puerto}/metrics", timeout=3) as respuesta:
            return respuesta.status == 200 and b"buzon_llamadas_total" in respuesta.read()
    except OSError:
        return False


@pytest.fixture
def servidores():
    abiertos = []
    yield abiertos
    for servidor in abiertos:
        servidor.shutdown()
        servidor.server_close()
        metricas._puertos_abiertos.discard(servidor.server_address[1])


def test_escucha_solo_en_la_direccion_indicada(servidores):
    # Every 127.x address reaches the loopback interface: one bound to 127.0.0.1 alone refuses 127.0.0.2.
    puerto = puerto_libre()
    servidor = metricas.servir_metricas(puerto, "127.0.0.1")
    assert servidor is not None
    servidores.append(servidor)
    assert servidor.server_address[0] == "127.0.0.1"
    assert responde("127.0.0.1", puerto)
    assert not responde("127.0.0.2", puerto)


def test_el_proveedor_usa_buzon_metricas_host(servidores, monkeypatch):
    puerto = puerto_libre()
    monkeypatch.setenv("BUZON_METRICAS_PUERTO_AUTH", str(puerto))
    monkeypatch.setenv("BUZON_METRICAS_HOST", "127.0.0.2")
    iniciar = metricas.start_http_server

    def iniciar_y_anotar(puerto, addr):
        servidor, hilo = iniciar(puerto, addr=addr)
        servidores.append(servidor)
        return servidor, hilo

    monkeypatch.setattr(metricas, "start_http_server", iniciar_y_anotar)
    proveedor = metricas.Metricas()
    proveedor.container = SimpleNamespace(service_name="auth")
    proveedor.setup()
    assert len(servidores) == 1
    assert responde("127.0.0.2", puerto)
    assert not responde("127.0.0.1", puerto)


def test_por_omision_solo_loopback():
    assert Config.desde_entorno({}).metricas_host == "127.0.0.1"


def test_puerto_cero_no_abre_nada():
    assert metricas.servir_metricas(0, "127.0.0.1") is None
