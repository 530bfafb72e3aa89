"""The citizen portal in a real browser (Debian's Chromium driven by Playwright): the e.firma signed inside the
page, and the whole guide for a Particular and a Patrón, with a screenshot of every step.

Every request the browser makes is recorded: none may carry the .key (raw or base64) or its password, and none
may leave the system's own origin.
"""
import base64
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from playwright.sync_api import expect

from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

RAIZ = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ESTATICOS = RAIZ / "gateway" / "buzon_gateway" / "static"
ARTEFACTOS = RAIZ / "artefactos" / "navegador"
SAT = Path(os.environ.get("BUZON_FIXTURES_SAT") or RAIZ.parent / "shared" / "fixtures" / "sat-pruebas")
PASSWORD_SAT = "12345678a"
CODIGO = re.compile(r"(?<!\d)\d{5}(?!\d)")

MENSAJE_PASSWORD = "La contraseña de la clave privada no es correcta."
MENSAJE_NO_CORRESPONDE = "La clave privada no corresponde al certificado."
MENSAJE_CSD = "El certificado es un CSD (sello digital), no una e.firma"
MENSAJE_AJENO = "La e.firma no corresponde al RFC con el que ingresaste."


# --- the browser -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def navegador():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no está {CHROMIUM}: `make test` instala Chromium (el paquete chromium de Debian)")
    from playwright.sync_api import sync_playwright

    # Not stopped at the end: under eventlet's monkey-patching, Playwright's stop() waits forever for the driver's
    # exit. Closing the browser is enough; the driver exits when this process ends and closes its pipe.
    playwright = sync_playwright().start()
    navegador = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"])
    yield navegador
    navegador.close()


class Registro:
    """Every request of a browser context and every script error of its pages."""

    def __init__(self, contexto):
        self.solicitudes = []
        self.errores = []
        # Playwright wraps handlers with attributes of its own: plain functions, not bound built-ins.
        contexto.on("request", lambda solicitud: self.solicitudes.append(solicitud))
        contexto.on("page", lambda pagina: pagina.on("pageerror", lambda error: self.errores.append(error)))

    def a(self, ruta: str) -> list:
        return [s for s in self.solicitudes if urlsplit(s.url).path == ruta]

    def comprobar(self, origen: str, secretos: list[tuple[bytes, str]]) -> None:
        """No request carries a secret, and every request stays on `origen`."""
        assert self.solicitudes, "el navegador no hizo ninguna solicitud"
        for solicitud in self.solicitudes:
            assert solicitud.url.startswith(origen + "/"), f"solicitud fuera del sistema: {solicitud.url}"
            cuerpo = solicitud.post_data_buffer or b""
            for key_der, password in secretos:
                for prohibido in prohibidos(key_der, password):
                    assert prohibido not in cuerpo, f"{solicitud.method} {solicitud.url} lleva la clave o su contraseña"
                    assert prohibido.decode("latin-1") not in solicitud.url
        assert not self.errores, self.errores


def prohibidos(key_der: bytes, password: str) -> list[bytes]:
    """The password and pieces of the .key that any copy of it, raw or base64 (wrapped or not), would contain."""
    en_b64 = base64.b64encode(key_der)
    en_b64url = base64.urlsafe_b64encode(key_der)
    medio = len(key_der) // 2
    return [password.encode(), key_der[medio:medio + 48], en_b64[400:448], en_b64url[400:448],
            json.dumps(password).encode()[1:-1]]


@pytest.fixture
def contexto(navegador):
    contexto = navegador.new_context(accept_downloads=True, locale="es-MX")
    contexto.set_default_timeout(20_000)
    contexto.registro = Registro(contexto)
    yield contexto
    contexto.close()


def captura(pagina, persona: str, numero: int, paso: str) -> None:
    ARTEFACTOS.mkdir(parents=True, exist_ok=True)
    pagina.screenshot(path=str(ARTEFACTOS / f"{persona}-{numero:02d}-{paso}.png"), full_page=True)


def verificar_firma(cer_der: bytes, firma_b64: str, texto: str) -> None:
    certificado = x509.load_der_x509_certificate(cer_der)
    certificado.public_key().verify(base64.b64decode(firma_b64), texto.encode("utf-8"), padding.PKCS1v15(),
                                    hashes.SHA256())


def esperar_ruta(pagina, ruta: str) -> None:
    """Waits until the page is at `ruta`. Not wait_for_url: under eventlet's monkey-patching it never returns
    when a script starts the navigation (its timers stop firing); expect() polls in the driver instead."""
    expect(pagina).to_have_url(re.compile("^[^?#]*//[^/]+" + re.escape(ruta) + "([?#].*)?$"))


def esperar_mensaje(pagina) -> str:
    """The text efirma.js puts in the alert (not wait_for_function: the CSP forbids evaluating strings)."""
    expect(pagina.locator("#mensaje")).not_to_have_text("")
    return pagina.locator("#mensaje").inner_text()


def llenar_efirma(pagina, ruta_cer, ruta_key, password: str) -> None:
    pagina.locator("#cer").set_input_files(str(ruta_cer))
    pagina.locator("#key").set_input_files(str(ruta_key))
    pagina.locator("#password").fill(password)
    pagina.locator("#boton-efirma").click()


# --- efirma.js alone, on a page with the pages' DOM served by the test ------------------------------------------

ORIGEN_PRUEBA = "http://buzon.prueba"
CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'"
CADENA = "||1.0|Activación Buzón IMSS|ROCA851010AB3|Solicitud y manifestación|ñáéíóú “comillas” <&>|2025-01-01||"


def pagina_de_prueba(accion: str) -> str:
    cadena = CADENA.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    extra = f' data-cadena="{cadena}"' if accion == "activar" else ""
    return f"""<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="csrf" content="ficha-csrf">
<title>Prueba</title><script src="/static/vendor/forge.min.js"></script><script src="/static/js/efirma.js"></script>
</head><body><form id="form-efirma" data-accion="{accion}"{extra}>
<label for="cer">Certificado (.cer)</label><input type="file" id="cer" accept=".cer">
<label for="key">Clave privada (.key)</label><input type="file" id="key" accept=".key">
<label for="password">Contraseña de la clave privada</label><input type="password" id="password">
<button id="boton-efirma" type="submit">Enviar</button><p id="mensaje" role="alert"></p></form></body></html>"""


class Simulador:
    """The gateway's side of the contract, answered inside the browser: what efirma.js sent, and what to answer."""

    def __init__(self, contexto, accion: str):
        self.recibido = []
        self.respuesta = (200, {"destino": "/buzon"})
        contexto.route(f"{ORIGEN_PRUEBA}/**", self.atender)
        self.accion = accion

    def atender(self, ruta):
        solicitud = ruta.request
        camino = urlsplit(solicitud.url).path
        if camino == "/pagina":
            return ruta.fulfill(status=200, body=pagina_de_prueba(self.accion), content_type="text/html; charset=utf-8",
                                headers={"Content-Security-Policy": CSP})
        if camino.startswith("/static/"):
            archivo = ESTATICOS / camino.removeprefix("/static/")
            return ruta.fulfill(status=200, body=archivo.read_bytes(), content_type="text/javascript")
        if camino == "/api/v1/sesiones/retos" and solicitud.method == "POST":
            return ruta.fulfill(status=201, json={"reto": "reto-de-prueba_AZ09", "expira_en": 300})
        if camino in ("/ingresar", "/activacion/firmar") and solicitud.method == "POST":
            self.recibido.append({"cuerpo": json.loads(solicitud.post_data), "csrf": solicitud.headers.get("x-csrf-token"),
                                  "tipo": solicitud.headers.get("content-type")})
            estado, cuerpo = self.respuesta
            return ruta.fulfill(status=estado, json=cuerpo)
        if camino == "/buzon":
            return ruta.fulfill(status=200, body="<!doctype html><title>Buzón</title><h1>Buzón IMSS</h1>",
                                content_type="text/html; charset=utf-8")
        return ruta.fulfill(status=404, body="no")


@pytest.fixture(scope="module")
def sat():
    if not (SAT / "fiel-moral-AAA010101AAA.cer").is_file():
        pytest.fail(f"faltan los archivos de prueba de SAT en {SAT} (defina BUZON_FIXTURES_SAT)")
    return SAT


def test_a_real_sat_key_opens_and_signs_the_challenge_in_the_page(contexto, sat):
    simulador = Simulador(contexto, "ingresar")
    pagina = contexto.new_page()
    pagina.goto(f"{ORIGEN_PRUEBA}/pagina")
    llenar_efirma(pagina, sat / "fiel-moral-AAA010101AAA.cer", sat / "fiel-moral-AAA010101AAA.key", PASSWORD_SAT)
    esperar_ruta(pagina, "/buzon")

    [envio] = simulador.recibido
    cer_der = (sat / "fiel-moral-AAA010101AAA.cer").read_bytes()
    assert envio["csrf"] == "ficha-csrf" and envio["tipo"] == "application/json"
    assert set(envio["cuerpo"]) == {"certificado", "reto", "firma"}
    assert base64.b64decode(envio["cuerpo"]["certificado"]) == cer_der
    assert envio["cuerpo"]["reto"] == "reto-de-prueba_AZ09"
    verificar_firma(cer_der, envio["cuerpo"]["firma"], "reto-de-prueba_AZ09")
    contexto.registro.comprobar(ORIGEN_PRUEBA, [((sat / "fiel-moral-AAA010101AAA.key").read_bytes(), PASSWORD_SAT)])


def test_the_activation_signs_exactly_the_string_in_the_page(contexto, sat):
    simulador = Simulador(contexto, "activar")
    simulador.respuesta = (200, {"destino": "/buzon"})
    pagina = contexto.new_page()
    pagina.goto(f"{ORIGEN_PRUEBA}/pagina")
    llenar_efirma(pagina, sat / "fiel-fisica-XIQB891116QE4.cer", sat / "fiel-fisica-XIQB891116QE4.key", PASSWORD_SAT)
    esperar_ruta(pagina, "/buzon")

    [envio] = simulador.recibido
    cer_der = (sat / "fiel-fisica-XIQB891116QE4.cer").read_bytes()
    assert set(envio["cuerpo"]) == {"certificado", "firma"} and envio["csrf"] == "ficha-csrf"
    verificar_firma(cer_der, envio["cuerpo"]["firma"], CADENA)
    assert contexto.registro.a("/api/v1/sesiones/retos") == []
    contexto.registro.comprobar(ORIGEN_PRUEBA, [((sat / "fiel-fisica-XIQB891116QE4.key").read_bytes(), PASSWORD_SAT)])


def test_a_wrong_password_or_a_key_of_another_certificate_is_told_without_sending_anything(contexto, sat):
    Simulador(contexto, "ingresar")
    pagina = contexto.new_page()
    pagina.goto(f"{ORIGEN_PRUEBA}/pagina")
    llenar_efirma(pagina, sat / "fiel-moral-AAA010101AAA.cer", sat / "fiel-moral-AAA010101AAA.key", "otra-clave")
    mensaje = pagina.get_by_role("alert")
    esperar_mensaje(pagina)
    assert mensaje.inner_text() == MENSAJE_PASSWORD
    assert pagina.locator("#password").input_value() == ""
    assert pagina.locator("#boton-efirma").is_enabled()

    llenar_efirma(pagina, sat / "fiel-moral-AAA010101AAA.cer", sat / "fiel-fisica-XIQB891116QE4.key", PASSWORD_SAT)
    expect(pagina.get_by_role("alert")).to_have_text(MENSAJE_NO_CORRESPONDE)
    assert contexto.registro.a("/ingresar") == [] and contexto.registro.a("/api/v1/sesiones/retos") == []
    contexto.registro.comprobar(ORIGEN_PRUEBA, [((sat / "fiel-moral-AAA010101AAA.key").read_bytes(), PASSWORD_SAT)])


@pytest.mark.parametrize(("codigo", "esperado"), [
    ("no_es_efirma", MENSAJE_CSD),
    ("certificado_vencido", "Tu e.firma está vencida"),
    ("certificado_ajeno", MENSAJE_AJENO),
    ("codigo_nuevo", "Mensaje del servidor."),
])
def test_each_error_code_of_the_server_gets_its_message(contexto, sat, codigo, esperado):
    simulador = Simulador(contexto, "ingresar")
    simulador.respuesta = (401, {"error": {"codigo": codigo, "mensaje": "Mensaje del servidor."}})
    pagina = contexto.new_page()
    pagina.goto(f"{ORIGEN_PRUEBA}/pagina")
    llenar_efirma(pagina, sat / "fiel-moral-AAA010101AAA.cer", sat / "fiel-moral-AAA010101AAA.key", PASSWORD_SAT)
    esperar_mensaje(pagina)
    assert pagina.get_by_role("alert").inner_text().startswith(esperado)
    assert pagina.url == f"{ORIGEN_PRUEBA}/pagina" and pagina.locator("#boton-efirma").is_enabled()


def test_a_destination_off_the_site_is_not_followed(contexto, sat):
    simulador = Simulador(contexto, "ingresar")
    simulador.respuesta = (200, {"destino": "//otro.sitio/robar"})
    pagina = contexto.new_page()
    pagina.goto(f"{ORIGEN_PRUEBA}/pagina")
    llenar_efirma(pagina, sat / "fiel-moral-AAA010101AAA.cer", sat / "fiel-moral-AAA010101AAA.key", PASSWORD_SAT)
    esperar_mensaje(pagina)
    assert pagina.url == f"{ORIGEN_PRUEBA}/pagina"
    contexto.registro.comprobar(ORIGEN_PRUEBA, [])


# --- the real system ---------------------------------------------------------------------------------------------

def exigir_paginas() -> None:
    """The portal's pages come with gateway/buzon_gateway/portal.py: say so plainly while it isn't there."""
    portal = RAIZ / "gateway" / "buzon_gateway" / "portal.py"
    if not portal.is_file() or "/ingresar" not in portal.read_text(encoding="utf-8"):
        pytest.fail("faltan las páginas del portal (gateway/buzon_gateway/portal.py con /ingresar)")


def ingresar(pagina, sistema, emitido, password: str | None = None) -> None:
    pagina.goto(f"{sistema.url}/ingresar")
    llenar_efirma(pagina, emitido.ruta_cer, emitido.ruta_key, password or emitido.password)


def test_login_with_a_development_efirma_lands_on_the_buzon(sistema, contexto):
    exigir_paginas()
    emitido = sistema.pki.emitir("NAVE700707AB4", "NAVEGANTE DE PRUEBA", "NAVE700707HDFVGN08")
    pagina = contexto.new_page()
    ingresar(pagina, sistema, emitido)
    esperar_ruta(pagina, "/buzon")
    assert len(contexto.registro.a("/ingresar")) == 2  # the page, then the signed challenge
    contexto.registro.comprobar(sistema.url, [(emitido.key_der, emitido.password)])


def test_a_wrong_password_is_told_and_nothing_is_sent(sistema, contexto):
    exigir_paginas()
    emitido = sistema.pki.emitir("NAVE700707AB4", "NAVEGANTE DE PRUEBA", "NAVE700707HDFVGN08")
    pagina = contexto.new_page()
    ingresar(pagina, sistema, emitido, password="no-es-la-clave")
    esperar_mensaje(pagina)
    assert pagina.get_by_role("alert").inner_text() == MENSAJE_PASSWORD
    assert [s.method for s in contexto.registro.a("/ingresar")] == ["GET"]
    contexto.registro.comprobar(sistema.url, [(emitido.key_der, emitido.password)])


def test_a_csd_is_refused_as_not_an_efirma(sistema, contexto):
    exigir_paginas()
    csd = sistema.pki.emitir("NAV0707079B1", "NAVEGACION SA DE CV", tipo="csd", sucursal="MATRIZ")
    pagina = contexto.new_page()
    ingresar(pagina, sistema, csd)
    esperar_mensaje(pagina)
    assert pagina.get_by_role("alert").inner_text().startswith(MENSAJE_CSD)
    assert pagina.url == f"{sistema.url}/ingresar"
    contexto.registro.comprobar(sistema.url, [(csd.key_der, csd.password)])


# --- the whole guide ---------------------------------------------------------------------------------------------

PERSONAS = {
    # RFCs no other test uses; the Patrón's Registros Patronales are in the test padrón (tests/conftest.py).
    "particular": dict(rfc="ROCA851010AB3", nombre="ROBERTO CASTRO AGUILAR", curp="ROCA851010HDFSGB09",
                       correo="roberto.castro@navegador.mx", telefono="5531415926"),
    "patron": dict(rfc="NAV030303AB4", nombre="NAVEGACION DE PRUEBAS SA DE CV", curp=None,
                   rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09",
                   correo="buzon@navegador-ede.mx", telefono="5527182818", correo_rp="rp@navegador-ede.mx"),
}


class Guia:
    """One person walking the guide in the browser, with a numbered screenshot per step."""

    def __init__(self, sistema, pagina, persona: str):
        self.sistema, self.pagina, self.persona, self.paso = sistema, pagina, persona, 0

    def captura(self, nombre: str) -> None:
        self.paso += 1
        captura(self.pagina, self.persona, self.paso, nombre)

    def boton(self, nombre: str):
        return self.pagina.get_by_role("button", name=nombre, exact=True)

    def accion(self, donde, nombre: str):
        """A control that the pages may render as a link or a button."""
        return donde.get_by_role("link", name=nombre).or_(donde.get_by_role("button", name=nombre)).first

    def exito(self):
        return self.pagina.get_by_role("status")

    def nuevo_medio(self, mecanismo: str, valor: str, todos_los_rps: bool = False) -> None:
        pagina = self.pagina
        pagina.goto(f"{self.sistema.url}/medios-contacto")
        self.accion(pagina, "Nuevo medio de contacto").click()
        if todos_los_rps:
            pagina.get_by_role("link", name="Medio de Contacto de Registros Patronales").click()
            pagina.get_by_label("Seleccionar todos los Registros Patronales").check()
        pagina.get_by_label("Mecanismo de Comunicación").select_option(label=mecanismo)
        pagina.get_by_label("Medio de Contacto", exact=True).fill(valor)
        self.captura(f"nuevo-{'rp-' if todos_los_rps else ''}{'correo' if '@' in valor else 'telefono'}")
        self.boton("Guardar").click()
        pagina.get_by_text("¿Desea continuar con el trámite para el Registro de su medio de contacto?").wait_for()
        self.captura("confirmacion")
        self.boton("Aceptar").click()
        caja = self.exito()
        caja.get_by_text("Folio").first.wait_for()
        assert "Fecha" in caja.inner_text() and "Hora" in caja.inner_text()
        self.captura("registrado")
        self.accion(pagina, "Regresar").click()

    def descargar(self, enlace) -> bytes:
        """Waits until the acuse exists (its PDF is rendered over the bus a moment later), then downloads it."""
        url = enlace.get_attribute("href")
        esperar(lambda: self.pagina.request.get(self.sistema.url + url if url.startswith("/") else url).ok, plazo=60)
        with self.pagina.expect_download() as descarga:
            enlace.click()
        contenido = Path(descarga.value.path()).read_bytes()
        assert contenido.startswith(b"%PDF"), contenido[:40]
        return contenido


@pytest.mark.parametrize("persona", ["particular", "patron"])
def test_the_whole_guide_in_the_browser(sistema, contexto, persona):
    exigir_paginas()
    datos = PERSONAS[persona]
    emitido = sistema.pki.emitir(datos["rfc"], datos["nombre"], datos["curp"],
                                 rfc_representante=datos.get("rfc_representante"),
                                 curp_representante=datos.get("curp_representante"))
    pagina = contexto.new_page()
    guia = Guia(sistema, pagina, persona)

    # 1. The home page, and the login with the e.firma signed in the page.
    pagina.goto(sistema.url + "/")
    guia.captura("inicio")
    pagina.goto(f"{sistema.url}/ingresar")
    pagina.locator("#cer").set_input_files(str(emitido.ruta_cer))
    pagina.locator("#key").set_input_files(str(emitido.ruta_key))
    pagina.locator("#password").fill(emitido.password)
    guia.captura("ingresar")
    pagina.locator("#boton-efirma").click()
    esperar_ruta(pagina, "/buzon")
    guia.captura("buzon")

    # 2. An email, validated with the link the mail sink received.
    guia.nuevo_medio("Correo Electrónico", datos["correo"])
    correo = esperar(lambda: sistema.correos(datos["correo"]))[0]
    pagina.goto(sistema.enlace_de_validacion(correo))
    guia.accion(pagina, "Cerrar").wait_for()
    guia.captura("correo-validado")
    guia.accion(pagina, "Cerrar").click()

    # A mobile, validated with the code the SMS sink received.
    guia.nuevo_medio("Teléfono", datos["telefono"])
    sms = esperar(lambda: sistema.sms("+52" + datos["telefono"]))[0]
    [codigo] = CODIGO.findall(sms["text"])
    pagina.goto(f"{sistema.url}/medios-contacto")
    fila = pagina.get_by_role("row").filter(has_text=datos["telefono"])
    guia.accion(fila, "Validar medio de contacto").click()
    pagina.get_by_text("Validación de Celular").first.wait_for()
    pagina.get_by_label("Código de verificación").fill(codigo)
    guia.captura("codigo-celular")
    guia.boton("Aceptar").click()
    guia.exito().get_by_role("link", name="aquí").wait_for()
    guia.captura("celular-validado")

    if persona == "patron":
        # An email for every Registro Patronal (the link goes back to the tablero afterwards).
        guia.nuevo_medio("Correo Electrónico", datos["correo_rp"], todos_los_rps=True)
        pagina.goto(f"{sistema.url}/medios-contacto")
        assert pagina.get_by_role("row").filter(has_text=datos["correo_rp"]).count() >= 1
        guia.captura("medio-rp")

    # 3. Activation: requisitos, "Aceptar", the Solicitud signed in the page, then its acuse.
    pagina.goto(f"{sistema.url}/medios-contacto")
    guia.captura("medios-validados")
    pagina.goto(f"{sistema.url}/activacion")
    pagina.get_by_text("Activación Buzón IMSS").first.wait_for()
    guia.captura("activacion")
    guia.boton("Aceptar").click()
    pagina.locator("#form-efirma[data-accion='activar']").wait_for()
    pagina.locator("#cer").set_input_files(str(emitido.ruta_cer))
    pagina.locator("#key").set_input_files(str(emitido.ruta_key))
    pagina.locator("#password").fill(emitido.password)
    guia.captura("firma-solicitud")
    pagina.locator("#boton-efirma").click()
    pagina.locator("#form-efirma").wait_for(state="detached")
    pagina.get_by_text(re.compile(r"\bactivo\b", re.I)).first.wait_for()
    guia.captura("activo")
    acuse = guia.descargar(guia.accion(pagina, "Descargar"))
    assert acuse

    # The acuse of a medio, from the list.
    pagina.goto(f"{sistema.url}/medios-contacto")
    fila = pagina.get_by_role("row").filter(has_text=datos["correo"])
    guia.descargar(fila.get_by_role("link", name=re.compile("acuse", re.I)).first)
    guia.captura("acuses")

    # After activation: Promociones Electrónicas → Aclaraciones u Orientaciones, recorded with a folio and an acuse.
    pagina.goto(f"{sistema.url}/buzon")
    guia.accion(pagina, "Promociones Electrónicas").click()
    pagina.get_by_text("Activación Buzón IMSS").first.wait_for()
    pagina.get_by_label("Planteamiento").fill("Solicito orientación sobre los avisos que recibiré en mi Buzón.")
    guia.captura("aclaracion")
    guia.boton("Enviar").click()
    guia.exito().get_by_text("Folio").first.wait_for()
    assert "ACL-" in guia.exito().inner_text()
    guia.captura("aclaracion-presentada")
    guia.descargar(guia.exito().get_by_role("link", name="Descargar acuse"))

    contexto.registro.comprobar(sistema.url, [(emitido.key_der, emitido.password)])
