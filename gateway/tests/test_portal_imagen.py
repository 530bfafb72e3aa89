"""The portal's official look and the pages that build trust: the Government's header and footer on every page, the
vendored typeface, the Institute's logo only when configured, the privacy notice (default and configured), the
technical requirements, the guide's step indicator, and one register ("tú") in every text a person reads."""
import ast
import hashlib
import json
import re
from functools import partial
from pathlib import Path

import pytest
import requests

from buzon_auth.service import Servicio as Auth
from buzon_comun.config import Config
from buzon_dev.pruebas import ingresar_portal
from buzon_gateway import imagen, paginas
from buzon_gateway.paginas import POLITICA_CONTENIDO
from buzon_gateway.service import Gateway

GATEWAY = Path(__file__).resolve().parents[1]
PAQUETE = GATEWAY / "buzon_gateway"
PLANTILLAS = PAQUETE / "plantillas"
FUENTES = PAQUETE / "static" / "vendor" / "noto-sans"
CSS = PAQUETE / "static" / "css" / "buzon.css"
SERVICIOS = GATEWAY.parent / "services"

ENLACES_PIE = {"/aviso-privacidad": "Aviso de privacidad", "/requisitos": "Requisitos técnicos",
               "/soporte": "Soporte y atención", "/api/v1/openapi.json": "Desarrolladores"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40  # only the signature is looked at


# --- the running portal ---

@pytest.fixture
def arrancar(entorno_auth, levantar):
    """auth and the gateway (the public pages need no other service), with the environment given."""
    yield partial(levantar, Auth, Gateway)
    paginas.definir_globales(con_logo=False)  # the next test's gateway starts from the default


@pytest.fixture
def url(arrancar):
    return arrancar()


def pie(texto: str) -> str:
    return re.search(r'<footer class="pie">.*?</footer>', texto, flags=re.S).group(0)


def contenido(texto: str) -> str:
    """The page's main, its whitespace collapsed (the templates wrap their lines anywhere)."""
    return " ".join(re.search(r'<main id="contenido" tabindex="-1">.*?</main>', texto, flags=re.S).group(0).split())


def revisar_marco(respuesta) -> str:
    """What every page has: the Government's and the Institute's header, the footer's links, the landmarks, the
    skip link, the stylesheet as a file, and the CSP that allows nothing from outside."""
    assert respuesta.headers["Content-Security-Policy"] == POLITICA_CONTENIDO
    texto = respuesta.text
    encabezado = re.search(r'<header class="encabezado">.*?</header>', texto, flags=re.S).group(0)
    assert "Gobierno de México" in encabezado and "Instituto Mexicano del Seguro Social" in encabezado
    assert "Buzón IMSS" in encabezado
    for ruta, nombre in ENLACES_PIE.items():
        assert f'<a href="{ruta}">{nombre}</a>' in pie(texto), ruta
    assert '<a class="saltar" href="#contenido">Saltar al contenido</a>' in texto
    assert '<link rel="stylesheet" href="/static/css/buzon.css">' in texto
    assert re.search(r'<nav aria-label="[^"]+">\s*<ul class="enlaces-pie">', texto)
    assert not re.search(r'(src|href)="(https?:)?//', texto), "nothing loaded from another site"
    return texto


def test_every_page_has_the_official_header_and_footer(url, efirma_dev_fisica):
    for ruta in ("/", "/ingresar", "/soporte", "/aviso-privacidad", "/requisitos"):
        respuesta = requests.get(f"{url}{ruta}")
        assert respuesta.status_code == 200, ruta
        revisar_marco(respuesta)
    # Error pages too, those rendered outside a route included.
    no_existe = requests.get(f"{url}/no-existe", headers={"Accept": "text/html"})
    assert no_existe.status_code == 404 and "Página no encontrada" in revisar_marco(no_existe)
    salida = requests.post(f"{url}/salir", allow_redirects=False)  # no session: sent to log in, as a page
    assert salida.status_code == 303 and "Ingresa de nuevo" in revisar_marco(salida)
    # And with a session: the menu in the Institute's bar.
    navegador = ingresar_portal(url, efirma_dev_fisica)
    texto = revisar_marco(navegador.get(f"{url}/soporte"))
    assert '<nav aria-label="Menú principal">' in texto and 'href="/medios-contacto"' in texto


def test_the_home_page_speaks_to_people_and_developers_find_the_api_in_the_footer(url):
    texto = revisar_marco(requests.get(f"{url}/"))
    principal = contenido(texto)
    assert "Buzón IMSS es el medio de comunicación electrónico" in principal
    for paso in ("Paso 1 e.firma", "Paso 2 medios de contacto", "Paso 3 Solicitud"):
        assert paso in principal, paso
    assert '<a class="boton" href="/ingresar">Ingresar con e.firma</a>' in principal
    assert 'href="/requisitos"' in principal and 'href="/soporte"' in principal
    assert "openapi" not in principal.lower()
    assert '<a href="/api/v1/openapi.json">Desarrolladores</a>' in pie(texto)


def test_the_privacy_notice_by_default(url):
    texto = revisar_marco(requests.get(f"{url}/aviso-privacidad"))
    principal = contenido(texto)
    assert "<h1>Aviso de privacidad integral del Buzón IMSS</h1>" in principal
    # Who is responsible, the data kept, for what, on what legal basis, and the ARCO rights.
    for fragmento in ("El Instituto Mexicano del Seguro Social (IMSS)", "Registro Federal de Contribuyentes (RFC)",
                      "Clave Única de Registro de Población (CURP)", "nombre o razón social", "correo electrónico",
                      "teléfono celular", "¿Para qué usamos tus datos personales?",
                      "ACDO.AS2.HCT.240620/170.P.DIR", "Ley General de Protección de Datos Personales",
                      "derechos ARCO", "Unidad de Transparencia", "Plataforma Nacional de Transparencia"):
        assert fragmento in principal, fragmento
    assert url in principal  # {{ url_portal }}: the portal's own address (BUZON_PUBLIC_URL)


def test_the_privacy_notice_is_the_configured_text(arrancar, tmp_path):
    archivo = tmp_path / "aviso.html"
    archivo.write_text("<h2>Aviso del Instituto</h2>\n<p>Portal: {{ url_portal }}</p>\n", encoding="utf-8")
    url = arrancar(BUZON_AVISO_PRIVACIDAD_PLANTILLA=str(archivo), BUZON_PUBLIC_URL="https://buzon.example/<x>")
    principal = contenido(revisar_marco(requests.get(f"{url}/aviso-privacidad")))
    assert "<h2>Aviso del Instituto</h2>" in principal
    assert "<p>Portal: https://buzon.example/&lt;x&gt;</p>" in principal  # a variable is escaped, the file is not
    assert "derechos ARCO" not in principal  # not the default text


def test_the_logo_only_when_an_operator_configures_it(url, arrancar, tmp_path):
    sin_logo = revisar_marco(requests.get(f"{url}/"))
    assert "<img" not in sin_logo and "/logo" not in sin_logo
    respuesta = requests.get(f"{url}/logo")
    assert respuesta.status_code == 404 and respuesta.json()["error"]["codigo"] == "no_encontrado"

    archivo = tmp_path / "imss.png"
    archivo.write_bytes(PNG)
    otra = arrancar(BUZON_LOGO=str(archivo))
    for ruta in ("/", "/requisitos"):
        encabezado = re.search(r"<header.*?</header>", requests.get(f"{otra}{ruta}").text, flags=re.S).group(0)
        assert '<img class="logo" src="/logo" alt="">' in encabezado
        assert "Instituto Mexicano del Seguro Social" in encabezado  # the name stays, in words
    logo = requests.get(f"{otra}/logo")
    assert logo.status_code == 200 and logo.content == PNG
    assert logo.headers["Content-Type"] == "image/png" and logo.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in logo.headers["Content-Security-Policy"]


def test_fonts_are_served_from_static_and_the_csp_is_unchanged(url):
    # The policy of every page, as it was: fonts come from the gateway itself under default-src 'self'.
    assert POLITICA_CONTENIDO == ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                                  "object-src 'none'")
    css = requests.get(f"{url}/static/css/buzon.css").text
    urls = re.findall(r"url\(\"?([^\")]+)\"?\)", css)
    assert urls and all(u.startswith("/static/vendor/noto-sans/") and u.endswith(".woff2") for u in urls), urls
    assert 'font-family: "Noto Sans"' in css
    for ruta in urls:
        fuente = requests.get(f"{url}{ruta}")
        assert fuente.status_code == 200, ruta
        assert fuente.headers["Content-Type"] == "font/woff2" and "max-age=31536000" in fuente.headers["Cache-Control"]
        assert fuente.content == (FUENTES / Path(ruta).name).read_bytes() and fuente.content[:4] == b"wOF2"
    for ruta in ("/static/vendor/noto-sans/LICENSE", "/static/vendor/noto-sans/SHA256SUMS"):
        assert requests.get(f"{url}{ruta}").status_code == 404  # not for browsers


def test_the_technical_requirements_are_linked_from_the_login_page(url):
    ingreso = revisar_marco(requests.get(f"{url}/ingresar"))
    assert '<a href="/requisitos">requisitos técnicos</a>' in contenido(ingreso)
    principal = contenido(revisar_marco(requests.get(f"{url}/requisitos")))
    assert "<h1>Requisitos técnicos</h1>" in principal
    for fragmento in ("e.firma vigente", "<strong>.cer</strong>", "<strong>.key</strong>",
                      "<strong>contraseña de tu clave privada</strong>", "<strong>JavaScript habilitado</strong>",
                      "Google Chrome", "Mozilla Firefox", "Microsoft Edge", "Safari", "nunca salen de tu computadora"):
        assert fragmento in principal, fragmento


def test_the_login_page_is_step_1(url):
    texto = contenido(requests.get(f"{url}/ingresar").text)
    assert pasos(texto) == {1: True, 2: False, 3: False}


# --- the step indicator ---

def pasos(texto: str) -> dict[int, bool]:
    """Each step of the indicator and whether it is the page's own (aria-current="step")."""
    lista = re.search(r'<ol class="pasos" aria-label="Pasos para activar tu Buzón IMSS">.*?</ol>', texto,
                      flags=re.S).group(0)
    return {int(numero): 'aria-current="step"' in atributos
            for atributos, numero in re.findall(r'<li class="paso[^"]*"([^>]*)>\s*<span class="paso-numero">Paso (\d)',
                                                lista)}


@pytest.mark.parametrize("paso", [1, 2, 3])
def test_the_step_indicator_marks_one_step(paso):
    texto = paginas._entorno.from_string('{% include "portal/_pasos.html" %}').render(paso=paso)
    assert pasos(texto) == {n: n == paso for n in (1, 2, 3)}
    assert texto.count('aria-current="step"') == 1
    for nombre in ("e.firma", "medios de contacto", "Solicitud"):
        assert f'<span class="paso-nombre">{nombre}</span>' in texto


def test_the_pages_of_each_step_include_the_indicator():
    """Login: step 1; every medios page: 2; the activation: 3 (the guide's three steps)."""
    por_paso = {1: ["ingresar.html"], 2: ["medios.html", "nuevo_medio.html", "confirmar_medio.html",
                                          "medio_registrado.html", "validar_telefono.html", "telefono_validado.html",
                                          "eliminar.html", "eliminado.html"], 3: ["activacion.html"]}
    for paso, archivos in por_paso.items():
        for archivo in archivos:
            fuente = (PLANTILLAS / "portal" / archivo).read_text(encoding="utf-8")
            assert f'{{% with paso={paso} %}}{{% include "portal/_pasos.html" %}}{{% endwith %}}' in fuente, archivo


# --- configuration read at start ---

def test_the_logo_file_must_be_an_image(tmp_path):
    assert imagen.cargar_logo(None) is None
    png = tmp_path / "logo.png"
    png.write_bytes(PNG)
    assert imagen.cargar_logo(str(png)) == imagen.Logo(PNG, "image/png")
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    assert imagen.cargar_logo(str(svg)).tipo == "image/svg+xml"
    for nombre, contenido_ in (("logo.gif", PNG), ("logo.jpg", PNG), ("vacio.png", b""),
                               ("grande.png", PNG + b"\x00" * imagen.MAXIMO_LOGO)):
        archivo = tmp_path / nombre
        archivo.write_bytes(contenido_)
        with pytest.raises(ValueError):
            imagen.cargar_logo(str(archivo))
    with pytest.raises(FileNotFoundError):
        imagen.cargar_logo(str(tmp_path / "no-existe.png"))


def test_a_notice_with_an_unknown_variable_or_missing_fails_at_start(tmp_path):
    variables = imagen.variables_aviso(Config.desde_entorno({"BUZON_PUBLIC_URL": "https://buzon.example"}))
    assert variables == {"url_portal": "https://buzon.example"}
    archivo = tmp_path / "aviso.html"
    archivo.write_text("<p>{{ direccion_imss }}</p>", encoding="utf-8")
    with pytest.raises(Exception, match="direccion_imss"):
        imagen.cargar_aviso(str(archivo), variables)
    archivo.write_text("<p>{% if %}</p>", encoding="utf-8")
    with pytest.raises(Exception):
        imagen.cargar_aviso(str(archivo), variables)
    with pytest.raises(FileNotFoundError):
        imagen.cargar_aviso(str(tmp_path / "otro.html"), variables)
    assert "derechos ARCO" in imagen.cargar_aviso(None, variables)


def test_config_reads_the_logo_and_the_notice():
    config = Config.desde_entorno({"BUZON_LOGO": "/etc/imss/logo.svg",
                                   "BUZON_AVISO_PRIVACIDAD_PLANTILLA": "/etc/imss/aviso.html"})
    assert (config.logo, config.aviso_privacidad_plantilla) == ("/etc/imss/logo.svg", "/etc/imss/aviso.html")
    assert (Config.desde_entorno({}).logo, Config.desde_entorno({}).aviso_privacidad_plantilla) == (None, None)


# --- the vendored typeface ---

def test_the_font_package_is_pinned_and_the_files_are_the_ones_recorded():
    version = json.loads((GATEWAY / "package.json").read_text())["dependencies"]["@fontsource/noto-sans"]
    assert version[0].isdigit(), "pin an exact version, not a range"
    bloqueo = json.loads((GATEWAY / "package-lock.json").read_text())
    assert bloqueo["packages"]["node_modules/@fontsource/noto-sans"]["version"] == version
    registradas = dict(reversed(linea.split()) for linea in (FUENTES / "SHA256SUMS").read_text().splitlines())
    archivos = {p.name for p in FUENTES.iterdir() if p.suffix == ".woff2"}
    assert set(registradas) == archivos == {"noto-sans-latin-400-normal.woff2", "noto-sans-latin-700-normal.woff2"}
    for nombre, suma in registradas.items():
        assert hashlib.sha256((FUENTES / nombre).read_bytes()).hexdigest() == suma, nombre
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FUENTES / "LICENSE").read_text()
    # Only the weights the stylesheet uses are shipped.
    pesos = {int(p) for p in re.findall(r"font-weight: (\d+);", CSS.read_text().split(":root")[0])}
    assert {f"noto-sans-latin-{p}-normal.woff2" for p in pesos} == archivos


# --- one register: "tú" ---

# The guide's own sentences, quoted verbatim (its confirmation window speaks as "usted").
CITAS_DE_LA_GUIA = ("¿Desea continuar con el trámite para el Registro de su medio de contacto?",)
# What the "usted" register looks like: the pronoun, "Su"/"Sus" opening a sentence, a possessive on what is the
# person's, and the imperatives and verbs the texts used before.
USTED = re.compile(
    r"\busted(es)?\b|(^|[.:;¡¿\"“>]\s*)Sus?\b|\bsus? (e\.firma|sesión|RFC|correo|Buzón|certificado|clave privada|"
    r"conexión|medio de contacto|número|aclaración)\b|\b(Intente|intente|Ingrese|Seleccione|Verifique|Recargue|"
    r"Recárguela|Revise|Revísela|Escriba|Espere|Registre|Regístrelo|Inicie|Renueve|Renuévela|Consulte|Consúltela|"
    r"Solicite|Acuda|Elija|Desea|Recibirá|puede anteponer|debe validar|debe tener validados)\b")


def usted_en(texto: str) -> list[str]:
    for cita in CITAS_DE_LA_GUIA:
        texto = texto.replace(cita, "")
    return [m.group(0) for m in USTED.finditer(texto)]


def cadenas_de(archivo: Path) -> list[str]:
    """The string literals of a module (its messages), docstrings and comments left out."""
    arbol = ast.parse(archivo.read_text(encoding="utf-8"))
    documentos = {id(nodo.body[0].value) for nodo in ast.walk(arbol)
                  if isinstance(nodo, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and nodo.body and isinstance(nodo.body[0], ast.Expr)}
    return [nodo.value for nodo in ast.walk(arbol)
            if isinstance(nodo, ast.Constant) and isinstance(nodo.value, str) and id(nodo) not in documentos]


def test_the_register_detector_catches_usted():
    assert usted_en("Su sesión terminó. Ingrese de nuevo con su e.firma.") == ["Su", "Ingrese", "su e.firma"]
    assert usted_en("Revísela e intente de nuevo.") == ["Revísela", "intente"]
    assert usted_en("Tu sesión terminó. Ingresa de nuevo con tu e.firma. El acuse y su contenido.") == []
    assert usted_en(CITAS_DE_LA_GUIA[0]) == []


def test_templates_speak_as_tu_but_for_the_guides_own_sentences():
    hallazgos = {}
    for archivo in sorted(PLANTILLAS.rglob("*.html")):
        if encontrados := usted_en(archivo.read_text(encoding="utf-8")):
            hallazgos[str(archivo.relative_to(PLANTILLAS))] = encontrados
    assert hallazgos == {}


def test_the_gateways_messages_speak_as_tu():
    hallazgos = {}
    for archivo in sorted(PAQUETE.glob("*.py")):
        if archivo.name == "openapi.py":
            continue  # the API's description, for integrators, not a message to a person
        if encontrados := [hallado for cadena in cadenas_de(archivo) for hallado in usted_en(cadena)]:
            hallazgos[archivo.name] = encontrados
    script = (PAQUETE / "static" / "js" / "efirma.js").read_text(encoding="utf-8")
    if encontrados := [hallado for cadena in re.findall(r'"([^"\n]*)"', script) for hallado in usted_en(cadena)]:
        hallazgos["efirma.js"] = encontrados
    assert hallazgos == {}


@pytest.mark.parametrize("modulo", [
    "auth/buzon_auth/certificados.py", "auth/buzon_auth/ocsp.py", "auth/buzon_auth/sesiones.py",
    "auth/buzon_auth/verificacion.py", "contactos/buzon_contactos/valores.py", "contactos/buzon_contactos/medios.py",
    "activacion/buzon_activacion/activacion.py",
])
def test_the_services_errors_that_reach_people_speak_as_tu(modulo):
    assert [hallado for cadena in cadenas_de(SERVICIOS / modulo) for hallado in usted_en(cadena)] == []
