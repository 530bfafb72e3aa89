"""A whole system for tests: started with `make up` on a database, data folder, RabbitMQ vhost and free ports of
its own, with the development stand-ins as separate processes, as an integrator (or an operator) sees it.

The end-to-end tests (tests/conftest.py) and the fault suite (buzon_dev.fallas) both drive one of these.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from buzon_dev.documentos import FirmaDocumentos, carpeta_de_pruebas
from buzon_dev.pki import PKI
from buzon_dev.pruebas import b64, firmar

BIN = Path(sys.executable).parent
VENTANA_S = 15


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
    """The whole system as `make up` starts it for a test, on its own database, data folder and free ports, with
    the development stand-ins as processes of their own that reach it only through API.md's variables."""

    def __init__(self, datos: Path, url_bd: str, raiz: Path, **variables: str):
        self.datos = datos
        self.ventana_s = VENTANA_S
        self.pki = PKI.abrir(datos / "pki-sat")
        # The development CA of the Institute's documents: a deposit's PDF is signed with `self.documentos.firmar_pdf`
        # (or `firmar_pdf(pdf, carpeta_de_pruebas())`, the same key, where no system is at hand).
        self.documentos = FirmaDocumentos.abrir(carpeta_de_pruebas())
        self.puertos = {n: puerto_libre() for n in ("gateway", "ocsp", "smtp", "correo_web", "sms", "metricas_auth")}
        self.url = f"http://127.0.0.1:{self.puertos['gateway']}"
        self.api = f"{self.url}/api/v1"
        self.padron = datos / "padron.csv"
        self.padron.write_text("rfc,registro_patronal,razon_social\n"
                               "EDE0101013A2,Y6012345107,EMPRESA DE DEMOSTRACION SA DE CV\n"
                               "EDE0101013A2,E8512345100,EMPRESA DE DEMOSTRACION SA DE CV\n"
                               "PAT020202AB1,B1111111110,PATRONAL DE PRUEBAS SA DE CV\n"
                               "PAT020202AB1,B2222222220,PATRONAL DE PRUEBAS SA DE CV\n"
                               "NAV030303AB4,N1111111110,NAVEGACION DE PRUEBAS SA DE CV\n"
                               "NAV030303AB4,N2222222220,NAVEGACION DE PRUEBAS SA DE CV\n"
                               "HOS060606AB1,H1111111110,HOSTIL DE PRUEBAS SA DE CV\n"
                               "HOS060606AB1,H2222222220,HOSTIL DE PRUEBAS SA DE CV\n"
                               "NOT050505AB1,T1111111110,NOTIFICADA DE PRUEBAS SA DE CV\n"
                               "NOT050505AB1,T2222222220,NOTIFICADA DE PRUEBAS SA DE CV\n", encoding="utf-8")
        self.entorno = {
            **os.environ,
            "BUZON_DATA_DIR": str(datos / "var"),
            "BUZON_DATABASE_URL": url_bd,
            "BUZON_GATEWAY_PORT": str(self.puertos["gateway"]),
            "BUZON_PUBLIC_URL": self.url,
            "BUZON_SAT_CA_DIR": str(self.pki.carpeta_ca),
            "BUZON_DOCUMENTOS_CA_DIR": str(self.documentos.carpeta_ca),
            "BUZON_OCSP_URL": f"http://127.0.0.1:{self.puertos['ocsp']}/",
            "BUZON_SMTP_HOST": "127.0.0.1",
            "BUZON_SMTP_PORT": str(self.puertos["smtp"]),
            "BUZON_SMS_URL": f"http://127.0.0.1:{self.puertos['sms']}/sms",
            "BUZON_PADRON_CSV": str(self.padron),
            "BUZON_VENTANA_VALIDACION_S": str(VENTANA_S),
            "BUZON_REINTENTOS_S": "1,2,5,10,60",
            "BUZON_METRICAS_PUERTO": "0",
            "BUZON_METRICAS_PUERTO_AUTH": str(self.puertos["metricas_auth"]),
            # The tests stand for a load balancer on this machine: X-Forwarded-For names the client they play.
            "BUZON_PROXIES_CONFIABLES": "127.0.0.1",
            **variables,
        }
        self.raiz = raiz
        self.sustitutos = {}

    def lanzar_sustituto(self, nombre: str) -> None:
        comandos = {
            "ocsp": ["ocsp", "--carpeta", str(self.pki.carpeta), "--puerto", str(self.puertos["ocsp"])],
            "correo": ["correo", "servir", "--carpeta", str(self.datos / "correo"),
                       "--puerto-smtp", str(self.puertos["smtp"]), "--puerto-web", str(self.puertos["correo_web"])],
            "sms": ["sms", "servir", "--carpeta", str(self.datos / "sms"), "--puerto", str(self.puertos["sms"])],
        }
        self.sustitutos[nombre] = subprocess.Popen([str(BIN / "buzon-dev"), *comandos[nombre]], env=self.entorno,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        esperar_puerto(self.puertos["smtp" if nombre == "correo" else nombre])

    def detener_sustituto(self, nombre: str) -> None:
        proceso = self.sustitutos.pop(nombre)
        if proceso.poll() is None:
            proceso.send_signal(signal.SIGTERM)
            proceso.wait(timeout=10)

    @contextmanager
    def en_marcha(self):
        """The stand-ins, then `make up`; at the end `make down` and the stand-ins stopped, whatever happened."""
        for nombre in ("ocsp", "correo", "sms"):
            self.lanzar_sustituto(nombre)
        try:
            arriba = self.make("up")
            assert arriba.returncode == 0, arriba.stdout + arriba.stderr
            yield self
        finally:
            self.make("down")
            for nombre in list(self.sustitutos):
                self.detener_sustituto(nombre)

    def make(self, objetivo: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "-s", objetivo], cwd=self.raiz, env=self.entorno, capture_output=True,
                              text=True, timeout=300)

    # --- as a person or an integrator ---

    def login(self, emitido) -> dict:
        reto = requests.post(f"{self.api}/sesiones/retos").json()["reto"]
        respuesta = requests.post(f"{self.api}/sesiones", json={
            "certificado": b64(emitido.cer_der), "reto": reto, "firma": firmar(emitido, reto)})
        assert respuesta.status_code == 201, respuesta.text
        sesion = respuesta.json()
        return {"Authorization": f"Bearer {sesion['token']}"}

    def correos(self, para: str) -> list[dict]:
        respuesta = requests.get(f"http://127.0.0.1:{self.puertos['correo_web']}/api/mensajes", params={"para": para})
        return respuesta.json()["mensajes"]

    def sms(self, para: str) -> list[dict]:
        respuesta = requests.get(f"http://127.0.0.1:{self.puertos['sms']}/api/mensajes", params={"to": para})
        return respuesta.json()["mensajes"]

    def fallar_sms(self, veces: int, estado: int = 503) -> None:
        requests.post(f"http://127.0.0.1:{self.puertos['sms']}/control", json={"fallar": veces, "estado": estado})

    def validar_medios(self, cabecera: dict, correo: str, telefono: str) -> list[dict]:
        """Register an RFC-level email and mobile and validate them as a person would: link and code."""
        from buzon_dev.pruebas import esperar

        registrados = []
        for mecanismo, valor in (("correo", correo), ("telefono", telefono)):
            respuesta = requests.post(f"{self.api}/medios-contacto", headers=cabecera,
                                      json={"mecanismo": mecanismo, "valor": valor})
            assert respuesta.status_code == 201, respuesta.text
            registrados.append(respuesta.json())
        enlace = self.enlace_de_validacion(esperar(lambda: self.correos(correo))[0])
        assert requests.get(enlace).status_code == 200
        sms = esperar(lambda: self.sms("+52" + telefono))[0]
        [codigo] = re.findall(r"(?<!\d)\d{5}(?!\d)", sms["text"])
        validado = requests.post(f"{self.api}/medios-contacto/{registrados[1]['id']}/validacion", headers=cabecera,
                                 json={"codigo": codigo})
        assert validado.status_code == 200, validado.text
        return requests.get(f"{self.api}/medios-contacto", headers=cabecera).json()["medios"]

    def activar(self, cabecera: dict, emitido) -> tuple[requests.Response, dict]:
        """Sign the Solicitud with the e.firma as the portal does: its cadena original asked for, signed, sent. The
        answer of `POST /activacion` (whatever it is) and the solicitud signed."""
        solicitud = requests.get(f"{self.api}/activacion/solicitud", headers=cabecera).json()
        respuesta = requests.post(f"{self.api}/activacion", headers=cabecera, json={
            "certificado": b64(emitido.cer_der), "firma": firmar(emitido, solicitud["cadena_original"])})
        return respuesta, solicitud

    def fallas_sms_pendientes(self) -> int:
        return requests.get(f"http://127.0.0.1:{self.puertos['sms']}/control").json()["fallar"]

    def enlace_de_validacion(self, correo: dict) -> str:
        enlaces = set(re.findall(re.escape(self.url) + r"[^\s<>\"']+", correo["texto"]))
        assert len(enlaces) == 1, enlaces
        return enlaces.pop()


def vhost_propio(nombre: str, api: str | None = None) -> str:
    """A RabbitMQ vhost for one system under test (so no other running system answers its calls); its AMQP URI."""
    api = api or os.environ.get("BUZON_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")
    requests.put(f"{api}/vhosts/{nombre}", timeout=10).raise_for_status()
    requests.put(f"{api}/permissions/{nombre}/guest", json={"configure": ".*", "write": ".*", "read": ".*"},
                 timeout=10).raise_for_status()
    return f"amqp://guest:guest@127.0.0.1:5672/{nombre}"


def borrar_vhost(nombre: str, api: str | None = None) -> None:
    api = api or os.environ.get("BUZON_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")
    requests.delete(f"{api}/vhosts/{nombre}", timeout=10)


def vaciar(url: str) -> None:
    """Drop every service's schema in the database at `url`: the next migration starts from nothing."""
    from sqlalchemy import create_engine, text

    from buzon_comun.db import normalizar_url
    from buzon_comun.migraciones import servicios_con_migraciones

    engine = create_engine(normalizar_url(url))
    try:
        with engine.begin() as conexion:
            for servicio in servicios_con_migraciones():
                conexion.execute(text(f'DROP SCHEMA IF EXISTS "{servicio}" CASCADE'))
    finally:
        engine.dispose()
