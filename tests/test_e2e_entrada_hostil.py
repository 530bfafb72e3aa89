"""Hostile input through the gateway of the system `make up` started: every case answers its 4xx of the contract,
never a 500 and never a stall, and another person's calls keep being answered meanwhile."""
import http.client
import json
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from buzon_dev.pruebas import b64, esperar, firmar

pytestmark = pytest.mark.e2e

# Far from a benchmark: a stalled process would keep the other person waiting for seconds.
PLAZO_OTRA_PERSONA_S = 3.0


@pytest.fixture(scope="module")
def persona(sistema):
    emitido = sistema.pki.emitir("HOST800101AB1", "HUGO OSORIO TAPIA", "HOST800101HDFSTR09")
    return emitido, sistema.login(emitido)


@pytest.fixture(scope="module")
def patron(sistema):
    emitido = sistema.pki.emitir("HOS060606AB1", "HOSTIL DE PRUEBAS SA DE CV",
                                 rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09")
    return sistema.login(emitido)


def error_de(respuesta) -> tuple[int, str | None]:
    try:
        return respuesta.status_code, respuesta.json()["error"]["codigo"]
    except ValueError:
        return respuesta.status_code, None


def crudo(sistema, metodo: str, ruta: str, cuerpo: bytes = b"", cabeceras: dict | None = None,
          trozos: list[bytes] | None = None) -> tuple[int, bytes]:
    """A request exactly as written (no client-side clean-up of the path), optionally with a chunked body."""
    conexion = http.client.HTTPConnection(urlsplit(sistema.url).netloc, timeout=30)
    try:
        if trozos is None:
            conexion.request(metodo, ruta, body=cuerpo, headers=cabeceras or {})
        else:
            conexion.putrequest(metodo, ruta)
            for nombre, valor in {**(cabeceras or {}), "Transfer-Encoding": "chunked"}.items():
                conexion.putheader(nombre, valor)
            conexion.endheaders()
            for trozo in trozos:
                conexion.send(b"%x\r\n%s\r\n" % (len(trozo), trozo))
            conexion.send(b"0\r\n\r\n")
        respuesta = conexion.getresponse()
        return respuesta.status, respuesta.read()
    finally:
        conexion.close()


def codigo_de(cuerpo: bytes) -> str | None:
    try:
        return json.loads(cuerpo)["error"]["codigo"]
    except (ValueError, KeyError, TypeError):
        return None


class OtraPersona:
    """Someone else using the system while the hostile requests run: how long each of their calls waits."""

    def __init__(self, sistema, cabecera):
        self.url = f"{sistema.api}/sesiones/actual"
        self.cabecera = cabecera
        self.esperas: list[float] = []
        self.fallas: list[int] = []
        self._parar = threading.Event()
        self._hilo = threading.Thread(target=self._usar, daemon=True)

    def _usar(self):
        while not self._parar.is_set():
            inicio = time.monotonic()
            respuesta = requests.get(self.url, headers=self.cabecera, timeout=30)
            self.esperas.append(time.monotonic() - inicio)
            if respuesta.status_code != 200:
                self.fallas.append(respuesta.status_code)
            time.sleep(0.05)

    def __enter__(self):
        self._hilo.start()
        return self

    def __exit__(self, *_):
        self._parar.set()
        self._hilo.join(timeout=40)


@pytest.fixture
def otra_persona(sistema):
    emitido = sistema.pki.emitir("OTRA800101AB1", "OSCAR TREJO RAMIREZ", "OERT800101HDFRRS01")
    with OtraPersona(sistema, sistema.login(emitido)) as otra:
        yield otra
    assert otra.esperas, "la otra persona no hizo ninguna llamada"
    assert not otra.fallas, otra.fallas
    assert max(otra.esperas) < PLAZO_OTRA_PERSONA_S, max(otra.esperas)


def test_bodies_that_break_parsers_get_the_contracts_4xx(sistema, persona, otra_persona):
    _, cabecera = persona
    json_ = {**cabecera, "Content-Type": "application/json"}
    casos = [
        # Nested far past Python's recursion limit, as a whole body and inside a field.
        ("POST", "/api/v1/sesiones", b"[" * 500_000, 400, "solicitud_invalida"),
        ("POST", "/api/v1/medios-contacto",
         b'{"mecanismo": "correo", "valor": "a@b.mx", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         400, "solicitud_invalida"),
        # A field of the wrong type, and a body over 1 MiB.
        ("POST", "/api/v1/medios-contacto", b'{"mecanismo": "correo", "valor": ["a@b.mx"]}', 400,
         "solicitud_invalida"),
        ("POST", "/api/v1/medios-contacto", b'{"valor": "' + b"a" * (1024 * 1024) + b'"}', 413,
         "solicitud_demasiado_grande"),
        # Lone surrogates and NUL: each field's own code.
        ("POST", "/api/v1/sesiones", b'{"certificado": "QUJD", "reto": "\\ud800", "firma": "QUJD"}', 401,
         "reto_invalido"),
        ("POST", "/api/v1/sesiones", b'{"certificado": "QUJD", "reto": "a\\u0000b", "firma": "QUJD"}', 401,
         "reto_invalido"),
        ("POST", "/api/v1/medios-contacto/validaciones", b'{"token": "\\udfff"}', 404, "token_invalido"),
        ("POST", "/api/v1/medios-contacto/validaciones", b'{"token": "x\\u0000"}', 404, "token_invalido"),
        ("POST", "/api/v1/medios-contacto", b'{"mecanismo": "correo", "valor": "ana\\ud800@example.mx"}', 422,
         "correo_invalido"),
        ("POST", "/api/v1/medios-contacto", b'{"mecanismo": "telefono", "valor": "55\\u00001234567"}', 422,
         "telefono_invalido"),
        ("POST", "/api/v1/medios-contacto", b'{"mecanismo": "correo\\ud800", "valor": "a@b.mx"}', 422,
         "mecanismo_invalido"),
    ]
    for metodo, ruta, cuerpo, estado, codigo in casos:
        obtenido, contenido = crudo(sistema, metodo, ruta, cuerpo, json_)
        assert (obtenido, codigo_de(contenido)) == (estado, codigo), (ruta, cuerpo[:80])


def test_a_json_call_with_another_content_type_is_415(sistema, persona):
    _, cabecera = persona
    for tipo in ("text/plain", "application/x-www-form-urlencoded"):
        respuesta = requests.post(f"{sistema.api}/medios-contacto", headers={**cabecera, "Content-Type": tipo},
                                  data='{"mecanismo": "correo", "valor": "a@b.mx"}')
        assert error_de(respuesta) == (415, "tipo_contenido_no_soportado")


def test_nul_in_a_path_is_not_found(sistema, persona, otra_persona):
    _, cabecera = persona
    for metodo, ruta in (("GET", "/api/v1/acuses/REG-2026-00000001%00/verificacion?codigo=AAAAAAAAAAAAAAAA"),
                         ("DELETE", "/api/v1/medios-contacto/abc%00def"),
                         ("POST", "/api/v1/medios-contacto/abc%00def/validacion"),
                         ("GET", "/api/v1/medios-contacto/abc%00/acuses/registro")):
        estado, contenido = crudo(sistema, metodo, ruta, b'{"codigo": "12345"}' if metodo == "POST" else b"",
                                  {**cabecera, "Content-Type": "application/json"})
        assert (estado, codigo_de(contenido)) == (404, "no_encontrado"), ruta
    estado, contenido = crudo(sistema, "GET", "/medios-contacto/validar/abc%00def")
    assert estado == 404 and b"<html" in contenido


def test_a_chunked_body_is_read_whole_and_bounded(sistema, otra_persona):
    emitido = sistema.pki.emitir("CHUN800101AB1", "CARLOS HUERTA UNDA", "CAHU800101HDFRNR02")
    reto = requests.post(f"{sistema.api}/sesiones/retos").json()["reto"]
    cuerpo = json.dumps({"certificado": b64(emitido.cer_der), "reto": reto, "firma": firmar(emitido, reto)}).encode()
    trozos = [cuerpo[i:i + 100] for i in range(0, len(cuerpo), 100)]
    estado, contenido = crudo(sistema, "POST", "/api/v1/sesiones", cabeceras={"Content-Type": "application/json"},
                              trozos=trozos)
    assert estado == 201 and json.loads(contenido)["rfc"] == "CHUN800101AB1"
    estado, contenido = crudo(sistema, "POST", "/api/v1/sesiones", cabeceras={"Content-Type": "application/json"},
                              trozos=[b"[" * 65536] * 17)
    assert (estado, codigo_de(contenido)) == (413, "solicitud_demasiado_grande")


def test_a_list_of_forty_thousand_rps_is_refused_at_once(sistema, patron, otra_persona):
    cuerpo = {"mecanismo": "correo", "valor": "rps@hostil-pruebas.mx",
              "registros_patronales": [f"H{i:010d}" for i in range(40_000)]}
    inicio = time.monotonic()
    respuesta = requests.post(f"{sistema.api}/medios-contacto", headers=patron, json=cuerpo)
    assert error_de(respuesta) == (422, "registro_patronal_ajeno")
    assert time.monotonic() - inicio < PLAZO_OTRA_PERSONA_S
    # A thousand repeats of its own two RPs are fine: de-duplicated to the two.
    cuerpo["registros_patronales"] = ["H1111111110", "H2222222220"] * 500
    respuesta = requests.post(f"{sistema.api}/medios-contacto", headers=patron, json=cuerpo)
    assert respuesta.status_code == 201, respuesta.text
    assert respuesta.json()["registros_patronales"] == ["H1111111110", "H2222222220"]


def test_portal_forms_with_too_many_parts_or_a_nul_get_a_page(sistema, persona, otra_persona):
    _, cabecera = persona
    token = cabecera["Authorization"].split()[1]
    cookies = {"buzon_sesion": token}
    partes = {f"campo{i}": "x" for i in range(1200)}
    respuesta = requests.post(f"{sistema.url}/medios-contacto/nuevo", cookies=cookies, files=partes,
                              allow_redirects=False)
    assert respuesta.status_code == 413 and "text/html" in respuesta.headers["Content-Type"]
    urlencoded = requests.post(f"{sistema.url}/medios-contacto/nuevo", cookies=cookies,
                               data={f"c{i}": "x" for i in range(10_000)}, allow_redirects=False)
    assert urlencoded.status_code == 413
    # A NUL in a field is a wrong value like any other: the form comes back (here the CSRF token is wrong).
    nul = requests.post(f"{sistema.url}/medios-contacto/nuevo", cookies=cookies,
                        data={"csrf": "a\x00b", "mecanismo": "correo", "valor": "a\x00@b.mx"}, allow_redirects=False)
    assert nul.status_code == 403 and "text/html" in nul.headers["Content-Type"]


def test_head_of_the_email_link_does_not_validate_it(sistema, persona):
    _, cabecera = persona
    respuesta = requests.post(f"{sistema.api}/medios-contacto", headers=cabecera,
                              json={"mecanismo": "correo", "valor": "hugo.head@example.mx"})
    assert respuesta.status_code == 201, respuesta.text
    enlace = sistema.enlace_de_validacion(esperar(lambda: sistema.correos("hugo.head@example.mx"))[0])
    assert requests.head(enlace).status_code == 200
    medios = requests.get(f"{sistema.api}/medios-contacto", headers=cabecera).json()["medios"]
    assert next(m for m in medios if m["id"] == respuesta.json()["id"])["estado"] == "pendiente"
    assert requests.get(enlace).status_code == 200
    medios = requests.get(f"{sistema.api}/medios-contacto", headers=cabecera).json()["medios"]
    assert next(m for m in medios if m["id"] == respuesta.json()["id"])["estado"] == "validado"


def test_an_unknown_query_value_is_refused_as_the_document_says(sistema, persona):
    _, cabecera = persona
    respuesta = requests.get(f"{sistema.api}/medios-contacto", headers=cabecera, params={"estado": "AAA"})
    assert error_de(respuesta) == (400, "solicitud_invalida")


def test_no_secret_reaches_the_log(sistema, tmp_path):
    """The whole log of this run (every service and the gateway) holds none of the secrets the flow handled:
    the session token, the email link's token, the SMS code, the e.firma's password, the códigos de verificación."""
    emitido = sistema.pki.emitir("SECR800101AB1", "SERGIO ECHEVERRIA RUIZ", "SECR800101HDFCZR03",
                                 password="clave-de-la-prueba-7Qx")
    cabecera = sistema.login(emitido)
    secretos = {"token de sesión": cabecera["Authorization"].split()[1], "contraseña": emitido.password}
    medios = sistema.validar_medios(cabecera, "sergio.secretos@example.mx", "5566778899")
    enlace = sistema.enlace_de_validacion(next(correo for correo in sistema.correos("sergio.secretos@example.mx")
                                               if sistema.url in correo["texto"]))
    secretos["token del enlace"] = enlace.rsplit("/", 1)[1]
    [codigo] = [c for sms in sistema.sms("+525566778899") for c in re.findall(r"(?<!\d)\d{5}(?!\d)", sms["text"])]
    secretos["código SMS"] = codigo
    for medio in medios:
        registro = esperar(lambda: next(m for m in requests.get(f"{sistema.api}/medios-contacto",
                                                                headers=cabecera).json()["medios"]
                                        if m["id"] == medio["id"])["codigos_verificacion"]["registro"])
        secretos[f"código de verificación {medio['folio']}"] = registro
        requests.get(f"{sistema.api}/acuses/{medio['folio']}/verificacion", params={"codigo": registro})
    requests.delete(f"{sistema.api}/sesiones/actual", headers=cabecera)
    time.sleep(1)  # the processes write their last lines
    bitacora = (sistema.datos / "var" / "buzon.log").read_text(errors="replace")
    assert "medios-contacto/validar/<token>" in bitacora  # the access log is there, with templates
    for nombre, secreto in secretos.items():
        # Bounded by non-digits, so that a five-digit code isn't found inside a longer number (a folio).
        assert not re.search(rf"(?<![0-9A-Za-z_-]){re.escape(secreto)}(?![0-9A-Za-z_-])", bitacora), nombre
