"""Promociones Electrónicas in the portal over real RabbitMQ and PostgreSQL: among the Buzón's services before and
after the activation, an Aclaración u Orientación presented with its folio and listed with its state, and its acuse
downloaded once acuses has it.

acuses is a stand-in here (the real one's renderers take seconds to start): it hears activacion's request and
serves a PDF only when the test says it is ready.
"""
import base64
import re

import pytest
import requests
from nameko.events import event_handler

from buzon_activacion.service import Servicio as Activacion
from buzon_auth.service import Servicio as Auth
from buzon_comun.errores import NoEncontrado
from buzon_comun.servicio import rpc
from buzon_dev.pruebas import b64, esperar, firmar, ingresar_portal
from buzon_gateway.paginas import POLITICA_CONTENIDO
from buzon_gateway.service import Gateway
from buzon_dev.sustitutos import ContactosSustituto

PDF = b"%PDF-1.7 acuse de prueba"


class AcusesFalso:
    name = "acuses"
    solicitudes = {}
    listos = set()

    @event_handler("activacion", "acuse_solicitado")
    def acuse_solicitado(self, mensaje):
        AcusesFalso.solicitudes[mensaje["datos"]["folio"]] = mensaje["datos"]

    @rpc
    def pdf(self, folio, rfc):
        solicitud = AcusesFalso.solicitudes.get(folio)
        if folio not in AcusesFalso.listos or solicitud is None or solicitud["rfc"] != rfc:
            raise NoEncontrado("no_encontrado", "El acuse aún no está disponible.")
        return base64.b64encode(PDF).decode("ascii")


class BuzonFalso:
    """The Buzón's main screen asks buzon for the count of notifications to open (none here)."""
    name = "buzon"

    @rpc
    def pendientes(self, rfc):
        return 0


@pytest.fixture
def url(entorno_auth, levantar, motor_de):
    motor_de("activacion")
    AcusesFalso.solicitudes.clear()
    AcusesFalso.listos.clear()
    return levantar(Auth, ContactosSustituto, Activacion, AcusesFalso, BuzonFalso, Gateway)


def pagina(respuesta) -> str:
    assert respuesta.headers["Content-Security-Policy"] == POLITICA_CONTENIDO
    assert respuesta.headers["Content-Type"].startswith("text/html")
    assert not re.search(r"\sstyle=|\son[a-z]+=|<script", respuesta.text, flags=re.I)
    return respuesta.text


def campo_csrf(texto: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', texto).group(1)


def test_a_buzon_not_yet_active_presents_an_aclaracion_too(url, efirma_dev_fisica):
    """Subject "Activación Buzón IMSS": before the activation is when people need it."""
    navegador = ingresar_portal(url, efirma_dev_fisica)
    buzon = pagina(navegador.get(f"{url}/buzon"))
    assert "Tu Buzón IMSS aún no está activo" in buzon
    assert '<h3><a href="/promociones">Promociones Electrónicas</a></h3>' in buzon
    texto = pagina(navegador.get(f"{url}/promociones"))
    assert 'name="planteamiento"' in texto and "Aún no has presentado Aclaraciones u Orientaciones." in texto
    presentada = navegador.post(f"{url}/promociones/aclaraciones",
                                data={"csrf": campo_csrf(texto), "planteamiento": "¿Cómo activo mi Buzón?"})
    assert presentada.status_code == 201, presentada.text
    folio = re.search(r"<dt>Folio</dt><dd>(ACL-\d{4}-\d{8})</dd>", pagina(presentada)).group(1)
    esperar(lambda: AcusesFalso.solicitudes.get(folio))
    # Listed as a card with its state, nothing in a table that scrolls sideways.
    lista = pagina(navegador.get(f"{url}/promociones"))
    tarjeta = re.search(r'<li class="aclaracion">.*?</li>', lista, flags=re.S).group(0)
    assert f'<dt>Folio</dt><dd class="identificador">{folio}</dd>' in tarjeta
    assert '<dt>Estado</dt><dd><span class="estado-aclaracion">Recibida</span></dd>' in tarjeta
    assert "¿Cómo activo mi Buzón?" in tarjeta and f'href="/promociones/aclaraciones/{folio}/acuse"' in tarjeta
    assert "<table" not in lista and "tabla-desplazable" not in lista


def test_present_an_aclaracion_and_download_its_acuse(url, efirma_dev_fisica, activar):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    activar("MAVA800101RS5")
    buzon = pagina(navegador.get(f"{url}/buzon"))
    assert '<h3><a href="/promociones">Promociones Electrónicas</a></h3>' in buzon

    formulario = pagina(navegador.get(f"{url}/promociones"))
    assert "Aclaraciones u Orientaciones" in formulario and "Activación Buzón IMSS" in formulario
    assert '<label for="planteamiento">Planteamiento</label>' in formulario
    assert re.search(r'<textarea id="planteamiento" name="planteamiento"[^>]*maxlength="4000"', formulario)
    csrf = campo_csrf(formulario)

    sin_token = navegador.post(f"{url}/promociones/aclaraciones", data={"planteamiento": "Hola"})
    assert sin_token.status_code == 403
    vacio = navegador.post(f"{url}/promociones/aclaraciones", data={"csrf": csrf, "planteamiento": "   "})
    assert vacio.status_code == 422 and 'role="alert"' in pagina(vacio)

    escrito = "No recibí el aviso de mi activación <b>urgente</b>."
    presentada = navegador.post(f"{url}/promociones/aclaraciones", data={"csrf": csrf, "planteamiento": escrito})
    texto = pagina(presentada)
    assert presentada.status_code == 201, texto
    recuadro = re.search(r'<section class="recuadro-verde" role="status">.*?</section>', texto, flags=re.S).group(0)
    folio = re.search(r"<dt>Folio</dt><dd>(ACL-\d{4}-\d{8})</dd>", recuadro).group(1)
    assert re.search(r"<dt>Fecha</dt><dd>\d{2}/\d{2}/\d{4}</dd>", recuadro)
    assert re.search(r"<dt>Hora</dt><dd>\d{2}:\d{2}:\d{2}</dd>", recuadro)
    enlace = f"/promociones/aclaraciones/{folio}/acuse"
    assert f'href="{enlace}">Descargar acuse</a>' in recuadro
    # What the person wrote is shown escaped in the list, never as markup.
    assert "&lt;b&gt;urgente&lt;/b&gt;" in texto and "<b>urgente</b>" not in texto

    solicitud = esperar(lambda: AcusesFalso.solicitudes.get(folio))
    assert (solicitud["tipo"], solicitud["rfc"], solicitud["datos"]) == (
        "aclaracion", "MAVA800101RS5", {"asunto": "Activación Buzón IMSS", "texto": escrito})

    en_preparacion = navegador.get(f"{url}{enlace}")
    assert en_preparacion.status_code == 404 and "aún no está disponible" in pagina(en_preparacion)
    AcusesFalso.listos.add(folio)
    descarga = navegador.get(f"{url}{enlace}")
    assert descarga.status_code == 200 and descarga.content == PDF
    assert descarga.headers["Content-Type"] == "application/pdf"
    assert f'filename="acuse-aclaracion-{folio}.pdf"' in descarga.headers["Content-Disposition"]

    ajeno = navegador.get(f"{url}/promociones/aclaraciones/ACL-2026-99999999/acuse")
    assert ajeno.status_code == 404
    assert requests.get(f"{url}{enlace}", allow_redirects=False).status_code == 303  # no session, no acuse

    lista = pagina(navegador.get(f"{url}/promociones"))
    assert lista.count(f'href="{enlace}"') == 1 and "recuadro-verde" not in lista


def test_a_double_submit_presents_one_aclaracion(url, efirma_dev_fisica, activar):
    """The form carries a key made when it was rendered: a second click on "Enviar", or a reload of the POST,
    shows the first folio again instead of presenting a second aclaración."""
    navegador = ingresar_portal(url, efirma_dev_fisica)
    activar("MAVA800101RS5")
    formulario = pagina(navegador.get(f"{url}/promociones"))
    clave = re.search(r'name="idempotencia" value="([^"]+)"', formulario).group(1)
    datos = {"csrf": campo_csrf(formulario), "idempotencia": clave, "planteamiento": "¿Dónde está mi acuse?"}
    envios = [navegador.post(f"{url}/promociones/aclaraciones", data=datos) for _ in range(2)]
    assert [envio.status_code for envio in envios] == [201, 201]
    folios = [re.search(r"<dt>Folio</dt><dd>(ACL-\d{4}-\d{8})</dd>", pagina(envio)).group(1) for envio in envios]
    assert folios[0] == folios[1]
    # The page that answers carries a new key, for the next aclaración.
    assert clave not in envios[0].text
    lista = pagina(navegador.get(f"{url}/promociones"))
    assert lista.count(f'href="/promociones/aclaraciones/{folios[0]}/acuse"') == 1
    assert lista.count("¿Dónde está mi acuse?") == 1
    esperar(lambda: AcusesFalso.solicitudes.get(folios[0]))
    assert len(AcusesFalso.solicitudes) == 1


def test_the_json_api_presents_lists_and_serves_aclaraciones_once_per_idempotency_key(url, efirma_dev_fisica,
                                                                                       activar):
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    token = requests.post(f"{url}/api/v1/sesiones", json={
        "certificado": b64(efirma_dev_fisica.cer_der), "reto": reto, "firma": firmar(efirma_dev_fisica, reto)}).json()["token"]
    cabecera = {"Authorization": f"Bearer {token}"}
    antes = requests.post(f"{url}/api/v1/aclaraciones", headers=cabecera, json={"texto": "¿Cómo activo mi Buzón?"})
    assert (antes.status_code, antes.json()["estado"]) == (201, "recibida")  # before the activation too
    activar("MAVA800101RS5")
    vacia = requests.post(f"{url}/api/v1/aclaraciones", headers=cabecera, json={"texto": "   "})
    assert (vacia.status_code, vacia.json()["error"]["codigo"]) == (422, "texto_invalido")

    con_clave = {**cabecera, "Idempotency-Key": "aclaracion-1"}
    primera = requests.post(f"{url}/api/v1/aclaraciones", headers=con_clave, json={"texto": "¿Mi acuse?"})
    assert primera.status_code == 201, primera.text
    otra_vez = requests.post(f"{url}/api/v1/aclaraciones", headers=con_clave, json={"texto": "¿Mi acuse?"})
    assert (otra_vez.status_code, otra_vez.json()) == (201, primera.json())
    distinta = requests.post(f"{url}/api/v1/aclaraciones", headers=con_clave, json={"texto": "Otra cosa"})
    assert (distinta.status_code, distinta.json()["error"]["codigo"]) == (409, "idempotencia_conflicto")

    folio = primera.json()["folio"]
    lista = requests.get(f"{url}/api/v1/aclaraciones", headers=cabecera).json()["aclaraciones"]
    assert [(a["folio"], a["estado"]) for a in lista] == [(folio, "recibida"), (antes.json()["folio"], "recibida")]
    esperar(lambda: AcusesFalso.solicitudes.get(folio))
    AcusesFalso.listos.add(folio)
    acuse = requests.get(f"{url}/api/v1/aclaraciones/{folio}/acuse", headers=cabecera)
    assert acuse.status_code == 200 and acuse.content == PDF
    ajeno = requests.get(f"{url}/api/v1/aclaraciones/ACT-2026-00000001/acuse", headers=cabecera)
    assert (ajeno.status_code, ajeno.json()["error"]["codigo"]) == (404, "no_encontrado")
