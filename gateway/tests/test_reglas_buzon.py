"""DOMINIO.md, the Buzón's deposit: "Only an Institute system, authenticated as such (never a person's session),
deposits a notification" (docs/buzon-reglas.md). Through the gateway over real RabbitMQ, PostgreSQL, auth and buzon:
a person's valid session is no system key for the depositing routes, and a system key is no session for the
person's routes."""
import hashlib

import pytest
import requests

from buzon_auth.service import Servicio as Auth
from buzon_buzon.service import Servicio as Buzon
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64, firmar
from buzon_gateway.service import Gateway
from buzon_dev.sustitutos import ActivacionSustituta, ContactosSustituto

# Signed with the development key of the Institute's documents, which buzon trusts here (BUZON_DOCUMENTOS_CA_DIR).
PDF = firmar_pdf(pdf_de_prueba("Requerimiento"), carpeta_de_pruebas())
FISICA = "MAVA800101RS5"
CLAVE = "clave-de-cobranza-0123456789"


@pytest.fixture
def url(entorno_auth, levantar, motor_de, tmp_path):
    motor_de("buzon")
    archivo = tmp_path / "sistemas.txt"
    archivo.write_text(f"cobranza:{hashlib.sha256(CLAVE.encode()).hexdigest()}\n")
    return levantar(Auth, ActivacionSustituta, ContactosSustituto, Buzon, Gateway,
                    BUZON_SISTEMAS_DEPOSITANTES=str(archivo),
                    BUZON_DOCUMENTOS_CA_DIR=str(carpeta_de_pruebas() / "ca")) + "/api/v1"


def _deposito(referencia: str) -> dict:
    return {"rfc": FISICA, "asunto": "Requerimiento", "area": "Subdelegación Centro", "tipo_acto": "Requerimiento",
            "referencia": referencia, "documento": b64(PDF)}


def test_a_persons_session_never_deposits_nor_reads_as_a_system(url, efirma_dev_fisica):
    reto = requests.post(f"{url}/sesiones/retos").json()["reto"]
    sesion = requests.post(f"{url}/sesiones", json={"certificado": b64(efirma_dev_fisica.cer_der), "reto": reto,
                                                    "firma": firmar(efirma_dev_fisica, reto)})
    assert sesion.status_code == 201, sesion.text
    persona = {"Authorization": f"Bearer {sesion.json()['token']}"}
    sistema = {"Authorization": f"Bearer {CLAVE}"}
    # The person's own RFC, with a live session: still no depositing system.
    propia = requests.post(f"{url}/notificaciones", headers=persona, json=_deposito("DE-LA-PERSONA"))
    assert (propia.status_code, propia.json()["error"]["codigo"]) == (401, "no_autenticado")
    assert requests.get(f"{url}/buzon/notificaciones", headers=persona).json() == {"notificaciones": []}

    depositada = requests.post(f"{url}/notificaciones", headers=sistema, json=_deposito("DEL-SISTEMA"))
    assert depositada.status_code == 201, depositada.text
    id_ = depositada.json()["id"]
    consulta = requests.get(f"{url}/notificaciones/{id_}", headers=persona)
    assert (consulta.status_code, consulta.json()["error"]["codigo"]) == (401, "no_autenticado")
    # And the system's key is no person's session: it reads nothing of the addressee's side.
    for ruta in ("buzon/notificaciones", f"buzon/notificaciones/{id_}/acuse-recibo",
                 f"buzon/notificaciones/{id_}/documento"):
        respuesta = requests.get(f"{url}/{ruta}", headers=sistema)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (401, "no_autenticado"), ruta
    # The one the system deposited is the person's only notification.
    [listada] = requests.get(f"{url}/buzon/notificaciones", headers=persona).json()["notificaciones"]
    assert listada["id"] == id_
