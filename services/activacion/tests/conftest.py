"""Fixtures of the activacion tests: its tables on PostgreSQL, a movable clock, the outbox as it would be sent."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun.folios import borrar_secuencias
from buzon_comun.reloj import RelojFijo


@pytest.fixture
def engine(motor_de):
    """activacion's schema emptied, its folios counting from 1 again."""
    engine = motor_de("activacion")
    with engine.begin() as conexion:
        borrar_secuencias(conexion)
    return engine


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
