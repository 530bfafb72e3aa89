"""Contact means through the gateway over real RabbitMQ and PostgreSQL: the resend call of the API
(`POST /api/v1/medios-contacto/{id}/reenvio`) and the portal's "Mis medios de contacto" (Aplica a, deadlines, the
guide's actions, Reenviar, the history of bajas with their acuses).

acuses is a stand-in (the real one's renderers take seconds to start): it hears contactos' requests and serves a
PDF for the folios it heard; the messages contactos asks for are caught on the bus.
"""
import base64
import html
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from nameko.events import event_handler
from sqlalchemy import text

from buzon_auth.service import Servicio as Auth
from buzon_comun.errores import NoEncontrado
from buzon_comun.reloj import ZONA_MEXICO
from buzon_comun.servicio import rpc
from buzon_contactos.service import Servicio as Contactos
from buzon_dev.pruebas import b64, esperar, firmar, ingresar_portal, oyente
from buzon_gateway.medios_web import fila, tablero, vencimiento
from buzon_gateway.paginas import POLITICA_CONTENIDO
from buzon_gateway.service import Gateway

RP1, RP2 = "A1234567890", "B1234567890"
PADRON = ("rfc,registro_patronal,razon_social\n"
          f"EDE0101013A2,{RP1},EMPRESA DE DEMOSTRACION PLANTA 1\n"
          f"EDE0101013A2,{RP2},EMPRESA DE DEMOSTRACION PLANTA 2\n")
PDF = b"%PDF-1.7 acuse de prueba"
LIMITE = 5  # BUZON_LIMITE_MENSAJES_POR_DESTINO's floor

Oyente, MENSAJES = oyente("oyente_medios_contacto", ("contactos", "sms_solicitado"), ("contactos", "correo_solicitado"))


class AcusesFalso:
    name = "acuses"
    folios: dict = {}

    @event_handler("contactos", "acuse_solicitado")
    def acuse_solicitado(self, mensaje):
        AcusesFalso.folios[mensaje["datos"]["folio"]] = mensaje["datos"]["rfc"]

    @rpc
    def codigos(self, rfc, folios):
        return {"codigos": {}}

    @rpc
    def pdf(self, folio, rfc):
        if AcusesFalso.folios.get(folio) != rfc:
            raise NoEncontrado("no_encontrado", "El acuse aún no está disponible.")
        return base64.b64encode(PDF).decode("ascii")


@pytest.fixture
def motor(motor_de):
    """contactos' tables, emptied before the services start (the padrón is imported at start)."""
    return motor_de("contactos")


@pytest.fixture
def url(entorno_auth, levantar, tmp_path, motor):
    padron = tmp_path / "padron.csv"
    padron.write_text(PADRON, encoding="utf-8")
    MENSAJES.clear()
    AcusesFalso.folios.clear()
    return levantar(Auth, Contactos, AcusesFalso, Oyente, Gateway, BUZON_PADRON_CSV=str(padron),
                    BUZON_SECRETO_CODIGOS="secreto de las pruebas", BUZON_LIMITE_MENSAJES_POR_DESTINO=str(LIMITE))


# -- helpers ----------------------------------------------------------------------------------------------------

def cabecera(url, emitido) -> dict:
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    token = requests.post(f"{url}/api/v1/sesiones", json={"certificado": b64(emitido.cer_der), "reto": reto,
                                                          "firma": firmar(emitido, reto)}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def registrar(url, cabeceras, mecanismo, valor, **extra):
    respuesta = requests.post(f"{url}/api/v1/medios-contacto", headers=cabeceras,
                              json={"mecanismo": mecanismo, "valor": valor, **extra})
    assert respuesta.status_code == 201, respuesta.text
    return respuesta.json()


def reenviar(url, cabeceras, medio_id, **encabezados):
    return requests.post(f"{url}/api/v1/medios-contacto/{medio_id}/reenvio", headers={**cabeceras, **encabezados})


def mensajes(medio_id: str, plantilla: str) -> list[dict]:
    return [m["datos"] for m in MENSAJES
            if m["datos"]["referencia"] == medio_id and m["datos"]["plantilla"] == plantilla]


def esperar_mensajes(medio_id: str, plantilla: str, cuantos: int) -> list[dict]:
    return esperar(lambda: (lambda hay: hay if len(hay) >= cuantos else None)(mensajes(medio_id, plantilla)))


def pagina(respuesta) -> str:
    """A page of the portal: its CSP, no inline script or style (the icons are inline SVG, drawn by attributes)."""
    assert respuesta.headers["Content-Security-Policy"] == POLITICA_CONTENIDO
    texto = respuesta.text
    assert "<script" not in texto and "<style" not in texto.lower() and not re.search(r"\sstyle=", texto)
    assert not re.search(r"\son[a-z]+=", texto, flags=re.I) and "http://" not in texto.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    return texto


def filas(texto: str) -> list[str]:
    return re.findall(r"<tr>\s*<td.*?</tr>", texto, flags=re.S)


def fila_de(texto: str, valor: str) -> str:
    return next(f for f in filas(texto) if f'class="medio-valor">{valor}<' in f)


def partes(texto: str) -> tuple[str, str]:
    """(the medios in force, the history of bajas) of the page."""
    vigentes, _, historial = texto.partition('id="historial"')
    return vigentes, historial


def formulario_reenvio(fila_html: str) -> tuple[str, dict]:
    formulario = re.search(r'<form method="post" action="([^"]+/reenviar)".*?</form>', fila_html, flags=re.S)
    campos = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', formulario.group(0)))
    return formulario.group(1), campos


def caducar(motor, medio_id: str) -> None:
    """What the passing of the window does: the medio's deadline is now behind it."""
    with motor.begin() as conexion:
        conexion.execute(text("UPDATE medios SET vence_en = :t WHERE id = :i"),
                         {"t": datetime.now(timezone.utc) - timedelta(seconds=1), "i": medio_id})


# -- the API's resend -------------------------------------------------------------------------------------------

def test_a_resend_sends_a_new_code_that_replaces_the_old_one(url, efirma_dev_fisica):
    yo = cabecera(url, efirma_dev_fisica)
    medio = registrar(url, yo, "telefono", "5511112222")
    [primero] = esperar_mensajes(medio["id"], "codigo_sms", 1)
    respuesta = reenviar(url, yo, medio["id"])
    assert respuesta.status_code == 200, respuesta.text
    reenviado = respuesta.json()
    assert (reenviado["id"], reenviado["estado"]) == (medio["id"], "pendiente")
    assert {"codigos_verificacion", "vence_en", "baja_en"} <= set(reenviado)
    assert datetime.fromisoformat(reenviado["vence_en"]) >= datetime.fromisoformat(medio["vence_en"])
    segundo = esperar_mensajes(medio["id"], "codigo_sms", 2)[1]
    assert segundo["para"] == "+525511112222" and segundo["id_mensaje"] != primero["id_mensaje"]
    viejo, nuevo = primero["datos"]["codigo"], segundo["datos"]["codigo"]
    if viejo != nuevo:  # one chance in 100,000 that the new code is the old one
        fallo = requests.post(f"{url}/api/v1/medios-contacto/{medio['id']}/validacion", headers=yo,
                              json={"codigo": viejo})
        assert (fallo.status_code, fallo.json()["error"]["codigo"]) == (422, "codigo_incorrecto")
    validado = requests.post(f"{url}/api/v1/medios-contacto/{medio['id']}/validacion", headers=yo,
                             json={"codigo": nuevo})
    assert validado.status_code == 200 and validado.json()["estado"] == "validado"


def test_a_resent_link_keeps_the_deadline_and_only_the_latest_link_validates(url, efirma_dev_fisica):
    yo = cabecera(url, efirma_dev_fisica)
    medio = registrar(url, yo, "correo", "ana@example.com")
    reenviado = reenviar(url, yo, medio["id"]).json()
    assert reenviado["vence_en"] == medio["vence_en"]  # an email's window runs from its registration
    primero, segundo = (m["datos"]["enlace"] for m in esperar_mensajes(medio["id"], "validacion_correo", 2))
    viejo = requests.get(primero)
    assert viejo.status_code == 404 and "correo más reciente" in html.unescape(viejo.text)
    assert requests.get(segundo).status_code == 200


def test_a_resend_repeated_with_its_key_sends_once(url, efirma_dev_fisica):
    yo = cabecera(url, efirma_dev_fisica)
    medio = registrar(url, yo, "correo", "una@example.com")
    primera = reenviar(url, yo, medio["id"], **{"Idempotency-Key": "reenvio-1"})
    repetida = reenviar(url, yo, medio["id"], **{"Idempotency-Key": "reenvio-1"})
    assert (primera.status_code, repetida.status_code) == (200, 200) and repetida.json() == primera.json()
    esperar_mensajes(medio["id"], "validacion_correo", 2)
    otro = registrar(url, yo, "correo", "otra@example.com")
    conflicto = reenviar(url, yo, otro["id"], **{"Idempotency-Key": "reenvio-1"})
    assert (conflicto.status_code, conflicto.json()["error"]["codigo"]) == (409, "idempotencia_conflicto")
    malo = reenviar(url, yo, medio["id"], **{"Idempotency-Key": "x" * 201})
    assert (malo.status_code, malo.json()["error"]["codigo"]) == (400, "solicitud_invalida")
    assert len(mensajes(medio["id"], "validacion_correo")) == 2


def test_resend_refusals_in_the_contracts_shape(url, efirma_dev_fisica, efirma_dev_moral, motor):
    yo = cabecera(url, efirma_dev_fisica)
    telefono = registrar(url, yo, "telefono", "5533334444")
    for _ in range(LIMITE - 1):
        assert reenviar(url, yo, telefono["id"]).status_code == 200
    limite = reenviar(url, yo, telefono["id"])
    assert limite.status_code == 429 and limite.json()["error"]["codigo"] == "demasiadas_solicitudes"
    assert f"{LIMITE} mensajes a este destino" in limite.json()["error"]["mensaje"]

    codigo = esperar_mensajes(telefono["id"], "codigo_sms", LIMITE)[-1]["datos"]["codigo"]
    requests.post(f"{url}/api/v1/medios-contacto/{telefono['id']}/validacion", headers=yo, json={"codigo": codigo})
    validado = reenviar(url, yo, telefono["id"])
    assert (validado.status_code, validado.json()["error"]["codigo"]) == (409, "ya_validado")

    correo = registrar(url, yo, "correo", "baja@example.com")
    requests.delete(f"{url}/api/v1/medios-contacto/{correo['id']}", headers=yo)
    baja = reenviar(url, yo, correo["id"])
    assert (baja.status_code, baja.json()["error"]["codigo"]) == (409, "medio_dado_de_baja")
    assert "regístralo de nuevo" in baja.json()["error"]["mensaje"]

    tarde = registrar(url, yo, "correo", "tarde@example.com")
    caducar(motor, tarde["id"])
    vencido = reenviar(url, yo, tarde["id"])
    assert (vencido.status_code, vencido.json()["error"]["codigo"]) == (409, "medio_dado_de_baja")
    assert "vencimiento" in vencido.json()["error"]["mensaje"]

    otro = cabecera(url, efirma_dev_moral)
    for ajeno in (telefono["id"], "no-existe", "x" * 300):
        respuesta = reenviar(url, otro, ajeno)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (404, "no_encontrado")
    assert reenviar(url, {}, telefono["id"]).status_code == 401


# -- the portal: Mis medios de contacto -------------------------------------------------------------------------

def test_the_list_shows_whom_each_medio_applies_to_its_deadline_and_the_guides_actions(url, efirma_dev_moral):
    navegador = ingresar_portal(url, efirma_dev_moral)
    yo = {"Authorization": f"Bearer {navegador.cookies['buzon_sesion']}"}
    correo = registrar(url, yo, "correo", "rh@example.com", registros_patronales=["*"])
    telefono = registrar(url, yo, "telefono", "5512345678")
    texto = pagina(navegador.get(f"{url}/medios-contacto"))
    assert "tabla-desplazable" not in texto and '<th scope="col">Aplica a</th>' in texto and ">Para<" not in texto

    fila_correo = fila_de(texto, "rh@example.com")
    assert f'<span class="identificador">{RP1}</span> · EMPRESA DE DEMOSTRACION PLANTA 1</li>' in fila_correo
    assert f'<span class="identificador">{RP2}</span> · EMPRESA DE DEMOSTRACION PLANTA 2</li>' in fila_correo
    vence = datetime.fromisoformat(correo["vence_en"]).astimezone(ZONA_MEXICO)
    assert f'<span class="medio-vence">Vence el {vence:%d/%m/%Y} a las {vence:%H:%M}</span>' in fila_correo
    assert "/validar" not in fila_correo  # an email is validated from its link
    fila_telefono = fila_de(texto, "5512345678")
    assert '<td data-etiqueta="Aplica a">RFC <span class="identificador">EDE0101013A2</span></td>' in fila_telefono
    for medio, acciones in ((correo, fila_correo), (telefono, fila_telefono)):
        # Each action an icon and its words, its full name for a screen reader.
        assert acciones.count('<svg class="icono"') == len(re.findall(r'class="medio-accion[" ]', acciones))
        assert (f'href="/medios-contacto/{medio["id"]}/acuse/registro">' in acciones
                and '<span class="medios-oculto">Descargar </span>Acuse de registro' in acciones)
        assert f'href="/medios-contacto/{medio["id"]}/eliminar">' in acciones and "Eliminar<span" in acciones
        assert f'action="/medios-contacto/{medio["id"]}/reenviar"' in acciones and "Reenviar<span" in acciones
    assert f'href="/medios-contacto/{telefono["id"]}/validar">' in fila_telefono and "Validar<span" in fila_telefono
    assert '<span class="medios-oculto"> el código</span>' in fila_telefono
    assert '<span class="medios-oculto"> el enlace de validación</span>' in fila_correo


def test_reenviar_from_the_list_sends_once_and_says_so(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    yo = {"Authorization": f"Bearer {navegador.cookies['buzon_sesion']}"}
    medio = registrar(url, yo, "telefono", "5599998888")
    accion, campos = formulario_reenvio(fila_de(navegador.get(f"{url}/medios-contacto").text, "5599998888"))
    assert accion == f"/medios-contacto/{medio['id']}/reenviar" and campos["idempotencia"] and campos["csrf"]
    respuestas = [navegador.post(f"{url}{accion}", data=campos) for _ in range(2)]  # a double click
    for respuesta in respuestas:
        texto = " ".join(pagina(respuesta).split())
        assert respuesta.status_code == 200 and 'class="recuadro-verde" role="status"' in texto
        assert "nuevo código de verificación" in texto and "El código anterior ya no es válido" in texto
        assert re.search(r"Vence el \d{2}/\d{2}/\d{4} a las \d{2}:\d{2}", texto)
        assert f'href="/medios-contacto/{medio["id"]}/validar">Validar medio de contacto</a>' in texto
    assert len(esperar_mensajes(medio["id"], "codigo_sms", 2)) == 2

    # From the validation window too, and a refusal is a page that says why.
    ventana = pagina(navegador.get(f"{url}/medios-contacto/{medio['id']}/validar"))
    assert "Reenviar código" in ventana and re.search(r'class="medio-vence">Vence el ', ventana)
    _, campos = formulario_reenvio(ventana)
    codigo = esperar_mensajes(medio["id"], "codigo_sms", 2)[-1]["datos"]["codigo"]
    requests.post(f"{url}/api/v1/medios-contacto/{medio['id']}/validacion", headers=yo, json={"codigo": codigo})
    rechazo = navegador.post(f"{url}/medios-contacto/{medio['id']}/reenviar", data=campos)
    texto = pagina(rechazo)
    assert rechazo.status_code == 409 and 'role="alert"' in texto and "ya está validado" in texto
    assert 'href="/medios-contacto">Regresar</a>' in texto
    sin_csrf = navegador.post(f"{url}/medios-contacto/{medio['id']}/reenviar", data={"idempotencia": "x"})
    assert sin_csrf.status_code == 403


def test_bajas_stay_in_the_history_with_their_acuses(url, efirma_dev_fisica, motor):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    yo = {"Authorization": f"Bearer {navegador.cookies['buzon_sesion']}"}
    validado = registrar(url, yo, "correo", "vieja@example.com")
    enlace = esperar_mensajes(validado["id"], "validacion_correo", 1)[0]["datos"]["enlace"]
    assert requests.get(enlace).status_code == 200
    baja = requests.delete(f"{url}/api/v1/medios-contacto/{validado['id']}", headers=yo).json()
    with motor.begin() as conexion:  # deleted an hour ago, so that the order below is not a matter of milliseconds
        conexion.execute(text("UPDATE medios SET baja_en = baja_en - interval '1 hour' WHERE id = :i"),
                         {"i": validado["id"]})
    tarde = registrar(url, yo, "telefono", "5577776666")
    caducar(motor, tarde["id"])

    texto = pagina(navegador.get(f"{url}/medios-contacto"))
    vigentes, historial = partes(texto)
    assert "vieja@example.com" not in vigentes and "5577776666" not in vigentes
    assert "No tienes medios de contacto vigentes" in vigentes
    assert "Historial de medios dados de baja" in historial
    # The latest baja first: the lapse (marked when the list was read) before the deletion.
    assert historial.index("5577776666") < historial.index("vieja@example.com")
    fila_baja = fila_de(historial, "vieja@example.com")
    assert "Dado de baja</span>" in fila_baja and 'class="medio-fecha-baja">el ' in fila_baja
    for tipo in ("registro", "validacion", "baja"):
        assert f'href="/medios-contacto/{validado["id"]}/acuse/{tipo}">' in fila_baja
    assert "/eliminar" not in fila_baja and "/reenviar" not in fila_baja
    fila_vencida = fila_de(historial, "5577776666")
    assert "Dado de baja por vencimiento" in fila_vencida and "Vence el" not in fila_vencida
    assert "/validar" not in fila_vencida and "/reenviar" not in fila_vencida

    acuse = esperar(lambda: (lambda r: r if r.status_code == 200 else None)(
        navegador.get(f"{url}/medios-contacto/{validado['id']}/acuse/baja")))
    assert acuse.headers["Content-Type"] == "application/pdf" and acuse.content == PDF
    assert baja["acuses"]["baja"] in acuse.headers["Content-Disposition"]


# -- how a medio is shown, without a browser --------------------------------------------------------------------

def test_a_deadline_is_shown_in_mexico_city_time():
    assert vencimiento("2026-12-01T18:30:00+00:00") == "Vence el 01/12/2026 a las 12:30"
    assert vencimiento(None) == ""


def test_many_registros_patronales_fold_under_a_summary_and_history_runs_newest_first():
    rps = [f"A{i:010d}" for i in range(5)]
    base = {"mecanismo": "correo", "valor": "a@example.com", "folio": "REG-2026-00000001",
            "registrado_en": "2026-11-28T12:00:00-06:00", "vence_en": "2026-12-01T12:00:00-06:00",
            "acuses": {"registro": "REG-2026-00000001", "validacion": None, "baja": None}}
    vista = fila({**base, "id": "1", "estado": "pendiente", "registros_patronales": rps}, {rps[0]: "RAZON"}, "X")
    assert vista["rps_plegados"] and vista["aplica_rfc"] is None
    assert vista["aplica_rps"][0] == {"registro_patronal": rps[0], "razon_social": "RAZON"}
    assert (vista["validable"], vista["reenviable"], vista["eliminable"]) == (False, True, True)
    vigentes, historial = tablero([
        {**base, "id": "a", "estado": "baja", "baja_en": "2026-11-29T10:00:00-06:00", "registros_patronales": []},
        {**base, "id": "b", "estado": "validado", "registros_patronales": []},
        {**base, "id": "c", "estado": "baja_vencimiento", "baja_en": "2026-11-30T10:00:00-06:00",
         "registros_patronales": []},
    ], [], "MAVA800101RS5")
    assert [f["id"] for f in vigentes] == ["b"] and [f["id"] for f in historial] == ["c", "a"]
    assert historial[0]["estado_texto"] == "Dado de baja por vencimiento" and historial[0]["vence"] == ""
    assert not historial[0]["reenviable"] and not historial[0]["eliminable"] and historial[0]["clave"] == ""
