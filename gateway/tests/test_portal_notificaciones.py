"""The Buzón's notifications in the portal (issue 13), over real RabbitMQ and PostgreSQL: the count of pending ones on
the main screen, the list newest first with each state in words, a notification's page with its acuse de recibo to
sign in the page (the activation's e.firma form and script), the opening as the page's script posts it, the
downloads, a deemed notification, another RFC's as a 404, and the empty states.

auth, activacion and buzon are the real services (an active Buzón is only its row in activacion's schema, as in
test_promociones.py); contactos answers what activacion and buzon ask; acuses is a stand-in with a código de
verificación and a PDF for every folio of a notification (the real one's renderers take seconds to start). The
e.firma is signed here in Python where the page's script would sign it in the browser."""
import datetime as dt
import hashlib
import html
import re

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from buzon_activacion.service import Servicio as Activacion
from buzon_auth.service import Servicio as Auth
from buzon_buzon import apertura, avisos, habiles
from buzon_buzon.models import avisos as tabla_avisos
from buzon_buzon.models import notificaciones as tabla_notificaciones
from buzon_buzon.service import Servicio as Buzon
from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64, esperar, firmar, ingresar_portal, meta_csrf
from buzon_gateway import notificaciones_web
from buzon_gateway.paginas import POLITICA_CONTENIDO
from buzon_gateway.service import Gateway
from buzon_dev.sustitutos import AcusesSustituto, ContactosSustituto

FISICA, MORAL = "MAVA800101RS5", "EDE0101013A2"
CLAVE = "clave-del-sistema-de-pruebas-0123456789"
# Signed with the development key of the Institute's documents, which buzon trusts here (BUZON_DOCUMENTOS_CA_DIR).
PDF = firmar_pdf(pdf_de_prueba("Requerimiento"), carpeta_de_pruebas())
ACUSE = AcusesSustituto.PDF
CODIGO = AcusesSustituto.CODIGO


class ContactosFalso(ContactosSustituto):
    # One validated RFC-level email: every notification gets its aviso.
    MEDIOS = ({"id": "medio-1", "mecanismo": "correo", "valor": "ana@example.com", "estado": "validado",
               "registros_patronales": []},)


@pytest.fixture
def url(entorno_auth, levantar, motor_de, tmp_path):
    motor_de("activacion")
    motor_de("buzon")
    sistemas = tmp_path / "sistemas.txt"
    sistemas.write_text(f"pruebas:{hashlib.sha256(CLAVE.encode()).hexdigest()}\n")
    return levantar(Auth, ContactosFalso, Activacion, AcusesSustituto, Buzon, Gateway,
                    BUZON_SISTEMAS_DEPOSITANTES=str(sistemas),
                    BUZON_DOCUMENTOS_CA_DIR=str(carpeta_de_pruebas() / "ca"))


def depositar(url, asunto, referencia, rfc=FISICA) -> str:
    respuesta = requests.post(f"{url}/api/v1/notificaciones", headers={"Authorization": f"Bearer {CLAVE}"}, json={
        "rfc": rfc, "asunto": asunto, "area": "Subdelegación Centro", "tipo_acto": "Requerimiento",
        "referencia": referencia, "documento": b64(PDF)})
    assert respuesta.status_code == 201, respuesta.text
    return respuesta.json()["id"]


def pagina(respuesta, estado: int = 200) -> str:
    """A page of the portal: its status, the CSP, no inline script or style, no event-handler attributes."""
    assert respuesta.status_code == estado, respuesta.text
    assert respuesta.headers["Content-Security-Policy"] == POLITICA_CONTENIDO
    assert respuesta.headers["Content-Type"].startswith("text/html")
    texto = respuesta.text
    for etiqueta in re.findall(r"<script\b[^>]*>", texto, flags=re.I):
        assert re.search(r'\bsrc="/static/', etiqueta), etiqueta
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", texto, flags=re.I)
    assert not re.search(r"\sstyle=|\son[a-z]+=", texto, flags=re.I)
    return texto


def tarjetas(texto: str) -> list[str]:
    """The rows of the list (cards at phone width), in the page's order."""
    return re.findall(r"<tr(?: class=\"notificacion-pendiente\")?>\s*<td data-etiqueta=\"Asunto\".*?</tr>", texto,
                      flags=re.S)


def formulario_efirma(texto: str) -> dict:
    etiqueta = re.search(r'<form id="form-efirma"[^>]*>', texto).group(0)
    return {nombre: html.unescape(valor) for nombre, valor in re.findall(r'\b(data-[a-z]+|action)="([^"]*)"', etiqueta)}


def test_the_main_screen_counts_the_pending_ones_and_the_list_is_newest_first(url, activar, efirma_dev_fisica):
    activar(FISICA)
    navegador = ingresar_portal(url, efirma_dev_fisica)
    buzon = pagina(navegador.get(f"{url}/buzon"))
    assert "No tienes notificaciones sin abrir." in buzon and 'href="/buzon/notificaciones"' in buzon
    vacia = pagina(navegador.get(f"{url}/buzon/notificaciones"))
    assert "Aún no tienes notificaciones" in vacia and "<table" not in vacia

    primera = depositar(url, "Requerimiento de información", "OF-1")
    segunda = depositar(url, "Invitación <b>a</b> regularizar & pagar", "OF-2")
    buzon = pagina(navegador.get(f"{url}/buzon"))
    resumen = re.search(r'<section class="resumen-notificaciones".*?</section>', buzon, flags=re.S).group(0)
    assert "<strong>Tienes 2 notificaciones sin abrir.</strong>" in resumen
    assert '<a class="boton" href="/buzon/notificaciones">Ver mis notificaciones</a>' in resumen
    # In the menu of every page once logged in, and among the Buzón's services.
    assert '<li><a href="/buzon/notificaciones">Notificaciones</a></li>' in buzon
    assert '<h3><a href="/buzon/notificaciones">Notificaciones</a></h3>' in buzon

    lista = pagina(navegador.get(f"{url}/buzon/notificaciones"))
    nueva, vieja = tarjetas(lista)
    # Newest first; the subject escaped, never markup.
    assert f'href="/buzon/notificaciones/{segunda}">Invitación &lt;b&gt;a&lt;/b&gt; regularizar &amp; pagar</a>' in nueva
    assert f'href="/buzon/notificaciones/{primera}">Requerimiento de información</a>' in vieja
    for tarjeta in (nueva, vieja):
        assert '<tr class="notificacion-pendiente">' in tarjeta
        assert '<td data-etiqueta="Estado"><span class="notificacion-estado">Pendiente de abrir</span></td>' in tarjeta
        assert '<td data-etiqueta="Área">Subdelegación Centro</td>' in tarjeta
        assert '<td data-etiqueta="Tipo de acto">Requerimiento</td>' in tarjeta
        assert re.search(r'<td data-etiqueta="Depositada el">\d\d/\d\d/\d{4} \d\d:\d\d</td>', tarjeta)
        assert '<td data-etiqueta="Notificada el">—</td>' in tarjeta and "/documento" not in tarjeta


def test_a_notification_opened_by_signing_its_acuse_de_recibo_in_the_page(url, activar, efirma_dev_fisica):
    activar(FISICA)
    id_ = depositar(url, "Requerimiento de información", "OF-1")
    otra = depositar(url, "Otra notificación", "OF-2")
    navegador = ingresar_portal(url, efirma_dev_fisica)

    texto = pagina(navegador.get(f"{url}/buzon/notificaciones/{id_}"))
    assert "<h1>Requerimiento de información</h1>" in texto and "Pendiente de abrir" in texto
    # The activation's signing: the same partial and script, the cadena and the page's own route on the form.
    formulario = formulario_efirma(texto)
    assert formulario["data-accion"] == "abrir" and "action" not in formulario
    assert formulario["data-url"] == f"/buzon/notificaciones/{id_}/abrir"
    cadena = formulario["data-cadena"]
    assert cadena.startswith("||1.0|ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS|") and id_ in cadena
    assert '<script src="/static/js/efirma.js"></script>' in texto
    assert '<button type="submit" id="boton-efirma">Firmar y abrir</button>' in texto
    # The acuse de recibo readable, and exactly the signed text in its collapsible detail.
    recibo = re.search(r'<section class="recibo".*?</section>', texto, flags=re.S).group(0)
    assert f"<dt>Notificación</dt><dd>{id_}</dd>" in recibo and f"<dt>RFC</dt><dd>{FISICA}</dd>" in recibo
    assert f"<dd>{hashlib.sha256(PDF).hexdigest()}</dd>" in recibo
    assert html.unescape(re.search(r'<p class="cadena-original">(.*?)</p>', recibo).group(1)) == cadena
    csrf = meta_csrf(texto)
    # Nothing to download before it is opened.
    sin_abrir = navegador.get(f"{url}/buzon/notificaciones/{id_}/documento")
    assert "Abre la notificación" in pagina(sin_abrir, 409) and f'href="/buzon/notificaciones/{id_}"' in sin_abrir.text
    assert navegador.get(f"{url}/buzon/notificaciones/{id_}/acuse").status_code == 404

    ruta = f"{url}/buzon/notificaciones/{id_}/abrir"
    cuerpo = {"certificado": b64(efirma_dev_fisica.cer_der), "firma": firmar(efirma_dev_fisica, cadena)}
    sin_token = navegador.post(ruta, json=cuerpo)
    assert (sin_token.status_code, sin_token.json()["error"]["codigo"]) == (403, "csrf_invalido")
    sin_sesion = requests.post(ruta, headers={"X-CSRF-Token": csrf}, json=cuerpo)
    assert (sin_sesion.status_code, sin_sesion.json()["error"]["codigo"]) == (401, "no_autenticado")
    mala = navegador.post(ruta, headers={"X-CSRF-Token": csrf},
                          json={**cuerpo, "firma": firmar(efirma_dev_fisica, cadena + "x")})
    assert (mala.status_code, mala.json()["error"]["codigo"]) == (422, "firma_invalida")

    abierta = navegador.post(ruta, headers={"X-CSRF-Token": csrf}, json=cuerpo)
    assert abierta.status_code == 200, abierta.text
    assert abierta.json() == {"destino": f"/buzon/notificaciones/{id_}?abierta=1"}
    otra_vez = navegador.post(ruta, headers={"X-CSRF-Token": csrf}, json=cuerpo)
    assert (otra_vez.status_code, otra_vez.json()["error"]["codigo"]) == (409, "ya_notificada")

    texto = pagina(navegador.get(f"{url}/buzon/notificaciones/{id_}", params={"abierta": "1"}))
    estado = re.search(r'<section class="recuadro-verde notificacion-abierta" role="status".*?</section>', texto,
                       flags=re.S).group(0)
    folio = re.search(r'<dt>Folio</dt><dd class="identificador">(NOT-\d{4}-\d{8})</dd>', estado).group(1)
    assert "Abriste la notificación" in estado
    # buzon mints the code with the acuse's request: the page shows the one the API gives.
    [api] = [n for n in requests.get(f"{url}/api/v1/buzon/notificaciones", headers={
        "Authorization": f"Bearer {navegador.cookies['buzon_sesion']}"}).json()["notificaciones"] if n["id"] == id_]
    codigo = api["codigo_verificacion"]
    assert re.fullmatch(r"[0-9A-Z]{16}", codigo) and api["folio_acuse"] == folio
    assert f'<dt>Código de verificación</dt><dd><span class="identificador">{codigo}</span></dd>' in estado
    assert f'<a class="boton" href="/buzon/notificaciones/{id_}/documento">Descargar documento</a>' in estado
    assert (f'<a class="boton" href="/buzon/notificaciones/{id_}/acuse">Descargar acuse de notificación</a>'
            in estado)
    assert "form-efirma" not in texto and "<script" not in texto
    # Without ?abierta=1 it is the notification as it stays: opened, with its folio and code, no status message.
    despues = pagina(navegador.get(f"{url}/buzon/notificaciones/{id_}"))
    assert "recuadro-verde" not in despues and "<dd><span class=\"notificacion-estado\">Abierta</span></dd>" in despues
    assert f'<dt>Folio del acuse</dt><dd class="identificador">{folio}</dd>' in despues and codigo in despues

    documento = navegador.get(f"{url}/buzon/notificaciones/{id_}/documento")
    assert (documento.status_code, documento.headers["Content-Type"], documento.content) == (200, "application/pdf",
                                                                                              PDF)
    assert f'filename="notificacion-{id_}.pdf"' in documento.headers["Content-Disposition"]
    acuse = navegador.get(f"{url}/buzon/notificaciones/{id_}/acuse")
    assert (acuse.status_code, acuse.content) == (200, ACUSE)
    assert f'filename="acuse-notificacion-{folio}.pdf"' in acuse.headers["Content-Disposition"]

    # The list: opened, with its date, folio and downloads; the other still pending; the count says one.
    lista = pagina(navegador.get(f"{url}/buzon/notificaciones"))
    pendiente, abierta_fila = tarjetas(lista)
    assert otra in pendiente and "Pendiente de abrir" in pendiente
    assert '<span class="notificacion-estado">Abierta</span>' in abierta_fila
    assert f'<span class="identificador">{folio}</span>' in abierta_fila
    assert re.search(r'<td data-etiqueta="Notificada el">\d\d/\d\d/\d{4} \d\d:\d\d</td>', abierta_fila)
    assert f'href="/buzon/notificaciones/{id_}/documento"' in abierta_fila
    assert "<strong>Tienes 1 notificación sin abrir.</strong>" in pagina(navegador.get(f"{url}/buzon"))


def test_a_notification_deemed_notified_shows_its_downloads_directly(url, url_bd, activar, efirma_dev_fisica):
    activar(FISICA)
    id_ = depositar(url, "Requerimiento de información", "OF-1")
    # Its aviso reported sent on Monday 11 January 2027 at 10:00 (buzon's function for notificaciones' report),
    # and buzon's own sweep with the clock a week later.
    aviso = dt.datetime(2027, 1, 11, 16, 0, tzinfo=dt.timezone.utc)
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "buzon")
    try:
        def aviso_solicitado():
            with engine.begin() as conexion:
                return conexion.execute(select(tabla_avisos.c.id).where(tabla_avisos.c.notificacion_id == id_)
                                        ).scalar_one_or_none()

        id_aviso = esperar(aviso_solicitado)
        with Session(engine) as db:
            assert avisos.aviso_enviado(db, id_aviso, aviso)
            assert apertura.declarar_tacitas(db, habiles.desde_entorno({}), aviso + dt.timedelta(days=7)) == 1
    finally:
        engine.dispose()

    navegador = ingresar_portal(url, efirma_dev_fisica)
    texto = pagina(navegador.get(f"{url}/buzon/notificaciones/{id_}"))
    assert '<span class="notificacion-estado">Notificada por no abrirse a tiempo</span>' in texto
    # The deemed moment: Friday 15 January 2027 at the opening of the día hábil.
    assert "<dt>Notificada el</dt><dd>15/01/2027 07:30</dd>" in texto
    assert "se tuvo por notificada el" in texto and "form-efirma" not in texto and "<script" not in texto
    assert f'<a class="boton" href="/buzon/notificaciones/{id_}/documento">Descargar documento</a>' in texto
    assert re.search(r'<dt>Código de verificación</dt><dd><span class="identificador">[0-9A-Z]{16}</span>', texto)
    assert navegador.get(f"{url}/buzon/notificaciones/{id_}/documento").content == PDF
    assert "No tienes notificaciones sin abrir." in pagina(navegador.get(f"{url}/buzon"))

    # A notification deemed before buzon minted codes (its migration 0002) carries none: acuses' is shown.
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "buzon")
    try:
        with engine.begin() as conexion:
            conexion.execute(tabla_notificaciones.update().where(tabla_notificaciones.c.id == id_)
                             .values(codigo_verificacion=None))
    finally:
        engine.dispose()
    assert f'<span class="identificador">{CODIGO}</span>' in pagina(navegador.get(f"{url}/buzon/notificaciones/{id_}"))


@pytest.fixture
def calendario_2030(monkeypatch, tmp_path):
    """buzon's calendar of días inhábiles as operators give it (BUZON_DIAS_INHABILES), set before `url` starts it:
    Monday 4 February 2030 inhábil. Dates years ahead, so the real clock of the views never deems them."""
    archivo = tmp_path / "inhabiles.txt"
    archivo.write_text("2030-02-04 Primer lunes de febrero\n", encoding="utf-8")
    monkeypatch.setenv("BUZON_DIAS_INHABILES", str(archivo))


def reportar_aviso(url_bd, id_notificacion, enviado):
    """The notification's aviso reported sent at `enviado` (buzon's own function for notificaciones' report), once
    the deposit's avisos step asked for it."""
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "buzon")
    try:
        def aviso_solicitado():
            with engine.begin() as conexion:
                return conexion.execute(select(tabla_avisos.c.id).where(
                    tabla_avisos.c.notificacion_id == id_notificacion)).scalar_one_or_none()

        with Session(engine) as db:
            assert avisos.aviso_enviado(db, esperar(aviso_solicitado), enviado)
    finally:
        engine.dispose()


def test_a_pending_notification_says_by_when_to_open_it(calendario_2030, url, url_bd, activar, efirma_dev_fisica):
    activar(FISICA)
    sin_aviso = depositar(url, "Sin aviso todavía", "OF-1")
    avisada = depositar(url, "Requerimiento de información", "OF-2")
    # Its aviso sent on Friday 1 February 2030 at 10:00 Mexico City: it counts that day; Monday 4 is inhábil, so
    # the person has Tuesday 5 to Thursday 7, and it is deemed notified on Friday 8 February.
    reportar_aviso(url_bd, avisada, dt.datetime(2030, 2, 1, 16, 0, tzinfo=dt.timezone.utc))
    navegador = ingresar_portal(url, efirma_dev_fisica)

    [api] = [n for n in requests.get(f"{url}/api/v1/buzon/notificaciones", headers={
        "Authorization": f"Bearer {navegador.cookies['buzon_sesion']}"}).json()["notificaciones"] if n["id"] == avisada]
    assert (api["aviso_enviado_en"], api["abrir_hasta"], api["tacita_el"]) == (
        "2030-02-01T10:00:00-06:00", "2030-02-07T23:59:59-06:00", "2030-02-08")

    avisada_fila, sin_aviso_fila = tarjetas(pagina(navegador.get(f"{url}/buzon/notificaciones")))
    assert ('<td data-etiqueta="Estado"><span class="notificacion-estado">Pendiente de abrir</span><span '
            'class="medio-vence">Ábrela a más tardar el 07/02/2030</span></td>') in avisada_fila
    # No aviso sent yet: its días hábiles haven't started, no date to give.
    assert sin_aviso in sin_aviso_fila and "Ábrela" not in sin_aviso_fila

    texto = pagina(navegador.get(f"{url}/buzon/notificaciones/{avisada}"))
    assert ('<p class="notificacion-plazo"><strong>Tienes hasta el jueves 07/02/2030 para abrirla; si no la abres, '
            'se tendrá por notificada el viernes 08/02/2030.</strong></p>') in texto
    assert "form-efirma" in texto
    sin_fecha = pagina(navegador.get(f"{url}/buzon/notificaciones/{sin_aviso}"))
    assert "Tienes hasta" not in sin_fecha and "dentro del plazo de días hábiles que siguen al aviso" in sin_fecha

    # Opened: no deadline left, in the page or the list.
    cadena = formulario_efirma(texto)["data-cadena"]
    csrf = meta_csrf(texto)
    abierta = navegador.post(f"{url}/buzon/notificaciones/{avisada}/abrir", headers={"X-CSRF-Token": csrf}, json={
        "certificado": b64(efirma_dev_fisica.cer_der), "firma": firmar(efirma_dev_fisica, cadena)})
    assert abierta.status_code == 200, abierta.text
    assert "Tienes hasta" not in pagina(navegador.get(f"{url}/buzon/notificaciones/{avisada}"))
    assert "Ábrela" not in pagina(navegador.get(f"{url}/buzon/notificaciones"))


def test_another_rfcs_notification_is_a_404_and_an_inactive_buzon_says_so(url, activar, efirma_dev_fisica,
                                                                           efirma_dev_moral):
    activar(FISICA)
    id_ = depositar(url, "Requerimiento de información", "OF-1")
    otro = ingresar_portal(url, efirma_dev_moral)
    for ruta in ("", "/documento", "/acuse"):
        respuesta = otro.get(f"{url}/buzon/notificaciones/{id_}{ruta}")
        assert 'role="alert"' in pagina(respuesta, 404), ruta
        assert "Requerimiento" not in respuesta.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', otro.get(f"{url}/buzon").text).group(1)
    ajena = otro.post(f"{url}/buzon/notificaciones/{id_}/abrir", headers={"X-CSRF-Token": csrf},
                      json={"certificado": b64(efirma_dev_moral.cer_der), "firma": "AAAA"})
    assert (ajena.status_code, ajena.json()["error"]["codigo"]) == (404, "no_encontrado")
    # The Patrón's Buzón isn't active: no count on the main screen, and the list says why it is empty.
    buzon = pagina(otro.get(f"{url}/buzon"))
    assert "resumen-notificaciones" not in buzon and "Tu Buzón IMSS aún no está activo" in buzon
    lista = pagina(otro.get(f"{url}/buzon/notificaciones"))
    assert "Tu Buzón IMSS aún no está activo" in lista and 'href="/activacion"' in lista
    assert navegador_sin_sesion(url, f"/buzon/notificaciones/{id_}") == "/ingresar"


def test_the_main_screen_opens_when_buzon_does_not_answer(entorno_auth, levantar, motor_de, activar,
                                                           efirma_dev_fisica):
    """buzon down (not started here, a short RPC deadline): the Buzón's main screen still opens and says the count
    can't be shown now; the list itself is the usual 503 page."""
    motor_de("activacion")
    url = levantar(Auth, ContactosFalso, Activacion, Gateway, BUZON_PLAZO_RPC_S="0.5")
    activar(FISICA)
    navegador = ingresar_portal(url, efirma_dev_fisica)
    buzon = pagina(navegador.get(f"{url}/buzon"))
    assert "Tu Buzón IMSS está activo" in buzon
    assert "En este momento no es posible consultar tus notificaciones." in buzon and "Tienes" not in buzon
    assert 'role="alert"' in pagina(navegador.get(f"{url}/buzon/notificaciones"), 503)


def navegador_sin_sesion(url, ruta) -> str:
    return requests.get(f"{url}{ruta}", allow_redirects=False).headers["Location"]


# --- without a broker ---------------------------------------------------------------------------------------------

def test_the_acuse_de_recibo_reads_as_data_for_the_cadena_buzon_makes():
    momento = dt.datetime(2027, 1, 12, 17, 5, 9, tzinfo=dt.timezone.utc)
    cadena = apertura.cadena_acuse_recibo({"id": "5d1f-id", "documento_sha256": "a" * 64}, FISICA, momento)
    assert notificaciones_web.recibo_legible(cadena) == [
        ("Documento", "Acuse de recibo de notificación del Buzón IMSS"), ("Notificación", "5d1f-id"),
        ("RFC", FISICA), ("Fecha y hora", "12/01/2027 a las 11:05:09"),
        ("Resumen SHA-256 del documento", "a" * 64)]
    # Another shape is shown only as it is.
    for otra in ("||1.0|OTRO TRAMITE|x|y|2027-01-12T11:05:09-06:00|" + "a" * 64 + "||", cadena[:-2], "", "||c||",
                 cadena.replace("2027-01-12T11:05:09-06:00", "ayer")):
        assert notificaciones_web.recibo_legible(otra) == [], otra


def test_each_state_in_words_and_dates_in_mexico_city():
    base = {"id": "x", "asunto": "a", "area": "b", "tipo_acto": "c", "depositada_en": "2027-01-12T00:30:00+00:00",
            "notificada_en": None, "folio_acuse": None}
    pendiente = notificaciones_web.vista({**base, "estado": "pendiente"})
    assert (pendiente["estado_texto"], pendiente["pendiente"], pendiente["depositada"], pendiente["notificada"]) == (
        "Pendiente de abrir", True, "11/01/2027 18:30", "")
    assert notificaciones_web.vista({**base, "estado": "abierta"})["estado_texto"] == "Abierta"
    tacita = notificaciones_web.vista({**base, "estado": "tacita", "notificada_en": "2027-01-15T07:30:00-06:00"})
    assert (tacita["estado_texto"], tacita["pendiente"], tacita["notificada"]) == (
        "Notificada por no abrirse a tiempo", False, "15/01/2027 07:30")


def test_the_deadline_in_words_in_mexico_city():
    base = {"id": "x", "asunto": "a", "area": "b", "tipo_acto": "c", "depositada_en": "2026-12-24T20:00:00-06:00",
            "notificada_en": None, "folio_acuse": None, "aviso_enviado_en": "2026-12-24T20:00:00-06:00"}
    # The end of Thursday 31 December in Mexico City, given in UTC: still that Thursday for the person.
    pendiente = notificaciones_web.vista({**base, "estado": "pendiente", "abrir_hasta": "2027-01-01T05:59:59+00:00",
                                          "tacita_el": "2027-01-04"})
    assert pendiente["abrir_antes"] == "Ábrela a más tardar el 31/12/2026"
    assert pendiente["plazo"] == ("Tienes hasta el jueves 31/12/2026 para abrirla; si no la abres, se tendrá por "
                                  "notificada el lunes 04/01/2027.")
    assert [notificaciones_web.dia_y_fecha(dt.date(2027, 1, 11) + dt.timedelta(days=n)) for n in range(7)] == [
        "lunes 11/01/2027", "martes 12/01/2027", "miércoles 13/01/2027", "jueves 14/01/2027", "viernes 15/01/2027",
        "sábado 16/01/2027", "domingo 17/01/2027"]
    # None before the aviso, none once made (whatever a stale answer carried), none from an older buzon.
    for sin_plazo in ({**base, "estado": "pendiente", "aviso_enviado_en": None, "abrir_hasta": None,
                       "tacita_el": None},
                      {**base, "estado": "pendiente"},
                      {**base, "estado": "abierta", "abrir_hasta": "2027-01-01T05:59:59+00:00",
                       "tacita_el": "2027-01-04"}):
        assert (notificaciones_web.vista(sin_plazo)["abrir_antes"], notificaciones_web.vista(sin_plazo)["plazo"]) == (
            "", ""), sin_plazo
