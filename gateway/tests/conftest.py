"""What the gateway's tests that start real services share: the services with the gateway on a free port, and an
active Buzón as only its row in activacion's schema."""
import datetime as dt
import json

import pytest
from nameko.testing.utils import find_free_port

from buzon_activacion.models import activaciones
from buzon_comun.config import Config
from buzon_comun.db import crear_engine


@pytest.fixture
def levantar(container_factory, config_nameko, monkeypatch):
    """`levantar(*clases, **entorno)` starts the nameko services given (the Gateway among them) with the gateway on
    a free port, BUZON_PUBLIC_URL naming it, and the environment given set first; the gateway's base URL."""

    def iniciar(*clases, **entorno) -> str:
        puerto = find_free_port()
        url = f"http://127.0.0.1:{puerto}"
        for nombre, valor in {"BUZON_PUBLIC_URL": url, **entorno}.items():
            monkeypatch.setenv(nombre, valor)
        config = {**config_nameko, "WEB_SERVER_ADDRESS": f"127.0.0.1:{puerto}"}
        for clase in clases:
            container_factory(clase, config).start()
        return url

    return iniciar


@pytest.fixture
def activar(url_bd):
    """`activar(rfc)`: the activation's flow has its own tests; here an active Buzón is only its row in activacion's
    schema (which the test empties first, `motor_de("activacion")`)."""
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "activacion")

    def hacer(rfc):
        momento = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.timezone.utc)
        with engine.begin() as conexion:
            conexion.execute(activaciones.insert().values(
                rfc=rfc, folio="ACT-2026-00000001", tipo="particular", registros_patronales="[]", medios="[]",
                texto="t", cadena_original="||c||", firma="f", certificado="c", ocsp="", numero_certificado="1",
                verificado_en=momento, titular=json.dumps({"rfc": rfc}), activado_en=momento))

    yield hacer
    engine.dispose()
