"""The citizen portal in a real browser (Debian's Chromium driven by Playwright): the e.firma signed inside the
page, and the whole guide for a Particular and a Patrón, on a desktop and at a phone's 375 px, with a screenshot of
every page (artefactos/navegador/, named by width, person and step), the emails and SMS as they arrived included.
After the activation each walk opens a notification of the Buzón (issue 13) deposited through the API: the count on
the main screen, the list, the acuse de recibo signed in the page, the document and the acuse de notificación.

Every page is measured (nothing wider than the window, nothing scrolling sideways inside it) and checked by
axe-core (tests/vendor, from the npm registry: `make vendor`): no serious or critical violation. Every request the
browser makes is recorded: none may carry the .key (raw or base64) or its password, and none may leave the
system's own origin.
"""
import base64
import datetime as dt
import hashlib
import json
import os
import re
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from playwright.sync_api import expect

from buzon_comun.config import Config
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64, esperar
from buzon_gateway.notificaciones_buzon import clave_desarrollo

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


# --- the whole guide, on a desktop and at phone width -------------------------------------------------------------

# The widths the guide is walked at: a desktop, and a phone (375 px wide, twice the pixels, a touch screen).
ANCHOS = {
    1280: dict(viewport={"width": 1280, "height": 800}),
    375: dict(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True),
}
PERSONAS = {
    # RFCs no other test uses. The Patrones' Registros Patronales: the desktop one's are in the test system's padrón
    # (buzon_dev.sistema), the phone one's are imported by `padron_movil`.
    (1280, "particular"): dict(rfc="ROCA851010AB3", nombre="ROBERTO CASTRO AGUILAR", curp="ROCA851010HDFSGB09",
                               correo="roberto.castro@navegador.mx", telefono="5531415926"),
    (1280, "patron"): dict(rfc="NAV030303AB4", nombre="NAVEGACION DE PRUEBAS SA DE CV", curp=None,
                           rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09",
                           correo="buzon@navegador-ede.mx", telefono="5527182818", correo_rp="rp@navegador-ede.mx"),
    (375, "particular"): dict(rfc="MAAL920315HG8", nombre="LUCIA MARTINEZ AGUILAR", curp="MAAL920315MDFRGC02",
                              correo="lucia.martinez@navegador.mx", telefono="5526535897"),
    (375, "patron"): dict(rfc="MPR040404KL0", nombre="MOVIL DE PRUEBAS SA DE CV", curp=None,
                          rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09",
                          correo="buzon@movil-pruebas.mx", telefono="5533832795", correo_rp="rp@movil-pruebas.mx"),
}
PADRON_MOVIL = ("rfc,registro_patronal,razon_social\n"
                "MPR040404KL0,M1111111110,MOVIL DE PRUEBAS SA DE CV\n"
                "MPR040404KL0,M2222222220,MOVIL DE PRUEBAS SA DE CV\n")
VENCE = re.compile(r"Vence el \d\d/\d\d/\d{4} a las \d\d:\d\d")
# The document of the notification the Institute deposits in each walk's Buzón (issue 13).
# Signed with the development key of the Institute's documents that the system trusts (buzon_dev.sistema).
PDF_NOTIFICACION = firmar_pdf(pdf_de_prueba("Notificacion del recorrido"), carpeta_de_pruebas())

AXE = RAIZ / "tests" / "vendor" / "axe.min.js"
# What every page is measured for: the document no wider than the window, and no element with a horizontal
# scrollbar of its own (a table in a box that scrolls sideways counts as overflowing too).
MEDIR_DESBORDES = """() => {
  const nombre = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].map((clase) => '.' + clase).join('');
  const ancho = document.documentElement.clientWidth;
  const propias = [], fuera = [];
  for (const el of document.body.querySelectorAll('*')) {
    const x = getComputedStyle(el).overflowX;
    if ((x === 'auto' || x === 'scroll') && el.scrollWidth > el.clientWidth) {
      propias.push(nombre(el) + ' (' + el.scrollWidth + ' px en ' + el.clientWidth + ')');
    }
    if (el.getBoundingClientRect().right > ancho + 0.5) fuera.push(nombre(el));
  }
  return {documento: document.documentElement.scrollWidth, propias, fuera: fuera.slice(0, 8)};
}"""
# axe-core's serious and critical violations, each with what a person fixing it needs.
CORRER_AXE = """async () => {
  const resultado = await axe.run(document, {resultTypes: ['violations']});
  return resultado.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({
    id: v.id, impacto: v.impact, ayuda: v.help, objetivos: v.nodes.map((n) => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def axe():
    """axe-core as vendored from the npm registry (`make vendor`), checked against its SHA256SUMS."""
    contenido = AXE.read_bytes()
    sumas = dict(reversed(linea.split()) for linea in (AXE.parent / "SHA256SUMS").read_text().splitlines())
    assert hashlib.sha256(contenido).hexdigest() == sumas["axe.min.js"], "tests/vendor/axe.min.js cambió: make vendor"
    return contenido.decode("utf-8")


def test_axe_core_is_pinned_exactly_and_the_vendored_file_is_that_release(axe):
    version = json.loads((RAIZ / "gateway" / "package.json").read_text())["devDependencies"]["axe-core"]
    assert version[0].isdigit(), "pin an exact version, not a range"
    bloqueo = json.loads((RAIZ / "gateway" / "package-lock.json").read_text())
    assert bloqueo["packages"]["node_modules/axe-core"]["version"] == version
    assert axe.startswith(f"/*! axe v{version}\n")
    assert "Mozilla Public License" in (AXE.parent / "axe.LICENSE").read_text()


@pytest.fixture(scope="module")
def padron_movil(sistema, tmp_path_factory):
    """The phone-width Patrón's Registros Patronales in the system's padrón, imported the way contactos imports the
    Institute's file when it starts (an upsert: importing it again changes nothing); contactos reads its table on
    every lookup, so the running system sees them at once."""
    from sqlalchemy.orm import Session

    from buzon_comun.config import Config
    from buzon_comun.db import crear_engine
    from buzon_contactos.padron import importar_csv

    archivo = tmp_path_factory.mktemp("padron") / "padron.csv"
    archivo.write_text(PADRON_MOVIL, encoding="utf-8")
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": sistema.entorno["BUZON_DATABASE_URL"]}),
                          "contactos", conexiones=1)
    try:
        with Session(engine) as db:
            resultado = importar_csv(db, archivo, ahora=dt.datetime.now(dt.timezone.utc))
    finally:
        engine.dispose()
    assert (resultado.importados, resultado.rechazados) == (2, 0)


def revisar(pagina, ancho: int, axe: str) -> list[str]:
    """What is wrong with the page as it is now: its overflow at `ancho` px, and axe-core's serious or critical
    violations. axe is evaluated through the DevTools protocol, which the page's CSP doesn't govern: the site's
    policy stays as it is (no inline script is ever allowed for the test)."""
    problemas = []
    # A page reached by a click may still be loading its stylesheet (the URL and the text are there first): measured
    # unstyled, a table at phone width is as wide as its columns.
    esperar(lambda: pagina.evaluate("() => document.readyState") == "complete", plazo=20, paso=0.1)
    medidas = pagina.evaluate(MEDIR_DESBORDES)
    if medidas["documento"] > ancho:
        problemas.append(f"la página mide {medidas['documento']} px de ancho en una ventana de {ancho} px "
                         f"(se salen: {', '.join(medidas['fuera'])})")
    if medidas["propias"]:
        problemas.append(f"se desplazan de lado por dentro: {', '.join(medidas['propias'])}")
    if not pagina.evaluate("() => typeof window.axe === 'object'"):
        pagina.evaluate(axe)
    for violacion in pagina.evaluate(CORRER_AXE):
        problemas.append(f"axe {violacion['id']} ({violacion['impacto']}): {violacion['ayuda']} en "
                         f"{' | '.join(violacion['objetivos'])}")
    return problemas


def pagina_de_correo(correo: dict) -> str:
    """An email as a mail app shows it: its headers, then the body of its HTML part, as sent, inside the reader's
    page. Mail apps put the message's body into a page of their own, keep its inline styles, and break a word
    longer than the screen (Apple Mail's `word-wrap: break-word`): so does this reader."""
    atributos, cuerpo = re.search(r"<body([^>]*)>(.*)</body>", correo["html"], re.S | re.I).groups()
    estilo = re.search(r'style="([^"]*)"', atributos)
    return f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(correo['asunto'])}</title>
<style>body {{ margin: 0; font-family: sans-serif; background: #eceff1; color: #202124; }}
header {{ background: #fff; padding: 12px 16px; border-bottom: 1px solid #c4c7c5; }}
header h1 {{ font-size: 1.15rem; margin: 0 0 .5rem; }}
header dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 .6rem; margin: 0; font-size: .9rem; }}
header dd {{ margin: 0; overflow-wrap: anywhere; }}
article {{ background: #fff; margin: 12px; padding: 4px 16px; border-radius: 8px; overflow-wrap: break-word; }}
</style></head>
<body><header><h1>{escape(correo['asunto'])}</h1><dl><dt>De</dt><dd>{escape(correo['de'])}</dd>
<dt>Para</dt><dd>{escape(', '.join(correo['para']))}</dd><dt>Fecha</dt><dd>{dt.datetime.fromisoformat(correo['fecha']):%d/%m/%Y %H:%M}</dd></dl></header>
<main><article style="{estilo.group(1) if estilo else ''}">{cuerpo}</article></main></body></html>"""


def pagina_de_sms(sms: dict) -> str:
    """An SMS as a phone's messages app shows it: the sender, then the text as the provider got it."""
    return f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>SMS de {escape(sms['from'])}</title>
<style>body {{ margin: 0; font-family: sans-serif; background: #fff; color: #202124; }}
header {{ padding: 12px 16px; border-bottom: 1px solid #c4c7c5; text-align: center; }}
header h1 {{ font-size: 1.1rem; margin: 0; }} header p {{ margin: .2rem 0 0; font-size: .85rem; color: #444746; }}
main {{ padding: 16px; }}
.burbuja {{ max-width: 85%; background: #e9eef6; border-radius: 18px; padding: 10px 14px; margin: 0;
            overflow-wrap: anywhere; white-space: pre-wrap; }}
.nota {{ font-size: .8rem; color: #444746; }}</style></head>
<body><header><h1>{escape(sms['from'])}</h1><p>Para {escape(sms['to'])}</p></header>
<main><p class="burbuja">{escape(sms['text'])}</p>
<p class="nota">{len(sms['text'])} caracteres · {dt.datetime.fromisoformat(sms['fecha']):%d/%m/%Y %H:%M}</p></main></body></html>"""


class Guia:
    """One person walking the guide in the browser at one width, with a numbered screenshot of every page, each
    page measured for overflow and checked by axe-core first (the problems of the whole walk are told at its end)."""

    def __init__(self, sistema, contexto, ancho: int, persona: str, axe: str):
        self.sistema, self.contexto, self.ancho, self.persona, self.axe = sistema, contexto, ancho, persona, axe
        self.pagina = contexto.new_page()
        self.datos = PERSONAS[(ancho, persona)]
        self.paso = 0
        self.problemas = []
        ARTEFACTOS.mkdir(parents=True, exist_ok=True)
        for vieja in ARTEFACTOS.glob(f"{ancho}-{persona}-*.png"):
            vieja.unlink()

    def captura(self, nombre: str, pagina=None) -> None:
        pagina = pagina or self.pagina
        self.paso += 1
        archivo = f"{self.ancho}-{self.persona}-{self.paso:02d}-{nombre}.png"
        self.problemas += [f"{archivo} ({pagina.url}): {problema}" for problema in revisar(pagina, self.ancho, self.axe)]
        pagina.screenshot(path=str(ARTEFACTOS / archivo), full_page=True)

    def ir(self, ruta: str) -> None:
        self.pagina.goto(self.sistema.url + ruta)

    def boton(self, nombre: str):
        return self.pagina.get_by_role("button", name=nombre, exact=True)

    def accion(self, donde, nombre: str):
        """A control that the pages may render as a link or a button."""
        return donde.get_by_role("link", name=nombre).or_(donde.get_by_role("button", name=nombre)).first

    def fila(self, valor: str):
        """The medio's row (a card at phone width) in Mis medios de contacto."""
        return self.pagina.get_by_role("row").filter(has_text=valor)

    def exito(self):
        return self.pagina.get_by_role("status")

    def paso_actual(self, paso: str) -> None:
        """The guide's step indicator marks the page's step."""
        expect(self.pagina.locator(".pasos [aria-current='step']")).to_contain_text(paso)

    def nuevo_medio(self, mecanismo: str, valor: str, todos_los_rps: bool = False, capturas: bool = True) -> None:
        pagina = self.pagina
        self.ir("/medios-contacto")
        self.accion(pagina, "Nuevo medio de contacto").click()
        if todos_los_rps:
            pagina.get_by_role("link", name="Medio de Contacto de Registros Patronales").click()
            pagina.get_by_label("Seleccionar todos los Registros Patronales").check()
        pagina.get_by_label("Mecanismo de Comunicación").select_option(label=mecanismo)
        pagina.get_by_label("Medio de Contacto", exact=True).fill(valor)
        if capturas:
            self.captura(f"nuevo-{'rp-' if todos_los_rps else ''}{'correo' if '@' in valor else 'telefono'}")
        self.boton("Guardar").click()
        pagina.get_by_text("¿Desea continuar con el trámite para el Registro de su medio de contacto?").wait_for()
        if capturas:
            self.captura("confirmacion")
        self.boton("Aceptar").click()
        caja = self.exito()
        caja.get_by_text("Folio").first.wait_for()
        assert "Fecha" in caja.inner_text() and "Hora" in caja.inner_text()
        assert VENCE.search(caja.inner_text()), caja.inner_text()
        if capturas:
            self.captura("registrado")

    def enlace(self, correo: str) -> str:
        """The validation link of the newest "valida tu correo" message to `correo` (the sinks list newest first)."""
        return self.sistema.enlace_de_validacion(self.correo(correo, "valida tu correo"))

    def correo(self, para: str, asunto: str, contiene: str = "") -> dict:
        return esperar(lambda: [c for c in self.sistema.correos(para)
                                if asunto in c["asunto"] and contiene in c["texto"]], plazo=30)[0]

    def sms(self, texto: str, cuantos: int = 1) -> dict:
        """The newest SMS to the person's mobile that says `texto`, once there are `cuantos` of them."""
        para = "+52" + self.datos["telefono"]
        return esperar(lambda: (lambda m: m if len(m) >= cuantos else None)(
            [s for s in self.sistema.sms(para) if texto in s["text"]]), plazo=30)[0]

    def descargar(self, enlace) -> bytes:
        """Waits until the acuse exists (its PDF is rendered over the bus a moment later), then downloads it."""
        url = enlace.get_attribute("href")
        esperar(lambda: self.pagina.request.get(self.sistema.url + url if url.startswith("/") else url).ok, plazo=60)
        with self.pagina.expect_download() as descarga:
            enlace.click()
        contenido = Path(descarga.value.path()).read_bytes()
        assert contenido.startswith(b"%PDF"), contenido[:40]
        return contenido

    def depositar(self, asunto: str) -> str:
        """An Institute system deposits a notification in the person's Buzón through the API, with the development
        system's key (BUZON_SISTEMAS_DEPOSITANTES unset), as tests/test_e2e_buzon.py does; its id."""
        clave = clave_desarrollo(Config.desde_entorno(self.sistema.entorno))
        respuesta = requests.post(f"{self.sistema.api}/notificaciones", headers={"Authorization": f"Bearer {clave}"},
                                  json={"rfc": self.datos["rfc"], "asunto": asunto, "area": "Subdelegación Centro",
                                        "tipo_acto": "Requerimiento", "referencia": f"NAV-{self.ancho}-{self.persona}",
                                        "documento": b64(PDF_NOTIFICACION)})
        assert respuesta.status_code == 201, respuesta.text
        id_notificacion = respuesta.json()["id"]
        # Its aviso reported sent, a moment later over the bus: from then on its pages say by when to open it.
        esperar(lambda: requests.get(f"{self.sistema.api}/notificaciones/{id_notificacion}", headers={
            "Authorization": f"Bearer {clave}"}).json()["aviso_enviado_en"], plazo=30)
        return id_notificacion

    def mostrar(self, nombre: str, html: str) -> None:
        """A message as the person gets it, in a page of its own, captured and checked like the portal's."""
        pagina = self.contexto.new_page()
        pagina.set_content(html)
        self.captura(nombre, pagina)
        pagina.close()


@pytest.mark.parametrize(("ancho", "persona"), [(1280, "particular"), (1280, "patron"), (375, "particular"),
                                                (375, "patron")], ids=lambda valor: str(valor))
def test_the_whole_guide_in_the_browser(sistema, navegador, axe, padron_movil, ancho, persona):
    exigir_paginas()
    contexto = navegador.new_context(accept_downloads=True, locale="es-MX", **ANCHOS[ancho])
    contexto.set_default_timeout(20_000)
    contexto.registro = Registro(contexto)
    guia = Guia(sistema, contexto, ancho, persona, axe)
    try:
        recorrer(guia)
    except Exception:
        guia.pagina.screenshot(path=str(ARTEFACTOS / f"{ancho}-{persona}-fallo.png"), full_page=True)
        raise
    finally:
        contexto.close()


def recorrer(guia: Guia) -> None:
    sistema, pagina, datos = guia.sistema, guia.pagina, guia.datos
    emitido = sistema.pki.emitir(datos["rfc"], datos["nombre"], datos["curp"],
                                 rfc_representante=datos.get("rfc_representante"),
                                 curp_representante=datos.get("curp_representante"))
    sufijo = datos["rfc"].lower()
    olvidado, eliminado = f"olvidado.{sufijo}@navegador.mx", f"baja.{sufijo}@navegador.mx"

    # 1. The home page, the technical requirements, the privacy notice, and the login with the e.firma signed in
    # the page: the Buzón not yet active, Promociones Electrónicas already open.
    guia.ir("/")
    expect(pagina.get_by_text("Gobierno de México").first).to_be_visible()
    guia.captura("inicio")
    guia.ir("/ingresar")
    pagina.get_by_role("link", name="Requisitos técnicos").first.click()
    esperar_ruta(pagina, "/requisitos")
    guia.captura("requisitos")
    guia.ir("/aviso-privacidad")
    guia.captura("aviso-privacidad")
    guia.ir("/ingresar")
    pagina.locator("#cer").set_input_files(str(emitido.ruta_cer))
    pagina.locator("#key").set_input_files(str(emitido.ruta_key))
    pagina.locator("#password").fill(emitido.password)
    guia.paso_actual("Paso 1")
    guia.captura("ingresar")
    pagina.locator("#boton-efirma").click()
    esperar_ruta(pagina, "/buzon")
    pagina.get_by_text("Tu Buzón IMSS aún no está activo").wait_for()
    guia.captura("buzon")
    guia.accion(pagina, "Promociones Electrónicas").click()
    pagina.get_by_label("Planteamiento").wait_for()
    guia.captura("promociones-antes-de-activar")

    # 2. An email: pending with its deadline and "Reenviar" in the list, then validated with the sink's link.
    guia.nuevo_medio("Correo Electrónico", datos["correo"])
    guia.ir("/medios-contacto")
    fila = guia.fila(datos["correo"])
    expect(fila).to_contain_text("Pendiente de validación")
    expect(fila).to_contain_text(VENCE)
    expect(fila.get_by_role("button", name=re.compile("^Reenviar"))).to_be_visible()
    guia.paso_actual("Paso 2")
    guia.captura("correo-pendiente")
    pagina.goto(guia.enlace(datos["correo"]))
    guia.accion(pagina, "Cerrar").wait_for()
    guia.captura("correo-validado")

    # An email nobody validates: it lapses while the walk goes on, and stays in the history.
    guia.nuevo_medio("Correo Electrónico", olvidado, capturas=False)

    # A mobile: pending, its code resent ("Reenviar"), validated with the newest code.
    guia.nuevo_medio("Teléfono", datos["telefono"])
    guia.ir("/medios-contacto")
    fila = guia.fila(datos["telefono"])
    expect(fila).to_contain_text(VENCE)
    expect(guia.fila(olvidado)).to_contain_text(VENCE)
    guia.captura("medios-pendientes")
    fila.get_by_role("button", name=re.compile("^Reenviar")).click()
    guia.exito().get_by_text("nuevo código").wait_for()
    guia.captura("codigo-reenviado")
    [codigo] = CODIGO.findall(guia.sms("codigo de verificacion", cuantos=2)["text"])
    guia.accion(pagina, "Validar medio de contacto").click()
    pagina.get_by_label("Código de verificación").fill(codigo)
    guia.captura("codigo-celular")
    guia.boton("Aceptar").click()
    guia.exito().get_by_role("link", name="aquí").wait_for()
    guia.captura("celular-validado")

    # A deletion of a validated email (only a medio that was in force gets an acuse de baja): its confirmation and
    # its result.
    guia.nuevo_medio("Correo Electrónico", eliminado, capturas=False)
    pagina.goto(guia.enlace(eliminado))
    guia.accion(pagina, "Cerrar").wait_for()
    guia.ir("/medios-contacto")
    guia.accion(guia.fila(eliminado), "Eliminar medio de contacto").click()
    pagina.get_by_text("¿Deseas eliminar el medio de contacto").wait_for()
    guia.captura("eliminar")
    guia.boton("Eliminar medio de contacto").click()
    guia.exito().get_by_text("Folio de la baja").wait_for()
    guia.captura("eliminado")

    if guia.persona == "patron":
        # An email for every Registro Patronal, validated too.
        guia.nuevo_medio("Correo Electrónico", datos["correo_rp"], todos_los_rps=True)
        pagina.goto(guia.enlace(datos["correo_rp"]))
        guia.accion(pagina, "Cerrar").wait_for()
        guia.ir("/medios-contacto")
        fila = guia.fila(datos["correo_rp"])
        expect(fila).to_contain_text("Validado")
        expect(fila).to_contain_text(datos["nombre"])  # each Registro Patronal with its razón social
        guia.captura("medio-rp")

    # 3. Activation: requisitos and the readable Solicitud, "Aceptar", the signature in the page, the Buzón's main
    # screen with the activation's folio, and its acuse.
    guia.ir("/activacion")
    pagina.get_by_role("heading", name="Solicitud y manifestación del solicitante").wait_for()
    guia.paso_actual("Paso 3")
    guia.captura("activacion")
    guia.boton("Aceptar").click()
    pagina.locator("#form-efirma[data-accion='activar']").wait_for()
    pagina.locator("#cer").set_input_files(str(emitido.ruta_cer))
    pagina.locator("#key").set_input_files(str(emitido.ruta_key))
    pagina.locator("#password").fill(emitido.password)
    guia.captura("firma-solicitud")
    pagina.locator("#boton-efirma").click()
    esperar_ruta(pagina, "/buzon")
    exito = guia.exito()
    exito.get_by_text("Se activó tu Buzón IMSS").wait_for()
    assert "Folio" in exito.inner_text()
    guia.captura("buzon-activo")
    guia.descargar(guia.accion(pagina, "Descargar acuse de activación"))

    # After activation: Promociones Electrónicas → Aclaraciones u Orientaciones, recorded with a folio and an acuse.
    guia.accion(pagina, "Promociones Electrónicas").click()
    pagina.get_by_text("Activación Buzón IMSS").first.wait_for()
    pagina.get_by_label("Planteamiento").fill("Solicito orientación sobre los avisos que recibiré en mi Buzón.")
    guia.captura("aclaracion")
    guia.boton("Enviar").click()
    guia.exito().get_by_text("Folio").first.wait_for()
    assert "ACL-" in guia.exito().inner_text()
    guia.captura("aclaracion-presentada")
    guia.descargar(guia.exito().get_by_role("link", name="Descargar acuse"))

    # 4. A notification from the Institute (issue 13), deposited through the API: counted on the main screen,
    # listed, opened by signing its acuse de recibo in the page (the activation's signing), its document and its
    # acuse de notificación downloaded; then listed as opened.
    asunto = "Requerimiento de información sobre cuotas obrero patronales"
    id_notificacion = guia.depositar(asunto)
    guia.ir("/buzon")
    pagina.get_by_text("Tienes 1 notificación sin abrir.").wait_for()
    guia.captura("buzon-notificacion-pendiente")
    guia.accion(pagina, "Ver mis notificaciones").click()
    esperar_ruta(pagina, "/buzon/notificaciones")
    fila = pagina.get_by_role("row").filter(has_text=asunto)
    expect(fila).to_contain_text("Pendiente de abrir")
    expect(fila).to_contain_text(re.compile(r"Ábrela a más tardar el \d\d/\d\d/\d{4}"))
    guia.captura("notificaciones")
    fila.get_by_role("link", name=asunto, exact=True).click()
    pagina.locator("#form-efirma[data-accion='abrir']").wait_for()
    expect(pagina.locator(".recibo")).to_contain_text(datos["rfc"])
    expect(pagina.locator(".notificacion-plazo")).to_contain_text(re.compile(
        r"Tienes hasta el \S+ \d\d/\d\d/\d{4} para abrirla; si no la abres, se tendrá por notificada el \S+ "
        r"\d\d/\d\d/\d{4}"))
    pagina.locator("#cer").set_input_files(str(emitido.ruta_cer))
    pagina.locator("#key").set_input_files(str(emitido.ruta_key))
    pagina.locator("#password").fill(emitido.password)
    guia.captura("notificacion-firma")
    pagina.locator("#boton-efirma").click()
    esperar_ruta(pagina, f"/buzon/notificaciones/{id_notificacion}")
    guia.exito().get_by_text("Abriste la notificación").wait_for()
    assert "NOT-" in guia.exito().inner_text()

    def con_codigo():
        # The acuse's código de verificación comes from acuses a moment after the opening.
        if "Se está generando" not in guia.exito().inner_text():
            return True
        pagina.reload()
        return False

    esperar(con_codigo, plazo=30, paso=1)
    assert re.search(r"Código de verificación\s+[0-9A-Z]{16}", guia.exito().inner_text()), guia.exito().inner_text()
    guia.captura("notificacion-abierta")
    assert guia.descargar(guia.exito().get_by_role("link", name="Descargar documento")) == PDF_NOTIFICACION
    guia.descargar(guia.exito().get_by_role("link", name="Descargar acuse de notificación"))
    pagina.get_by_role("navigation", name="Menú principal").get_by_role("link", name="Notificaciones", exact=True).click()
    esperar_ruta(pagina, "/buzon/notificaciones")
    expect(fila).to_contain_text("Abierta")
    expect(fila).to_contain_text("NOT-")
    guia.captura("notificaciones-abierta")

    # An error: a page that doesn't exist.
    respuesta = pagina.goto(f"{sistema.url}/medios-contacto/no-existe/de-ningun-modo")
    assert respuesta.status == 404
    guia.captura("error-no-encontrado")

    # The emails and SMS as the person got them (while the forgotten email's window runs out).
    correo = datos["correo"]
    mensajes = [
        ("correo-validacion", guia.correo(correo, "valida tu correo")),
        ("correo-validacion-concluida", guia.correo(correo, "validación de correo electrónico concluida")),
        ("correo-aviso-registro", guia.correo(correo, "se registró un medio de contacto", datos["telefono"])),
        ("correo-aviso-baja", guia.correo(correo, "se eliminó un medio de contacto", eliminado)),
    ]
    mensajes.append(("correo-aviso-notificacion", guia.correo(correo, "Tienes un mensaje en tu Buzón IMSS")))
    if guia.persona == "patron":
        mensajes.append(("correo-validacion-rp", guia.correo(datos["correo_rp"], "valida tu correo")))
    for nombre, mensaje in mensajes:
        guia.mostrar(nombre, pagina_de_correo(mensaje))
    for nombre, texto in (("sms-codigo", "codigo de verificacion"), ("sms-validacion-concluida", "fue exitosa"),
                          ("sms-aviso-baja", "se elimino"), ("sms-aviso-notificacion", "Tienes un mensaje")):
        guia.mostrar(nombre, pagina_de_sms(guia.sms(texto)))

    # The history: the deleted medio and the lapsed one, each with its acuses; the lapsed one's link, an error now;
    # the notice of the lapse to the validated email.
    def vencido():
        guia.ir("/medios-contacto")
        fila = pagina.locator("table.historial").get_by_role("row").filter(has_text=olvidado)
        return fila.count() == 1 and "Dado de baja por vencimiento" in fila.inner_text()

    esperar(vencido, plazo=sistema.ventana_s + 30, paso=1)
    historial = pagina.locator("table.historial")
    expect(historial.get_by_role("row").filter(has_text=olvidado)).to_contain_text("Dado de baja por vencimiento")
    expect(historial.get_by_role("row").filter(has_text=eliminado)).to_contain_text("Dado de baja")
    guia.captura("historial")
    guia.descargar(historial.get_by_role("row").filter(has_text=eliminado).get_by_role("link", name="Acuse de baja"))
    respuesta = pagina.goto(guia.enlace(olvidado))
    assert respuesta.status == 410
    guia.captura("error-enlace-vencido")
    guia.mostrar("correo-aviso-vencimiento", pagina_de_correo(
        guia.correo(correo, "dado de baja por vencimiento", olvidado)))

    assert not guia.problemas, "\n".join(guia.problemas)
    contexto = guia.contexto
    contexto.registro.comprobar(sistema.url, [(emitido.key_der, emitido.password)])
