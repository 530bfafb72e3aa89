"""End to end: the system started with `make up`, as an integrator sees it, logging in with buzon-firma.

The stand-ins run as their own processes on free ports and reach the system only through the variables of
API.md, so this also proves that `make up` honours them.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from buzon_dev.pki import PKI
from buzon_dev.pruebas import b64, firmar

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def efirma(sistema):
    return sistema.pki.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")


def login(sistema, emitido) -> requests.Response:
    reto = requests.post(f"{sistema.api}/sesiones/retos").json()["reto"]
    return requests.post(f"{sistema.api}/sesiones", json={
        "certificado": b64(emitido.cer_der), "reto": reto, "firma": firmar(emitido, reto)})


def test_health_metrics_and_openapi_answer(sistema):
    salud = requests.get(f"{sistema.url}/health")
    assert salud.status_code == 200 and salud.json()["estado"] == "ok"
    assert set(salud.json()["servicios"]) >= {"auth", "contactos", "notificaciones", "activacion", "acuses"}
    assert "buzon_llamadas_total" in requests.get(f"{sistema.url}/metrics").text
    assert "/api/v1/sesiones" in requests.get(f"{sistema.url}/api/v1/openapi.json").json()["paths"]
    metricas_auth = requests.get(f"http://127.0.0.1:{sistema.puertos['metricas_auth']}/metrics").text
    assert 'buzon_llamadas_total{entrypoint="salud",resultado="ok",servicio="auth"}' in metricas_auth


def test_a_person_logs_in_with_buzon_firma_and_logs_out(sistema, efirma):
    resultado = subprocess.run(
        [str(BIN / "buzon-firma"), "login", "--url", sistema.url, "--cer", str(efirma.ruta_cer),
         "--key", str(efirma.ruta_key)],
        env={**sistema.entorno, "BUZON_FIRMA_PASSWORD": efirma.password}, capture_output=True, text=True, timeout=60)
    assert resultado.returncode == 0, resultado.stderr
    sesion = json.loads(resultado.stdout)
    assert (sesion["rfc"], sesion["tipo_persona"]) == ("MAVA800101RS5", "fisica")
    cabecera = {"Authorization": f"Bearer {sesion['token']}"}
    assert requests.get(f"{sistema.url}/api/v1/sesiones/actual", headers=cabecera).json()["rfc"] == "MAVA800101RS5"
    assert requests.delete(f"{sistema.url}/api/v1/sesiones/actual", headers=cabecera).status_code == 204
    assert requests.get(f"{sistema.url}/api/v1/sesiones/actual", headers=cabecera).status_code == 401


def test_buzon_firma_reports_the_api_error(sistema, tmp_path):
    ajena = PKI.abrir(tmp_path / "otra").emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")
    resultado = subprocess.run(
        [str(BIN / "buzon-firma"), "login", "--url", sistema.url, "--cer", str(ajena.ruta_cer),
         "--key", str(ajena.ruta_key)],
        env={**sistema.entorno, "BUZON_FIRMA_PASSWORD": ajena.password}, capture_output=True, text=True, timeout=60)
    assert resultado.returncode == 1
    assert resultado.stderr.startswith("certificado_no_confiable: ")


def test_revocation_is_checked_with_the_configured_responder_and_fails_closed(sistema):
    revocado = sistema.pki.emitir("GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01")
    sistema.pki.revocar(revocado.numero_certificado)
    respuesta = login(sistema, revocado)
    assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (401, "certificado_revocado")

    sin_respuesta = sistema.pki.emitir("GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01")
    sistema.detener_sustituto("ocsp")
    try:
        respuesta = login(sistema, sin_respuesta)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (503, "revocacion_no_disponible")
    finally:
        sistema.lanzar_sustituto("ocsp")
    assert login(sistema, sin_respuesta).status_code == 201
