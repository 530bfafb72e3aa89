import pytest
from sqlalchemy import create_engine, text

from buzon_comun.db import normalizar_url


@pytest.fixture
def esquema_temporal(url_bd):
    """Make `metadata`'s tables in a throw-away schema of the test database; give its engine."""
    creados = []

    def crear(metadata, nombre):
        engine = create_engine(normalizar_url(url_bd), connect_args={"options": f"-csearch_path={nombre}"})
        with engine.begin() as conexion:
            conexion.execute(text(f"DROP SCHEMA IF EXISTS {nombre} CASCADE"))
            conexion.execute(text(f"CREATE SCHEMA {nombre}"))
        metadata.create_all(engine)
        creados.append((engine, nombre))
        return engine

    yield crear
    for engine, nombre in creados:
        with engine.begin() as conexion:
            conexion.execute(text(f"DROP SCHEMA {nombre} CASCADE"))
        engine.dispose()
