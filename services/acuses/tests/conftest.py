"""Fixtures of the acuses tests: the service's tables on PostgreSQL, a development seal and one request of each
kind of acuse."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from buzon_acuses import sello as modulo_sello

FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARÍA MARTÍNEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACIÓN SA DE CV", "curp": None,
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
RP1, RP2 = "A1234567890", "B1234567890"
EMITIDO = "2026-11-28T12:00:00-06:00"
TEXTO = ("Solicitud y manifestación de conformidad para el uso del Buzón IMSS. Con fundamento en la Ley del "
         "Seguro Social y en los Lineamientos generales para el uso del Buzón IMSS, la persona solicitante cuyos "
         "datos se indican solicita la activación de su Buzón IMSS.")
FIRMA = "U0lHTkFUVVJFLURFLVBSVUVCQQ" * 13 + "=="


def folio(prefijo: str) -> str:
    # Unique per test run: the test database is shared, and an acuse once issued is never replaced.
    return f"{prefijo}-2026-{uuid.uuid4().int % 10**8:08d}"


def medio(tipo: str, titular: dict, mecanismo: str, valor: str, estado: str, rps: list, prefijo: str) -> dict:
    return {"folio": folio(prefijo), "tipo": tipo, "rfc": titular["rfc"], "emitido_en": EMITIDO,
            "titular": dict(titular),
            "datos": {"medio_id": str(uuid.uuid4()), "mecanismo": mecanismo, "valor": valor, "estado": estado,
                      "registros_patronales": rps}}


def activacion(titular: dict, tipo_usuario: str, rps: list) -> dict:
    f = folio("ACT")
    return {"folio": f, "tipo": "activacion", "rfc": titular["rfc"], "emitido_en": EMITIDO, "titular": dict(titular),
            "datos": {"tipo_usuario": tipo_usuario, "registros_patronales": rps,
                      "medios": [{"mecanismo": "correo", "valor": "ana@example.mx"},
                                 {"mecanismo": "telefono", "valor": "+525512345678"}],
                      "texto": TEXTO,
                      "cadena_original": f"||1.0|activacion|{titular['rfc']}|{EMITIDO}|Solicitud y manifestación"
                                         f"|nonce-{uuid.uuid4().hex}||",
                      "firma": FIRMA, "numero_certificado": "00001000000500003416"}}


@pytest.fixture
def registro():
    return medio("registro_medio", FISICA, "correo", "ana@example.mx", "pendiente", [], "REG")


@pytest.fixture
def validacion():
    return medio("validacion_medio", MORAL, "telefono", "+525512345678", "validado", [RP1, RP2], "VAL")


@pytest.fixture
def baja():
    return medio("baja_medio", FISICA, "correo", "ana@example.mx", "baja", [], "BAJ")


@pytest.fixture
def activacion_patron():
    return activacion(MORAL, "patron", [
        {"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACIÓN SA DE CV"},
        {"registro_patronal": RP2, "razon_social": "EMPRESA DE DEMOSTRACIÓN SA DE CV PLANTA 2"}])


@pytest.fixture
def activacion_particular():
    return activacion(FISICA, "particular", [])


@pytest.fixture
def aclaracion():
    return {"folio": folio("ACL"), "tipo": "aclaracion", "rfc": FISICA["rfc"], "emitido_en": EMITIDO,
            "titular": dict(FISICA),
            "datos": {"asunto": "Activación Buzón IMSS",
                      "texto": "No recibí el aviso de activación de mi Buzón IMSS.\nSolicito orientación para "
                               "descargar el acuse de la solicitud y manifestación."}}


@pytest.fixture(scope="session")
def sello_dev(tmp_path_factory):
    return modulo_sello.desarrollo(tmp_path_factory.mktemp("sello"))


@pytest.fixture
def db(motor_de):
    with Session(motor_de("acuses")) as sesion:
        yield sesion

