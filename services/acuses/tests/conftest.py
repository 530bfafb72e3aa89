"""Fixtures of the acuses tests: the service's tables on PostgreSQL, a development seal, one request of each kind of
acuse, and each kind again with the longest values a real one may carry (`largos`)."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from buzon_acuses import sello as modulo_sello
# The Solicitud's text as activacion writes it: its data (and so its length) are what the acuse prints.
from buzon_activacion.solicitud import plantilla_por_defecto, texto as texto_solicitud

FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARÍA MARTÍNEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACIÓN SA DE CV", "curp": None,
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
RP1, RP2 = "A1234567890", "B1234567890"
EMITIDO = "2026-11-28T12:00:00-06:00"
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
    medios = [{"mecanismo": "correo", "valor": "ana@example.mx", "registros_patronales": []},
              {"mecanismo": "telefono", "valor": "+525512345678", "registros_patronales": []}]
    return {"folio": f, "tipo": "activacion", "rfc": titular["rfc"], "emitido_en": EMITIDO, "titular": dict(titular),
            "datos": {"tipo_usuario": tipo_usuario, "registros_patronales": rps,
                      "medios": [{"mecanismo": m["mecanismo"], "valor": m["valor"]} for m in medios],
                      "texto": texto_solicitud(plantilla_por_defecto(), titular, tipo_usuario, rps, medios),
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



# -- the longest realistic acuses ----------------------------------------------------------------------------------
# A persona moral with a long razón social and its representative's CURP (a moral's e.firma carries it), forty
# Registros Patronales under two long razones sociales, five long RFC-level emails and the mobile, medios for every
# RP and for some of them, a person with a long name, and a planteamiento of the full 4,000 characters in paragraphs.
RAZON_LARGA = ("GRUPO COMERCIALIZADOR E INDUSTRIAL DE SERVICIOS LOGÍSTICOS, ALMACENAJE Y DISTRIBUCIÓN DEL NORTE DE "
               "MÉXICO, S.A.P.I. DE C.V.")
RAZON_PLANTA = "GRUPO COMERCIALIZADOR E INDUSTRIAL DE SERVICIOS LOGÍSTICOS DEL NORTE, PLANTA APODACA, NUEVO LEÓN"
MORAL_LARGA = {"rfc": "GCI010101AB3", "nombre": RAZON_LARGA, "curp": "GOCJ750505HDFMRN01",
               "rfc_representante": "GOCJ750505AB1", "tipo_persona": "moral"}
FISICA_LARGA = {"rfc": "FEGM800101AB1", "nombre": "MARÍA GUADALUPE DEL CARMEN FERNÁNDEZ DE LA GARZA Y SÁNCHEZ NAVARRO",
                "curp": "FEGM800101MNLRRR09", "rfc_representante": None, "tipo_persona": "fisica"}
RPS_LARGOS = [{"registro_patronal": f"Y{5412345100 + i:010d}", "razon_social": RAZON_LARGA if i < 30 else RAZON_PLANTA}
              for i in range(40)]
CORREO_LARGO = "notificaciones.buzon.imss.contabilidad@corporativo-grupo-comercializador.com.mx"
CORREOS_LARGOS = [f"notificaciones.buzon.imss.{area}@corporativo-grupo-comercializador.com.mx"
                  for area in ("direccion", "nomina", "juridico", "contabilidad", "rh")]
PLANTEAMIENTO_LARGO = "\n\n".join(
    [("Registré mi correo electrónico y mi número celular en tres ocasiones y no he recibido el mensaje de "
      "validación, a pesar de haber revisado la bandeja de correo no deseado y de esperar varias horas. ") * 4] * 6
)[:4000]


def _medios(rfc_nivel: list[str], rps: list[str]) -> list[dict]:
    medios = [{"mecanismo": "correo", "valor": valor, "registros_patronales": []} for valor in rfc_nivel]
    medios.append({"mecanismo": "telefono", "valor": "+528112345678", "registros_patronales": []})
    if rps:
        medios += [{"mecanismo": "correo", "valor": "planta.apodaca.nomina@corporativo-grupo-comercializador.com.mx",
                    "registros_patronales": rps},
                   {"mecanismo": "telefono", "valor": "+528187654321", "registros_patronales": rps},
                   {"mecanismo": "correo", "valor": "rh.planta.sur@corporativo-grupo-comercializador.com.mx",
                    "registros_patronales": rps[30:33]}]
    return medios


def activacion_real(titular: dict, tipo_usuario: str, rps: list[dict], medios: list[dict]) -> dict:
    """An activation's request as activacion sends it, with the Solicitud's text it really writes."""
    texto = texto_solicitud(plantilla_por_defecto(), titular, tipo_usuario, rps, medios)
    f = folio("ACT")
    return {"folio": f, "tipo": "activacion", "rfc": titular["rfc"], "emitido_en": EMITIDO, "titular": dict(titular),
            "datos": {"tipo_usuario": tipo_usuario, "registros_patronales": rps,
                      "medios": [{"mecanismo": m["mecanismo"], "valor": m["valor"]} for m in medios],
                      "texto": texto,
                      "cadena_original": "||1.0|Solicitud y manifestación de conformidad para el uso del Buzón IMSS|"
                                         f"{titular['rfc']}|{titular['nombre']}|{EMITIDO}|{uuid.uuid4().hex}|"
                                         f"{'0' * 64}||",
                      "firma": FIRMA, "numero_certificado": "00001000000512345678"}}


@pytest.fixture
def largos():
    """Each kind of acuse with the longest realistic values (`solicitudes`, by name) and the values they carry."""
    return SimpleNamespace(solicitudes=_solicitudes_largas(), moral=MORAL_LARGA, fisica=FISICA_LARGA,
                           razon=RAZON_LARGA, razon_planta=RAZON_PLANTA, rps=RPS_LARGOS, correo=CORREO_LARGO,
                           planteamiento=PLANTEAMIENTO_LARGO)


def _solicitudes_largas() -> dict:
    todos = [rp["registro_patronal"] for rp in RPS_LARGOS]

    def de_medio(tipo: str, estado: str, prefijo: str) -> dict:
        solicitud = medio(tipo, MORAL_LARGA, "correo", CORREO_LARGO, estado, RPS_LARGOS, prefijo)
        if tipo == "registro_medio":
            solicitud["datos"]["vence_en"] = "2026-12-01T12:00:00-06:00"
        return solicitud

    return {
        "registro": de_medio("registro_medio", "pendiente", "REG"),
        "validacion": de_medio("validacion_medio", "validado", "VAL"),
        "baja": de_medio("baja_medio", "baja", "BAJ"),
        "activacion_patron": activacion_real(MORAL_LARGA, "patron", RPS_LARGOS, _medios(CORREOS_LARGOS, todos)),
        "activacion_particular": activacion_real(FISICA_LARGA, "particular", [], _medios(CORREOS_LARGOS, [])),
        "aclaracion": {"folio": folio("ACL"), "tipo": "aclaracion", "rfc": FISICA_LARGA["rfc"], "emitido_en": EMITIDO,
                       "titular": dict(FISICA_LARGA),
                       "datos": {"asunto": "Activación Buzón IMSS", "texto": PLANTEAMIENTO_LARGO}},
    }
