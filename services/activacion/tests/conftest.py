"""Fixtures of the activacion tests: its tables on PostgreSQL, a movable clock, the outbox as it would be sent."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.reloj import RelojFijo

TABLAS = "solicitudes, activaciones, folios, salida"

def limpiar(url: str) -> None:
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url}), "activacion")
    try:
        with engine.begin() as conexion:
            conexion.execute(text(f"TRUNCATE {TABLAS}"))
    finally:
        engine.dispose()


@pytest.fixture
def engine(url_bd):
    limpiar(url_bd)
    motor = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "activacion")
    yield motor
    motor.dispose()


@pytest.fixture
def db(engine):
    sesion = Session(engine)
    yield sesion
    sesion.close()


@pytest.fixture
def reloj():
    return RelojFijo(datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc))


@pytest.fixture
def eventos(db):
    """The outbox's pending events of a type (what a publish would send)."""

    def leer(tipo: str | None = None) -> list[dict]:
        filas = db.execute(text("SELECT tipo, mensaje FROM salida ORDER BY creado_en")).all()
        db.commit()
        return [json.loads(f.mensaje) for f in filas if tipo is None or f.tipo == tipo]

    return leer
