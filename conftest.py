"""Test set-up shared by every package: eventlet first, as in production, and the test database."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

URL_PRUEBAS = os.environ.get("BUZON_TEST_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_test")
SERVICIOS = ("auth", "contactos", "notificaciones", "activacion", "acuses")


@pytest.fixture(scope="session")
def url_bd():
    """The PostgreSQL test database, with every service's schema migrated from scratch once per run."""
    from buzon_comun.config import Config
    from buzon_comun.migraciones import migrar

    from buzon_comun.db import normalizar_url

    engine = create_engine(normalizar_url(URL_PRUEBAS))
    try:
        with engine.begin() as conexion:
            for servicio in SERVICIOS:
                conexion.execute(text(f'DROP SCHEMA IF EXISTS "{servicio}" CASCADE'))
    finally:
        engine.dispose()
    migrar(Config.desde_entorno({"BUZON_DATABASE_URL": URL_PRUEBAS}))
    return URL_PRUEBAS


@pytest.fixture
def entorno_bd(url_bd, monkeypatch):
    """Point services started in this test at the test database."""
    monkeypatch.setenv("BUZON_DATABASE_URL", url_bd)
    return url_bd
