"""Fixtures of the buzon tests: its schema migrated afresh on the test database (dropped and made again by its
migrations, whatever an earlier run left), a movable clock, the official calendar, the outbox, and the service
started on the broker with stand-ins around it."""
from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from buzon_auth.service import Servicio as ServicioAuth
from buzon_comun.config import Config
from buzon_comun.db import normalizar_url
from buzon_comun.folios import borrar_secuencias
from buzon_comun.migraciones import migrar_servicio
from buzon_comun.reloj import ZONA_MEXICO, RelojFijo
from buzon_dev.pruebas import oyente
from buzon_buzon import firma_documento, habiles, notificaciones
from buzon_buzon.service import Servicio

UBICACION = "buzon_buzon:migrations"
MORAL = "EDE0101013A2"
OTRO_RFC = "MAVA800101RS5"
RPS = ["A1234567890", "B1234567890"]
# Who activated MORAL's Buzón, as activacion's `titular` answers.
TITULAR = {"rfc": MORAL, "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": "MAVA800101MDFRRN09",
           "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}


@pytest.fixture(scope="session")
def esquema_buzon(url_bd):
    """The `buzon` schema made from nothing by its migrations, once per run."""
    motor = create_engine(normalizar_url(url_bd))
    with motor.begin() as conexion:
        conexion.execute(text('DROP SCHEMA IF EXISTS "buzon" CASCADE'))
    motor.dispose()
    migrar_servicio(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "buzon", UBICACION)
    return url_bd


@pytest.fixture
def engine(esquema_buzon, motor_de):
    """buzon's tables emptied, its folios counting from 1 again."""
    engine = motor_de("buzon")
    with engine.begin() as conexion:
        borrar_secuencias(conexion)
    return engine


@pytest.fixture
def db(engine):
    sesion = Session(engine)
    yield sesion
    sesion.close()


@pytest.fixture
def otra_db(engine):
    """A second session (another worker or replica), which never waits for a lock more than 2 s."""
    sesion = Session(engine)
    sesion.execute(text("SET lock_timeout = '2s'"))
    sesion.commit()
    yield sesion
    sesion.close()


@pytest.fixture
def calendario():
    return habiles.desde_entorno({})


@pytest.fixture
def reloj():
    # Monday 11 January 2027, 10:00 Mexico City: its aviso is deemed notified on Friday 15 January at 07:30.
    return RelojFijo(datetime(2027, 1, 11, 10, 0, tzinfo=ZONA_MEXICO))


@pytest.fixture
def eventos(db):
    """The outbox's pending events of a type (what a publish would send)."""

    def leer(tipo: str | None = None) -> list[dict]:
        filas = db.execute(text("SELECT tipo, mensaje FROM salida ORDER BY creado_en, id")).all()
        db.commit()
        return [json.loads(f.mensaje) for f in filas if tipo is None or f.tipo == tipo]

    return leer


@pytest.fixture(scope="session")
def confianza(documentos_dev):
    """The development CA of the Institute's documents trusted, as buzon reads BUZON_DOCUMENTOS_CA_DIR."""
    return firma_documento.Confianza.desde_carpeta(documentos_dev.carpeta_ca)


@pytest.fixture(scope="session")
def firmador_ajeno(tmp_path_factory):
    """A pyHanko signer of another CA with the very names of the development one: trusted by nobody."""
    from buzon_dev.documentos import FirmaDocumentos

    return FirmaDocumentos.abrir(tmp_path_factory.mktemp("pki-ajena")).firmador()


@pytest.fixture
def cuerpo(pdf_firmado):
    """A deposit's JSON body (its document the run's signed PDF), with some fields changed."""

    def hacer(**cambios) -> dict:
        base = {"rfc": MORAL, "registros_patronales": ["A1234567890"], "asunto": "Requerimiento de información 42",
                "area": "Subdelegación Centro", "tipo_acto": "requerimiento", "referencia": "REQ-42",
                "documento": base64.b64encode(pdf_firmado).decode("ascii")}
        return {**base, **cambios}

    return hacer


@pytest.fixture
def depositar(db, reloj, cuerpo, confianza):
    """Deposit as system `cobranza` to an active Buzón whose RFC has RPS, by default."""

    def hacer(sistema: str = "cobranza", activo: bool = True, registros=RPS, **cambios) -> dict:
        return notificaciones.depositar(db, sistema, notificaciones.leer_deposito(cuerpo(**cambios), confianza),
                                        titular=TITULAR if activo else None, registros_del_rfc=registros,
                                        ahora=reloj.ahora())

    return hacer


@pytest.fixture
def levantar_buzon(engine, entorno_auth, entorno_documentos, pdf_firmado, container_factory, config_nameko):
    """`levantar_buzon(activacion, contactos, nombre, *eventos)`: the buzon service on the test broker with the real
    auth, the stand-ins given for activacion and contactos, and a listener `nombre` of the `(origin, type)` events
    given. Its container, with `recibidos` (what the listener heard) and `pdf` (a document signed with the
    development key of the Institute's documents, which buzon trusts here)."""
    def iniciar(activacion, contactos, nombre: str, *eventos: tuple[str, str]):
        clase_oyente, recibidos = oyente(nombre, *eventos)
        for clase in (ServicioAuth, activacion, contactos, clase_oyente):
            container_factory(clase, config_nameko).start()
        contenedor = container_factory(Servicio, config_nameko)
        contenedor.start()
        contenedor.recibidos = recibidos
        contenedor.pdf = pdf_firmado
        return contenedor

    return iniciar
