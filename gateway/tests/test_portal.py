"""The citizen portal's pages over real RabbitMQ and PostgreSQL: sessions in cookies, CSRF, the CSP, escaping, and
the guide's flows (register, validate, delete, activate) driven as a browser would post them.

The e.firma is signed here in Python (buzon_dev.pruebas) where the page's script would sign it in the browser.
"""
import html
import http.client
import re
from functools import partial
from urllib.parse import urlsplit

import pytest
import requests

from buzon_activacion.service import Servicio as Activacion
from buzon_auth.service import Servicio as Auth
from buzon_buzon.service import Servicio as Buzon
from buzon_contactos.service import Servicio as Contactos
from buzon_dev.pruebas import b64, esperar, firmar, ingresar_portal, meta_csrf, oyente
from buzon_gateway.paginas import POLITICA_CONTENIDO
from buzon_gateway.service import Gateway
from buzon_gateway.sesion_web import csrf_de_sesion

RP1, RP2 = "A1234567890", "B1234567890"
RAZON_CON_HTML = "<b>EMPRESA</b> & CIA"
PADRON = (
    "rfc,registro_patronal,razon_social\n"
    f"EDE0101013A2,{RP1},{RAZON_CON_HTML}\n"
    f"EDE0101013A2,{RP2},EMPRESA DE DEMOSTRACION PLANTA 2\n"
)
PROTEGIDAS = ("/buzon", "/medios-contacto", "/medios-contacto/nuevo", "/activacion", "/activacion/acuse",
              "/medios-contacto/x/validar", "/medios-contacto/x/eliminar", "/medios-contacto/x/acuse/registro")


# Catches what contactos asks notificaciones to send: the SMS code and the email link.
Oyente, MENSAJES = oyente("oyente_portal", ("contactos", "sms_solicitado"), ("contactos", "correo_solicitado"))


def mensaje_de(medio_id: str, plantilla: str) -> dict:
    return esperar(lambda: next((m["datos"] for m in MENSAJES
                                 if m["datos"]["referencia"] == medio_id and m["datos"]["plantilla"] == plantilla),
                                None))


@pytest.fixture
def arrancar(entorno_auth, entorno_documentos, levantar, tmp_path, motor_de):
    """auth, contactos (with a padrón), activacion, buzon (the count of notifications on the Buzón's main screen)
    and the gateway; acuses and notificaciones are left out (the acuses' renderers take seconds to start).
    `arrancar(BUZON_PUBLIC_URL=…)` for another public URL than the gateway's own."""
    for servicio in ("contactos", "activacion", "buzon"):
        motor_de(servicio)
    padron = tmp_path / "padron.csv"
    padron.write_text(PADRON, encoding="utf-8")
    MENSAJES.clear()
    return partial(levantar, Auth, Contactos, Activacion, Buzon, Oyente, Gateway, BUZON_PADRON_CSV=str(padron))


@pytest.fixture
def url(arrancar):
    return arrancar()


def campo_csrf(texto: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', texto).group(1)


def set_cookie(respuesta, nombre: str) -> str:
    return next(valor for valor in respuesta.raw.headers.getlist("Set-Cookie") if valor.startswith(f"{nombre}="))


def sin_redirigir(navegador, metodo: str, url: str, **kwargs):
    return navegador.request(metodo, url, allow_redirects=False, **kwargs)


def revisar_pagina(respuesta) -> str:
    """Every page: the CSP, HTML, no inline script or style, no event-handler attributes."""
    assert respuesta.headers["Content-Security-Policy"] == POLITICA_CONTENIDO
    assert "'unsafe-inline'" not in POLITICA_CONTENIDO
    assert respuesta.headers["Content-Type"].startswith("text/html")
    texto = respuesta.text
    for etiqueta in re.findall(r"<script\b[^>]*>", texto, flags=re.I):
        assert re.search(r'\bsrc="/static/', etiqueta), etiqueta
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", texto, flags=re.I)
    assert "<style" not in texto.lower() and not re.search(r"\sstyle=", texto, flags=re.I)
    assert not re.search(r"\son[a-z]+=", texto, flags=re.I)
    assert '<meta name="viewport"' in texto
    # The official footer of every page (test_portal_imagen.py checks the rest of the look).
    for enlace in ("/aviso-privacidad", "/requisitos", "/soporte", "/api/v1/openapi.json"):
        assert f'<a href="{enlace}">' in re.search(r'<footer class="pie">.*?</footer>', texto, flags=re.S).group(0)
    return texto


def paso_actual(texto: str) -> int:
    """The guide's step the page marks as its own (portal/_pasos.html)."""
    [paso] = re.findall(r'<li class="paso actual" aria-current="step">\s*<span class="paso-numero">Paso (\d)', texto)
    return int(paso)


# --- public pages, static files ---

def test_home_and_support_are_public_and_link_everywhere(url):
    inicio = requests.get(f"{url}/")
    assert inicio.status_code == 200
    texto = revisar_pagina(inicio)
    assert 'href="/ingresar"' in texto and "Ingresar con e.firma" in texto and 'href="/soporte"' in texto
    soporte = requests.get(f"{url}/soporte")
    texto = revisar_pagina(soporte)
    assert "800 623 23 23" in texto and "opción 5, luego opción 5" in texto
    assert "9:00 a 18:00" in texto and "Promociones Electrónicas" in texto and "Aclaraciones u Orientaciones" in texto


def test_static_files_have_their_type_and_no_path_escapes(url):
    css = requests.get(f"{url}/static/css/buzon.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    forge = requests.get(f"{url}/static/vendor/forge.min.js")
    assert forge.status_code == 200 and forge.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=31536000" in forge.headers["Cache-Control"]
    for ruta in ("/static/vendor/SHA256SUMS", "/static/nada.css", "/static/../service.py",
                 "/static/%2e%2e/service.py", "/static/..%2fservice.py", "/static//etc/passwd.css"):
        conexion = http.client.HTTPConnection(urlsplit(url).netloc)  # sent as is, no client-side clean-up
        conexion.request("GET", ruta)
        respuesta = conexion.getresponse()
        cuerpo = respuesta.read()
        conexion.close()
        assert respuesta.status == 404, ruta
        assert b"no_encontrado" in cuerpo


# --- sessions and CSRF ---

def test_protected_pages_send_to_ingresar_without_a_session(url):
    for ruta in PROTEGIDAS:
        respuesta = sin_redirigir(requests, "GET", f"{url}{ruta}")
        assert (respuesta.status_code, respuesta.headers["Location"]) == (303, "/ingresar"), ruta
    falsa = sin_redirigir(requests, "GET", f"{url}/buzon", cookies={"buzon_sesion": "falso"})
    assert falsa.status_code == 303 and falsa.headers["Location"] == "/ingresar"
    assert "Max-Age=0" in set_cookie(falsa, "buzon_sesion")  # a dead cookie is dropped


def test_login_page_renders_the_efirma_form_and_sets_strict_cookies(url, efirma_dev_fisica):
    pagina = requests.get(f"{url}/ingresar")
    texto = revisar_pagina(pagina)
    cookie = set_cookie(pagina, "buzon_csrf")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert meta_csrf(texto) == pagina.cookies["buzon_csrf"]
    assert paso_actual(texto) == 1
    formulario = re.search(r"<form[^>]*id=\"form-efirma\"[^>]*>", texto).group(0)
    assert 'data-accion="ingresar"' in formulario and "novalidate" in formulario and "action" not in formulario
    for fragmento in ('<input type="file" id="cer" name="cer" accept=".cer" required>',
                      '<input type="file" id="key" name="key" accept=".key" required>',
                      '<input type="password" id="password" name="password" autocomplete="off" required>',
                      '<button type="submit" id="boton-efirma">Ingresar</button>',
                      '<div id="mensaje" role="alert" aria-live="assertive"></div>',
                      '<label for="cer">Certificado (.cer)</label>', '<label for="key">Clave privada (.key)</label>',
                      '<label for="password">Contraseña de la clave privada</label>', "<noscript>",
                      '<script src="/static/vendor/forge.min.js"></script><script src="/static/js/efirma.js"></script>'):
        assert fragmento in texto, fragmento

    navegador = ingresar_portal(url, efirma_dev_fisica)
    buzon = navegador.get(f"{url}/buzon")
    texto = revisar_pagina(buzon)
    assert "ANA MARIA MARTINEZ VARGAS" in texto and "MAVA800101RS5" in texto
    for enlace in ("/medios-contacto", "/activacion", "/soporte"):
        assert f'href="{enlace}"' in texto
    assert "<script" not in texto  # scripts only where the e.firma is signed


def test_session_cookie_flags(url, efirma_dev_fisica):
    pagina = requests.get(f"{url}/ingresar")
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    respuesta = requests.post(f"{url}/ingresar", cookies=pagina.cookies, headers={"X-CSRF-Token": meta_csrf(pagina.text)},
                              json={"certificado": b64(efirma_dev_fisica.cer_der), "reto": reto,
                                    "firma": firmar(efirma_dev_fisica, reto)})
    cookie = set_cookie(respuesta, "buzon_sesion")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie


def test_cookies_are_secure_when_the_public_url_is_https(arrancar, efirma_dev_fisica):
    url = arrancar(BUZON_PUBLIC_URL="https://buzon.imss.example")
    pagina = requests.get(f"{url}/ingresar")
    assert "Secure" in set_cookie(pagina, "buzon_csrf")
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    respuesta = requests.post(f"{url}/ingresar", headers={"X-CSRF-Token": meta_csrf(pagina.text)},
                              cookies={"buzon_csrf": meta_csrf(pagina.text)},
                              json={"certificado": b64(efirma_dev_fisica.cer_der), "reto": reto,
                                    "firma": firmar(efirma_dev_fisica, reto)})
    assert respuesta.status_code == 200
    assert "Secure" in set_cookie(respuesta, "buzon_sesion")


def test_login_without_the_double_submit_token_is_403(url, efirma_dev_fisica):
    navegador = requests.Session()
    pagina = navegador.get(f"{url}/ingresar")
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    cuerpo = {"certificado": b64(efirma_dev_fisica.cer_der), "reto": reto, "firma": firmar(efirma_dev_fisica, reto)}
    for encabezados in ({}, {"X-CSRF-Token": "otro"}):
        respuesta = navegador.post(f"{url}/ingresar", headers=encabezados, json=cuerpo)
        assert respuesta.status_code == 403
        assert respuesta.json()["error"]["codigo"] == "csrf_invalido"
    # The header alone is not enough: the cookie must say the same (another site can set neither).
    sin_cookie = requests.post(f"{url}/ingresar", headers={"X-CSRF-Token": meta_csrf(pagina.text)}, json=cuerpo)
    assert sin_cookie.status_code == 403
    # With the token, a login refusal keeps the API's status and code.
    malo = navegador.post(f"{url}/ingresar", headers={"X-CSRF-Token": meta_csrf(pagina.text)},
                          json={**cuerpo, "firma": firmar(efirma_dev_fisica, "otro texto")})
    assert malo.status_code == 401 and malo.json()["error"]["codigo"] in ("firma_invalida", "reto_invalido")
    assert "buzon_sesion" not in malo.cookies


def test_forms_without_the_session_csrf_are_403(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    datos = {"pestana": "rfc", "mecanismo": "correo", "valor": "ana@example.com"}
    for extra in ({}, {"csrf": "0" * 64}, {"csrf": csrf_de_sesion("otro token")}):
        for ruta in ("/medios-contacto/nuevo", "/medios-contacto/registrar", "/salir"):
            respuesta = sin_redirigir(navegador, "POST", f"{url}{ruta}", data={**datos, **extra})
            assert respuesta.status_code == 403, ruta
            assert 'role="alert"' in revisar_pagina(respuesta)
    assert "ana@example.com" not in navegador.get(f"{url}/medios-contacto").text
    assert sin_redirigir(navegador, "GET", f"{url}/buzon").status_code == 200  # /salir without a token did nothing


def test_salir_revokes_the_session(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    token = navegador.cookies["buzon_sesion"]
    csrf = campo_csrf(navegador.get(f"{url}/buzon").text)
    assert csrf == csrf_de_sesion(token)
    salida = sin_redirigir(navegador, "POST", f"{url}/salir", data={"csrf": csrf})
    assert (salida.status_code, salida.headers["Location"]) == (303, "/")
    assert "Max-Age=0" in set_cookie(salida, "buzon_sesion")
    # The token is dead in auth, not only forgotten by the browser.
    viejo = sin_redirigir(requests, "GET", f"{url}/buzon", cookies={"buzon_sesion": token})
    assert viejo.status_code == 303 and viejo.headers["Location"] == "/ingresar"
    assert requests.get(f"{url}/api/v1/sesiones/actual", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- medios de contacto ---

def registrar(navegador, url, **valores):
    """The guide's steps: the form, "Guardar" (the confirmation window), "Aceptar"."""
    formulario = navegador.get(f"{url}/medios-contacto/nuevo", params={"pestana": valores.get("pestana", "rfc")})
    csrf = campo_csrf(revisar_pagina(formulario))
    datos = {"csrf": csrf, "pestana": "rfc", **valores}
    confirmacion = navegador.post(f"{url}/medios-contacto/nuevo", data=datos)
    texto = revisar_pagina(confirmacion)
    assert confirmacion.status_code == 200, texto
    assert "Registrar medio de contacto" in texto
    assert "¿Desea continuar con el trámite para el Registro de su medio de contacto?" in texto
    assert 'action="/medios-contacto/registrar"' in texto and ">Cancelar</a>" in texto
    ocultos = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', texto))
    return navegador.post(f"{url}/medios-contacto/registrar", data={k: html.unescape(v) for k, v in ocultos.items()})


def medio_en_lista(navegador, url, valor: str) -> str:
    texto = revisar_pagina(navegador.get(f"{url}/medios-contacto"))
    fila = next(f for f in re.findall(r"<tr>.*?</tr>", texto, flags=re.S) if valor in f)
    return fila


def id_de(fila: str) -> str:
    return re.search(r"/medios-contacto/([0-9a-f-]+)/", fila).group(1)


def test_register_an_email_shows_the_green_box_and_the_list(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    registro = registrar(navegador, url, mecanismo="correo", valor="Ana@Example.com")
    texto = revisar_pagina(registro)
    assert registro.status_code == 201 and paso_actual(texto) == 2
    recuadro = re.search(r'<section class="recuadro-verde" role="status">.*?</section>', texto, flags=re.S).group(0)
    assert re.search(r"<dt>Folio</dt><dd>REG-?\S+</dd>", recuadro) or "<dt>Folio</dt>" in recuadro
    assert re.search(r"<dt>Fecha</dt><dd>\d{2}/\d{2}/\d{4}</dd>", recuadro)
    assert re.search(r"<dt>Hora</dt><dd>\d{2}:\d{2}:\d{2}</dd>", recuadro)
    assert 'href="/medios-contacto">Regresar</a>' in texto

    fila = medio_en_lista(navegador, url, "ana@example.com")
    assert "Correo Electrónico" in fila and "Pendiente de validación" in fila
    assert '<td data-etiqueta="Aplica a">RFC <span class="identificador">MAVA800101RS5</span></td>' in fila
    assert f"/medios-contacto/{id_de(fila)}/acuse/registro" in fila
    assert f"/medios-contacto/{id_de(fila)}/eliminar" in fila and "/validar" not in fila


def test_a_double_submit_of_the_confirmation_registers_once(url, efirma_dev_fisica):
    """The confirmation carries a key made when it was rendered: a second click on "Aceptar", or a reload of the
    POST, sends it again and gets the first green box instead of a second registration."""
    navegador = ingresar_portal(url, efirma_dev_fisica)
    csrf = campo_csrf(revisar_pagina(navegador.get(f"{url}/medios-contacto/nuevo")))
    datos = {"csrf": csrf, "pestana": "rfc", "mecanismo": "correo", "valor": "doble@example.com"}
    confirmaciones = [revisar_pagina(navegador.post(f"{url}/medios-contacto/nuevo", data=datos)) for _ in range(2)]
    ocultos = [dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', texto)) for texto in confirmaciones]
    assert ocultos[0]["idempotencia"] and ocultos[0]["idempotencia"] != ocultos[1]["idempotencia"]

    envios = [navegador.post(f"{url}/medios-contacto/registrar", data=ocultos[0]) for _ in range(2)]
    assert [envio.status_code for envio in envios] == [201, 201]
    folios = [re.search(r"<dt>Folio</dt><dd>([^<]+)</dd>", revisar_pagina(envio)).group(1) for envio in envios]
    assert folios[0] == folios[1]
    medio_id = id_de(medio_en_lista(navegador, url, "doble@example.com"))
    assert revisar_pagina(navegador.get(f"{url}/medios-contacto")).count("doble@example.com") == 1
    mensaje_de(medio_id, "validacion_correo")
    assert sum(1 for m in MENSAJES if m["datos"]["referencia"] == medio_id) == 1
    # Another confirmation is another request: the same medio again is a duplicate, told on the form.
    otra = navegador.post(f"{url}/medios-contacto/registrar", data=ocultos[1])
    assert otra.status_code == 422 and "ya está registrado" in revisar_pagina(otra)


def test_a_refused_registration_shows_the_form_again_with_the_message(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    rechazo = registrar(navegador, url, mecanismo="correo", valor="no-es-un-correo")
    texto = revisar_pagina(rechazo)
    assert rechazo.status_code == 422
    assert re.search(r'<div class="error" role="alert">[^<]*correo', texto)
    assert 'value="no-es-un-correo"' in texto and '<option value="correo" selected>' in texto


def test_rp_tab_only_for_a_patron_and_razon_social_is_escaped(url, efirma_dev_fisica, efirma_dev_moral):
    particular = ingresar_portal(url, efirma_dev_fisica)
    assert "Medio de Contacto de Registros Patronales" not in particular.get(f"{url}/medios-contacto/nuevo").text

    patron = ingresar_portal(url, efirma_dev_moral)
    pestana = patron.get(f"{url}/medios-contacto/nuevo", params={"pestana": "rp"})
    texto = revisar_pagina(pestana)
    assert "Medio de Contacto de Registros Patronales" in texto
    assert "Seleccionar todos los Registros Patronales" in texto
    assert html.escape(RAZON_CON_HTML, quote=False) in texto and RAZON_CON_HTML not in texto

    registro = registrar(patron, url, pestana="rp", mecanismo="correo", valor="rp@example.com", todos="1")
    assert registro.status_code == 201, registro.text
    fila = medio_en_lista(patron, url, "rp@example.com")
    assert f'<span class="identificador">{RP1}</span> · {html.escape(RAZON_CON_HTML, quote=False)}</li>' in fila
    assert f'<span class="identificador">{RP2}</span> · EMPRESA DE DEMOSTRACION PLANTA 2</li>' in fila

    uno = registrar(patron, url, pestana="rp", mecanismo="telefono", valor="5512345678", registro_patronal=RP2)
    assert uno.status_code == 201, uno.text
    fila = medio_en_lista(patron, url, "5512345678")
    assert RP2 in fila and RP1 not in fila


def test_phone_validation_wrong_code_then_the_right_one(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    assert registrar(navegador, url, mecanismo="telefono", valor="5587654321").status_code == 201
    fila = medio_en_lista(navegador, url, "5587654321")
    medio_id = id_de(fila)
    assert f'href="/medios-contacto/{medio_id}/validar">' in fila

    ventana = navegador.get(f"{url}/medios-contacto/{medio_id}/validar")
    texto = revisar_pagina(ventana)
    assert "Validación de Celular" in texto and '<label for="codigo">Código de verificación</label>' in texto
    assert 'inputmode="numeric"' in texto
    codigo = mensaje_de(medio_id, "codigo_sms")["datos"]["codigo"]
    erroneo = f"{(int(codigo) + 1) % 100000:05d}"
    fallo = navegador.post(f"{url}/medios-contacto/{medio_id}/validar", data={"csrf": campo_csrf(texto), "codigo": erroneo})
    texto = revisar_pagina(fallo)
    assert fallo.status_code == 422
    assert 'role="alert"' in texto and re.search(r"Intentos restantes: \d+", texto)
    assert 'name="codigo"' in texto  # the window stays open for another try

    exito = navegador.post(f"{url}/medios-contacto/{medio_id}/validar", data={"csrf": campo_csrf(texto), "codigo": codigo})
    texto = revisar_pagina(exito)
    assert exito.status_code == 200
    assert 'class="recuadro-verde" role="status"' in texto and "validación exitosa" in texto
    assert 'Da clic <a href="/activacion">aquí</a> para ingresar a la sección Activación Buzón IMSS' in texto
    assert 'href="/medios-contacto">Regresar</a>' in texto
    assert "Validado" in medio_en_lista(navegador, url, "5587654321")


def test_delete_asks_for_confirmation_first(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    registrar(navegador, url, mecanismo="correo", valor="borrar@example.com")
    medio_id = id_de(medio_en_lista(navegador, url, "borrar@example.com"))
    confirmacion = navegador.get(f"{url}/medios-contacto/{medio_id}/eliminar")
    texto = revisar_pagina(confirmacion)
    assert "borrar@example.com" in texto and 'method="post"' in texto
    assert "borrar@example.com" in navegador.get(f"{url}/medios-contacto").text  # a GET deletes nothing
    baja = navegador.post(f"{url}/medios-contacto/{medio_id}/eliminar", data={"csrf": campo_csrf(texto)})
    assert baja.status_code == 200 and 'role="status"' in revisar_pagina(baja)
    # Out of the medios in force, into the history of bajas.
    vigentes, _, historial = navegador.get(f"{url}/medios-contacto").text.partition('id="historial"')
    assert "borrar@example.com" not in vigentes and "borrar@example.com" in historial


def test_acuses_that_do_not_exist_are_a_404_page(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    registrar(navegador, url, mecanismo="correo", valor="acuse@example.com")
    medio_id = id_de(medio_en_lista(navegador, url, "acuse@example.com"))
    for tipo in ("baja", "otro"):
        respuesta = navegador.get(f"{url}/medios-contacto/{medio_id}/acuse/{tipo}")
        assert respuesta.status_code == 404 and 'role="alert"' in revisar_pagina(respuesta)
    ajeno = navegador.get(f"{url}/medios-contacto/00000000-0000-0000-0000-000000000000/acuse/registro")
    assert ajeno.status_code == 404


# --- activation ---

def test_activation_from_requisitos_to_the_signed_solicitud(url, efirma_dev_fisica):
    navegador = ingresar_portal(url, efirma_dev_fisica)
    antes = revisar_pagina(navegador.get(f"{url}/activacion"))
    assert antes.count("<strong>pendiente</strong>") == 2 and paso_actual(antes) == 3
    # A Particular's notice: information to read, not an error.
    assert re.search(r'<div class="aviso-info" role="note"><p>Estimado Usuario: Tu RFC no tiene asociados '
                     r'Registros Patronales', antes)
    assert "texto-solicitud" not in antes and "<script" not in antes

    # The requisitos: an RFC-level email validated from its link and a mobile validated with its code.
    registrar(navegador, url, mecanismo="correo", valor="activa@example.com")
    correo_id = id_de(medio_en_lista(navegador, url, "activa@example.com"))
    enlace = mensaje_de(correo_id, "validacion_correo")["datos"]["enlace"]
    assert requests.get(f"{url}{urlsplit(enlace).path}").status_code == 200
    registrar(navegador, url, mecanismo="telefono", valor="5511223344")
    telefono_id = id_de(medio_en_lista(navegador, url, "5511223344"))
    codigo = mensaje_de(telefono_id, "codigo_sms")["datos"]["codigo"]
    csrf = campo_csrf(navegador.get(f"{url}/medios-contacto/{telefono_id}/validar").text)
    assert navegador.post(f"{url}/medios-contacto/{telefono_id}/validar",
                          data={"csrf": csrf, "codigo": codigo}).status_code == 200

    lista = revisar_pagina(navegador.get(f"{url}/activacion"))
    # The Solicitud as a document: its headings, its data and its statement, no box of fixed-width text.
    assert "<pre" not in lista and '<article class="solicitud" id="texto-solicitud"' in lista
    solicitud = re.search(r'<article class="solicitud".*?</article>', lista, flags=re.S).group(0)
    for fragmento in ("<h3>Datos de la persona solicitante</h3>", "<dt>RFC</dt><dd>MAVA800101RS5</dd>",
                      "<h3>Medios de contacto validados</h3>", "<li>Correo electrónico: activa@example.com (del RFC)</li>",
                      "<h3>Registros Patronales</h3>", "<p>El RFC MAVA800101RS5 no tiene asociados Registros Patronales"):
        assert fragmento in solicitud, fragmento
    assert re.search(r'<form method="get" action="/activacion">\s*<input type="hidden" name="aceptar" value="1">'
                     r'\s*<button type="submit">Aceptar</button>', lista)
    assert "form-efirma" not in lista

    aceptada = navegador.get(f"{url}/activacion", params={"aceptar": "1"})
    texto = revisar_pagina(aceptada)
    formulario = re.search(r'<form id="form-efirma"[^>]*>', texto).group(0)
    assert 'data-accion="activar"' in formulario and "action=" not in formulario
    assert '<button type="submit" id="boton-efirma">Firmar</button>' in texto
    assert '<script src="/static/js/efirma.js"></script>' in texto
    cadena = html.unescape(re.search(r'data-cadena="([^"]*)"', formulario).group(1))
    assert cadena.startswith("||") and "MAVA800101RS5" in cadena
    # The cadena the e.firma signs, readable in a collapsible detail beside the form.
    detalle = re.search(r'<details class="cadena">.*?</details>', texto, flags=re.S).group(0)
    assert html.unescape(re.search(r'<p class="cadena-original">(.*?)</p>', detalle).group(1)) == cadena
    csrf = meta_csrf(texto)
    assert csrf == csrf_de_sesion(navegador.cookies["buzon_sesion"])

    cuerpo = {"certificado": b64(efirma_dev_fisica.cer_der), "firma": firmar(efirma_dev_fisica, cadena)}
    sin_token = navegador.post(f"{url}/activacion/firmar", json=cuerpo)
    assert sin_token.status_code == 403 and sin_token.json()["error"]["codigo"] == "csrf_invalido"
    sin_sesion = requests.post(f"{url}/activacion/firmar", headers={"X-CSRF-Token": csrf}, json=cuerpo)
    assert sin_sesion.status_code == 401 and sin_sesion.json()["error"]["codigo"] == "no_autenticado"
    mala = navegador.post(f"{url}/activacion/firmar", headers={"X-CSRF-Token": csrf},
                          json={**cuerpo, "firma": firmar(efirma_dev_fisica, "otra cadena")})
    assert mala.status_code == 422 and mala.json()["error"]["codigo"] == "firma_invalida"

    firmada = navegador.post(f"{url}/activacion/firmar", headers={"X-CSRF-Token": csrf}, json=cuerpo)
    assert firmada.status_code == 200, firmada.text
    # The guide's step V.16: the Buzón's main screen, the activation confirmed with its folio and its acuse.
    assert firmada.json() == {"destino": "/buzon?activado=1"}
    buzon = revisar_pagina(navegador.get(f"{url}/buzon", params={"activado": "1"}))
    recuadro = re.search(r'<section class="recuadro-verde" role="status".*?</section>', buzon, flags=re.S).group(0)
    assert "Se activó tu Buzón IMSS" in recuadro and 'href="/activacion/acuse"' in recuadro
    folio = re.search(r'<dt>Folio</dt><dd class="identificador">(ACT-\d{4}-\d{8})</dd>', recuadro).group(1)
    for servicio in ("/medios-contacto", "/activacion", "/promociones", "/soporte"):
        assert f'<h3><a href="{servicio}">' in buzon, servicio
    activa = revisar_pagina(navegador.get(f"{url}/activacion"))
    assert "Tu Buzón IMSS está activo" in activa and 'href="/activacion/acuse"' in activa
    assert f"<dt>Folio</dt><dd>{folio}</dd>" in activa
    despues = navegador.get(f"{url}/buzon").text
    assert "Tu Buzón IMSS está activo" in despues and "Se activó" not in despues and folio in despues
    # The Buzón's notifications (issue 13): none yet, and where they will be.
    assert "No tienes notificaciones sin abrir." in despues and 'href="/buzon/notificaciones"' in despues
