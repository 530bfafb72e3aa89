"""Fixtures of the contactos tests: the service's tables on PostgreSQL, a movable clock and a small padrón."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun.config import Config
from buzon_comun.folios import borrar_secuencias
from buzon_comun.reloj import RelojFijo

RP1, RP2, RP3 = "A1234567890", "B1234567890", "C1234567890"
RP_AJENO = "Z9999999999"

PADRON_CSV = (
    "rfc,registro_patronal,razon_social\n"
    f"EDE0101013A2,{RP2},EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2\n"
    f"EDE0101013A2,{RP1},EMPRESA DE DEMOSTRACION SA DE CV\n"
    f"ede0101013a2,{RP3.lower()},EMPRESA DE DEMOSTRACION SA DE CV PLANTA 3\n"
    f"GOCJ750505AB1,{RP_AJENO},JUAN GOMEZ CRUZ\n"
    "NO-ES-RFC,D1234567890,MALA\n"
    "EDE0101013A2,123,MALA\n"
    "EDE0101013A2,E1234567890,\n"
)


@pytest.fixture
def engine(motor_de):
    """contactos' schema emptied, its folios counting from 1 again."""
    engine = motor_de("contactos")
    with engine.begin() as conexion:
        borrar_secuencias(conexion)
    return engine


@pytest.fixture
def db(engine):
    with Session(engine) as sesion:
        yield sesion


@pytest.fixture
def reloj():
    return RelojFijo(datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc))


@pytest.fixture
def config():
    return Config.desde_entorno({"BUZON_PUBLIC_URL": "https://buzon.imss.example/", "BUZON_INTENTOS_CODIGO": "3"})


@pytest.fixture
def archivo_padron(tmp_path):
    ruta = tmp_path / "padron.csv"
    ruta.write_text(PADRON_CSV, encoding="utf-8")
    return ruta


@pytest.fixture
def con_padron(db, archivo_padron, reloj):
    from buzon_contactos.padron import importar_csv

    importar_csv(db, archivo_padron, ahora=reloj.ahora())
    return db


@pytest.fixture
def eventos(db):
    """The outbox's pending events of a type (what a publish would send)."""

    def leer(tipo: str | None = None) -> list[dict]:
        return _eventos(db, tipo)

    return leer


def _eventos(db, tipo: str | None = None) -> list[dict]:
    filas = db.execute(text("SELECT tipo, mensaje FROM salida ORDER BY creado_en")).all()
    db.commit()
    return [json.loads(f.mensaje) for f in filas if tipo is None or f.tipo == tipo]


@pytest.fixture
def vaciar_salida(db):
    def vaciar() -> None:
        db.execute(text("DELETE FROM salida"))
        db.commit()

    return vaciar
