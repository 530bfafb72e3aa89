"""End to end: the system started with `make up`, as an integrator sees it, logging in with buzon-firma.

The stand-ins run as their own processes on free ports and reach the system only through the variables of
API.md, so this also proves that `make up` honours them.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from buzon_dev.pki import PKI
from buzon_dev.pruebas import b64, firmar

RAIZ = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def esperar_puerto(puerto: int, plazo: float = 20) -> None:
    limite = time.monotonic() + plazo
    while time.monotonic() < limite:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", puerto)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nada escucha en {puerto}")


class Sistema:
    def __init__(self, datos: Path, url_bd: str):
        self.datos = datos
        self.pki = PKI.abrir(datos / "pki-sat")
        self.puertos = {n: puerto_libre() for n in ("gateway", "ocsp", "smtp", "correo_web", "sms", "metricas_auth")}
        self.url = f"http://127.0.0.1:{self.puertos['gateway']}"
        self.entorno = {
            **os.environ,
            "BUZON_DATA_DIR": str(datos / "var"),
            "BUZON_DATABASE_URL": url_bd,
            "BUZON_GATEWAY_PORT": str(self.puertos["gateway"]),
            "BUZON_PUBLIC_URL": self.url,
            "BUZON_SAT_CA_DIR": str(self.pki.carpeta_ca),
            "BUZON_OCSP_URL": f"http://127.0.0.1:{self.puertos['ocsp']}/",
            "BUZON_SMTP_HOST": "127.0.0.1",
            "BUZON_SMTP_PORT": str(self.puertos["smtp"]),
            "BUZON_SMS_URL": f"http://127.0.0.1:{self.puertos['sms']}/sms",
            "BUZON_VENTANA_VALIDACION_S": "3600",
            "BUZON_METRICAS_PUERTO": "0",
            "BUZON_METRICAS_PUERTO_AUTH": str(self.puertos["metricas_auth"]),
        }
        self.sustitutos = {}

    def lanzar_sustitutos(self) -> None:
        comandos = {
            "ocsp": ["ocsp", "--carpeta", str(self.pki.carpeta), "--puerto", str(self.puertos["ocsp"])],
            "correo": ["correo", "servir", "--carpeta", str(self.datos / "correo"),
                       "--puerto-smtp", str(self.puertos["smtp"]), "--puerto-web", str(self.puertos["correo_web"])],
            "sms": ["sms", "servir", "--carpeta", str(self.datos / "sms"), "--puerto", str(self.puertos["sms"])],
        }
        for nombre, argumentos in comandos.items():
            self.sustitutos[nombre] = subprocess.Popen([str(BIN / "buzon-dev"), *argumentos], env=self.entorno,
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for puerto in ("ocsp", "smtp", "sms"):
            esperar_puerto(self.puertos[puerto])

    def make(self, objetivo: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "-s", objetivo], cwd=RAIZ, env=self.entorno, capture_output=True, text=True,
                              timeout=300)

    def detener(self) -> None:
        self.make("down")
        for proceso in self.sustitutos.values():
            if proceso.poll() is None:
                proceso.send_signal(signal.SIGTERM)
                proceso.wait(timeout=10)


@pytest.fixture(scope="module")
def sistema(tmp_path_factory, url_bd):
    sistema = Sistema(tmp_path_factory.mktemp("e2e"), url_bd)
    sistema.lanzar_sustitutos()
    try:
        arriba = sistema.make("up")
        assert arriba.returncode == 0, arriba.stdout + arriba.stderr
        yield sistema
    finally:
        sistema.detener()
    assert not requests_ok(sistema.url + "/health"), "make down dejó el sistema en marcha"


def requests_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def efirma(sistema):
    return sistema.pki.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")


def login(sistema, emitido) -> requests.Response:
    reto = requests.post(f"{sistema.url}/api/v1/sesiones/retos").json()["reto"]
    return requests.post(f"{sistema.url}/api/v1/sesiones", json={
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
    sistema.sustitutos["ocsp"].terminate()
    sistema.sustitutos["ocsp"].wait(timeout=10)
    respuesta = login(sistema, sin_respuesta)
    assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (503, "revocacion_no_disponible")
