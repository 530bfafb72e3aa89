"""The citizen portal: the guide's screens, server-rendered over the same RPCs as the JSON API.

`Portal` is a mixin of nameko `@http` page routes; `Gateway` inherits it and gives it its RpcProxy attributes
(auth, contactos, activacion, acuses, servicio_buzon) and `config`. The session travels in an HttpOnly cookie (`sesion_web`);
every POST carries a CSRF token. The e.firma is signed in the browser (static/js/efirma.js): the pages only
render the form that script drives and take the certificate and signature it sends, never the key.
"""
from __future__ import annotations

import functools
import logging
import os
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from buzon_comun.errores import (
    Conflicto, DemasiadasSolicitudes, ErrorBuzon, NoAutenticado, NoEncontrado, Prohibido, ReglaIncumplida,
    ServicioNoDisponible,
)
from buzon_comun.textos import es_texto_valido
from buzon_gateway import cuerpos, notificaciones_web, sesion_web
from buzon_gateway.errores import estado_de
from buzon_gateway.http import http, pagina_http
from buzon_gateway.imagen import ProveedorImagen
from buzon_gateway.medios_web import MECANISMOS, TIPOS_ACUSE, tablero, vencimiento
from buzon_gateway.paginas import fecha_hora, respuesta_html
from buzon_gateway.respuestas import (
    MAXIMO_CLAVE_IDEMPOTENCIA, CuerpoDemasiadoGrande, clave_idempotencia, leer_json, respuesta_error, respuesta_json,
    respuesta_pdf,
)
from buzon_gateway.solicitud_legible import bloques

log = logging.getLogger(__name__)

CARPETA_ESTATICOS = os.path.join(os.path.dirname(__file__), "static")
# Only what pages load; anything else in the folder (checksums, licences) is not for browsers.
TIPOS_ESTATICOS = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
                   ".svg": "image/svg+xml", ".ico": "image/x-icon", ".woff2": "font/woff2"}
CACHE_VENDOR = "public, max-age=31536000, immutable"  # vendored files change only with their pinned version
LIMITE_FORMULARIO = 64 * 1024
# Our largest form has six fields; Werkzeug's own bound (1,000 parts) would still let a page parse a flood.
PARTES_FORMULARIO = 32
# The subject and limit activacion applies (shown and enforced again in the form so the browser helps first).
ASUNTO_ACLARACION = "Activación Buzón IMSS"
LIMITE_ACLARACION = 4000
ESTADOS_ACLARACION = {"recibida": "Recibida"}
MENSAJE_FORMULARIO = ("El formulario enviado es demasiado grande o tiene demasiados campos. Regresa a la página e "
                      "intenta de nuevo.")
MENSAJE_INGRESA = "Ingresa con tu e.firma para continuar."
MENSAJE_CSRF = ("La solicitud no pudo verificarse (token de seguridad ausente o no válido). Recarga la página e "
                "intenta de nuevo.")
# The hidden field of the forms that write (a medio, an aclaración): the key the form was rendered with.
CAMPO_IDEMPOTENCIA = "idempotencia"


class CsrfInvalido(Prohibido):
    """A POST without the token that proves it came from our own page."""

    def __init__(self, *_):
        super().__init__("csrf_invalido", MENSAJE_CSRF)


@dataclass(frozen=True)
class Visita:
    """The logged-in person of one request: the cookie's token and what auth resolved from it."""
    token: str
    sesion: dict

    @property
    def titular(self) -> dict:
        return sesion_web.titular_de(self.sesion)

    @property
    def csrf(self) -> str:
        return sesion_web.csrf_de_sesion(self.token)


def redirigir(destino: str) -> Response:
    respuesta = Response(status=303, headers={"Location": destino})
    respuesta.headers["Cache-Control"] = "no-store"
    return respuesta


def nueva_clave() -> str:
    return str(uuid.uuid4())


def clave_de(formulario: dict) -> str:
    """The key the form was rendered with: a double submit, or a reload of the POST, sends it again and gets the
    first answer instead of a second write. A form without one (or with one out of shape) gets a key of its own."""
    clave = formulario.get(CAMPO_IDEMPOTENCIA, "")
    return clave if clave and es_texto_valido(clave, MAXIMO_CLAVE_IDEMPOTENCIA) else nueva_clave()


def pagina(protegida: bool = True):
    """Resolve the cookie's session for a page; a protected page without one sends the person to log in. Failures
    are answered as pages by the route itself (`pagina_http`), so the metrics see them."""

    def decorador(manejador):
        @functools.wraps(manejador)
        def envoltura(self, request, **valores):
            visita = self._visita(request)
            if protegida and visita is None:
                raise NoAutenticado("no_autenticado", MENSAJE_INGRESA)
            return manejador(self, request, visita, **valores)

        return envoltura

    return decorador


class Portal:
    """Page routes; the attributes they use (auth, contactos, activacion, acuses, config, and `_sesion`/`_cerrar`,
    the session through the gateway's cache) are the Gateway's."""

    imagen = ProveedorImagen()  # the operator's logo and privacy notice (buzon_gateway.imagen)

    # --- sessions and rendering ---

    def _segura(self) -> bool:
        return sesion_web.es_segura(self.config.public_url)

    def _visita(self, request) -> Visita | None:
        token = request.cookies.get(sesion_web.COOKIE_SESION)
        if not token:
            return None
        try:
            return Visita(token, self._sesion(token))
        except NoAutenticado:
            return None

    def _pagina(self, estado: int, plantilla: str, visita: Visita | None, **contexto) -> Response:
        return respuesta_html(estado, plantilla, sesion=visita.sesion if visita else None,
                              csrf_sesion=visita.csrf if visita else "", **contexto)

    def _error(self, estado: int, titulo: str, mensaje: str, visita: Visita | None,
               regreso: tuple[str, str] = ("/", "Ir al inicio")) -> Response:
        return self._pagina(estado, "portal/error.html", visita, titulo=titulo, mensaje=mensaje, regreso=regreso)

    @staticmethod
    def _formulario(request) -> dict:
        """The form's fields, first value of each; a value that is not valid text (a NUL, say) or is longer than
        any form of ours takes is read as empty, which every page refuses as a missing or wrong value."""
        # Bounds Werkzeug enforces while parsing, a chunked body included.
        request.max_content_length = LIMITE_FORMULARIO
        request.max_form_memory_size = LIMITE_FORMULARIO
        request.max_form_parts = PARTES_FORMULARIO
        try:
            campos = request.form.items()
        except RequestEntityTooLarge:
            raise CuerpoDemasiadoGrande(MENSAJE_FORMULARIO) from None
        return {nombre: valor if es_texto_valido(valor, LIMITE_FORMULARIO) else "" for nombre, valor in campos}

    def _visita_firma(self, request) -> Visita:
        """The person of a page script's JSON call (the e.firma signed in the page): the cookie's session and the
        CSRF token in its header; the failures are the API's JSON errors, which the script shows."""
        token = request.cookies.get(sesion_web.COOKIE_SESION)
        if not token:
            raise NoAutenticado("no_autenticado", "Tu sesión terminó. Ingresa de nuevo con tu e.firma.")
        if not sesion_web.coincide(sesion_web.csrf_de_sesion(token), request.headers.get(sesion_web.ENCABEZADO_CSRF)):
            raise CsrfInvalido()
        return Visita(token, self._sesion(token))

    def _verificar_formulario(self, request, visita: Visita) -> dict:
        formulario = self._formulario(request)
        if not sesion_web.coincide(visita.csrf, formulario.get(sesion_web.CAMPO_CSRF)):
            raise CsrfInvalido()
        return formulario

    # --- public pages ---

    @pagina_http("GET", "/")
    @pagina(protegida=False)
    def inicio(self, request, visita):
        return self._pagina(200, "portal/inicio.html", visita)

    @pagina_http("GET", "/soporte")
    @pagina(protegida=False)
    def soporte(self, request, visita):
        return self._pagina(200, "portal/soporte.html", visita)

    @pagina_http("GET", "/aviso-privacidad")
    @pagina(protegida=False)
    def aviso_privacidad(self, request, visita):
        return self._pagina(200, "portal/aviso_privacidad.html", visita, aviso=self.imagen.aviso_privacidad)

    @pagina_http("GET", "/requisitos")
    @pagina(protegida=False)
    def requisitos(self, request, visita):
        return self._pagina(200, "portal/requisitos.html", visita)

    @http("GET", "/logo")
    def logo(self, request):
        """The Institute's logo, only when the operator configured it (BUZON_LOGO)."""
        logo = self.imagen.logo
        if logo is None:
            return respuesta_error(404, "no_encontrado", "La dirección solicitada no existe.")
        respuesta = Response(logo.contenido, status=200, content_type=logo.tipo)
        # An SVG opened on its own is a document of this site: it may run nothing.
        respuesta.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        respuesta.headers["Cache-Control"] = "public, max-age=3600"
        return respuesta

    @pagina_http("GET", "/ingresar")
    @pagina(protegida=False)
    def pagina_ingresar(self, request, visita):
        # Double-submit: the script echoes the cookie's value in a header; another site can read neither.
        token = request.cookies.get(sesion_web.COOKIE_CSRF) or sesion_web.nuevo_csrf()
        respuesta = self._pagina(200, "portal/ingresar.html", visita, csrf_meta=token, con_efirma=True)
        sesion_web.poner_cookie(respuesta, sesion_web.COOKIE_CSRF, token, self._segura())
        return respuesta

    @http("POST", "/ingresar")
    def ingresar(self, request):
        if not sesion_web.coincide(request.cookies.get(sesion_web.COOKIE_CSRF),
                                   request.headers.get(sesion_web.ENCABEZADO_CSRF)):
            raise CsrfInvalido()
        cuerpo = leer_json(request, cuerpos.SESION)
        sesion = self.auth.iniciar_sesion(cuerpo["certificado"], cuerpo["reto"], cuerpo["firma"])
        respuesta = respuesta_json(200, {"destino": "/buzon"})
        sesion_web.poner_cookie(respuesta, sesion_web.COOKIE_SESION, sesion["token"], self._segura())
        return respuesta

    @pagina_http("POST", "/salir")
    @pagina()
    def salir(self, request, visita):
        self._verificar_formulario(request, visita)
        self._cerrar(visita.token)
        respuesta = redirigir("/")
        sesion_web.borrar_cookie(respuesta, sesion_web.COOKIE_SESION, self._segura())
        return respuesta

    # --- the Buzón ---

    @pagina_http("GET", "/buzon")
    @pagina()
    def buzon(self, request, visita):
        # The guide's step V.16: the signature leads here (?activado=1), to the services with the activation's folio.
        estado = self.activacion.estado(visita.titular)
        activo = estado["estado"] == "activo"
        fecha, hora = fecha_hora(estado.get("activado_en"))
        return self._pagina(200, "portal/buzon.html", visita, activo=activo, activacion=estado, fecha=fecha,
                            hora=hora, recien_activado=activo and request.args.get("activado") == "1",
                            pendientes=self._pendientes(visita) if activo else None)

    def _pendientes(self, visita: Visita) -> int | None:
        """The count of notifications waiting to be opened; None when buzon doesn't answer: the main screen still
        opens, and says the count can't be shown now."""
        try:
            return self.servicio_buzon.pendientes(visita.titular["rfc"])
        except ServicioNoDisponible:
            return None

    # --- the Buzón's notifications (issue 13) ---

    @pagina_http("GET", "/buzon/notificaciones")
    @pagina()
    def mis_notificaciones_web(self, request, visita):
        rfc = visita.titular["rfc"]
        lista = [notificaciones_web.vista(n) for n in self.servicio_buzon.listar(rfc)["notificaciones"]]
        # Only an empty list asks whether the Buzón is active, to say why it is empty.
        activo = bool(lista) or self.activacion.estado(visita.titular)["estado"] == "activo"
        return self._pagina(200, "portal/notificaciones.html", visita, notificaciones=lista, activo=activo)

    @pagina_http("GET", "/buzon/notificaciones/<id_notificacion>")
    @pagina()
    def notificacion_web(self, request, visita, id_notificacion):
        """A pending one: its acuse de recibo to sign in the page (the activation's e.firma form and script). An
        opened or deemed one: its acuse's folio and código de verificación, and the downloads."""
        rfc = visita.titular["rfc"]
        notificacion = self.servicio_buzon.obtener(rfc, id_notificacion)
        cadena = None
        if notificacion["estado"] == notificaciones_web.PENDIENTE:
            try:
                cadena = self.servicio_buzon.acuse_recibo(rfc, id_notificacion)["cadena_original"]
            except Conflicto:
                # Its días hábiles ran out just now: buzon deemed it notified; show it as it is now.
                notificacion = self.servicio_buzon.obtener(rfc, id_notificacion)
        contexto = {"notificacion": notificaciones_web.vista(notificacion), "cadena": cadena,
                    "recibo": notificaciones_web.recibo_legible(cadena) if cadena else [],
                    "ruta": "/buzon/notificaciones/" + quote(notificacion["id"], safe=""),
                    "codigo": None, "recien_abierta": False}
        if cadena is None:
            contexto["codigo"] = (notificacion.get("codigo_verificacion")
                                  or notificaciones_web.codigo_verificacion(self.acuses, rfc,
                                                                            notificacion["folio_acuse"]))
            contexto["recien_abierta"] = (notificacion["estado"] == notificaciones_web.ABIERTA
                                          and request.args.get("abierta") == "1")
        return self._pagina(200, "portal/notificacion.html", visita, csrf_meta=visita.csrf,
                            con_efirma=cadena is not None, **contexto)

    @http("POST", "/buzon/notificaciones/<id_notificacion>/abrir")
    def abrir_notificacion_web(self, request, id_notificacion):
        """The page script's signature of the acuse de recibo (as /activacion/firmar): opens it and sends the person
        back to the notification's page with the acuse's folio."""
        visita = self._visita_firma(request)
        cuerpo = leer_json(request, cuerpos.FIRMA_CADENA)
        self.servicio_buzon.abrir(visita.titular["rfc"], id_notificacion, cuerpo["certificado"], cuerpo["firma"])
        return respuesta_json(200, {"destino": f"/buzon/notificaciones/{quote(id_notificacion, safe='')}?abierta=1"})

    @pagina_http("GET", "/buzon/notificaciones/<id_notificacion>/documento")
    @pagina()
    def documento_notificacion_web(self, request, visita, id_notificacion):
        try:
            contenido = self.servicio_buzon.documento(visita.titular["rfc"], id_notificacion)
        except Conflicto as error:  # notificacion_sin_abrir
            return self._error(estado_de(error), "Notificación sin abrir", error.mensaje, visita,
                               (f"/buzon/notificaciones/{quote(id_notificacion, safe='')}", "Regresar"))
        return respuesta_pdf(contenido, f"notificacion-{id_notificacion}.pdf")

    @pagina_http("GET", "/buzon/notificaciones/<id_notificacion>/acuse")
    @pagina()
    def acuse_notificacion_web(self, request, visita, id_notificacion):
        folio = notificaciones_web.folio_acuse(self.servicio_buzon, visita.titular["rfc"], id_notificacion)
        return self._pdf(visita, folio, f"acuse-notificacion-{folio}.pdf",
                         (f"/buzon/notificaciones/{quote(id_notificacion, safe='')}", "Regresar"))

    # --- medios de contacto ---

    @pagina_http("GET", "/medios-contacto")
    @pagina()
    def medios_contacto(self, request, visita):
        # The bajas too: a medio deleted or lapsed stays in the history with its acuses (medios_web).
        medios = self.contactos.listar(visita.titular, True)["medios"]
        vigentes, historial = tablero(medios, self._registros(visita), visita.titular["rfc"])
        return self._pagina(200, "portal/medios.html", visita, medios=vigentes, historial=historial)

    def _registros(self, visita: Visita) -> list[dict]:
        return self.contactos.registros_patronales(visita.titular)["registros_patronales"]

    def _form_nuevo(self, estado: int, visita: Visita, valores: dict, registros: list[dict],
                    mensaje: str | None = None) -> Response:
        pestana = valores.get("pestana") if registros else "rfc"
        return self._pagina(estado, "portal/nuevo_medio.html", visita, valores=valores,
                            pestana=pestana if pestana in ("rfc", "rp") else "rfc", registros=registros,
                            mecanismos=MECANISMOS, mensaje=mensaje)

    @staticmethod
    def _valores_de(formulario) -> dict:
        return {"pestana": formulario.get("pestana", "rfc"), "mecanismo": formulario.get("mecanismo", ""),
                "valor": formulario.get("valor", "").strip(), "todos": formulario.get("todos") == "1",
                "registro_patronal": formulario.get("registro_patronal", "")}

    @staticmethod
    def _falta(valores: dict) -> str | None:
        """What the form can tell at once; the rules of values and limits are contactos'."""
        if valores["mecanismo"] not in MECANISMOS:
            return "Selecciona el Mecanismo de Comunicación."
        if not valores["valor"]:
            return "Escribe el Medio de Contacto."
        if valores["pestana"] == "rp" and not valores["todos"] and not valores["registro_patronal"]:
            return "Selecciona todos los Registros Patronales o uno de ellos."
        return None

    @pagina_http("GET", "/medios-contacto/nuevo")
    @pagina()
    def nuevo_medio(self, request, visita):
        valores = {"pestana": request.args.get("pestana", "rfc"), "mecanismo": "correo", "valor": "",
                   "todos": False, "registro_patronal": ""}
        return self._form_nuevo(200, visita, valores, self._registros(visita))

    @pagina_http("POST", "/medios-contacto/nuevo")
    @pagina()
    def confirmar_medio(self, request, visita):
        valores = self._valores_de(self._verificar_formulario(request, visita))
        falta = self._falta(valores)
        if falta:
            return self._form_nuevo(400, visita, valores, self._registros(visita), falta)
        return self._pagina(200, "portal/confirmar_medio.html", visita, valores=valores, clave=nueva_clave())

    @pagina_http("POST", "/medios-contacto/registrar")
    @pagina()
    def registrar_medio_web(self, request, visita):
        formulario = self._verificar_formulario(request, visita)
        valores = self._valores_de(formulario)
        falta = self._falta(valores)
        if falta:
            return self._form_nuevo(400, visita, valores, self._registros(visita), falta)
        registros = None
        if valores["pestana"] == "rp":
            registros = ["*"] if valores["todos"] else [valores["registro_patronal"]]
        try:
            medio = self.contactos.registrar(visita.titular, valores["mecanismo"], valores["valor"], registros,
                                             clave_idempotencia=clave_de(formulario))
        except ErrorBuzon as error:
            if estado_de(error) not in (400, 422, 429):
                raise
            return self._form_nuevo(estado_de(error), visita, valores, self._registros(visita), error.mensaje)
        fecha, hora = fecha_hora(medio["registrado_en"])
        return self._pagina(201, "portal/medio_registrado.html", visita, medio=medio, fecha=fecha, hora=hora,
                            mecanismo=MECANISMOS.get(medio["mecanismo"], medio["mecanismo"]),
                            vence=vencimiento(medio["vence_en"]))

    @pagina_http("GET", "/medios-contacto/<medio_id>/acuse/<tipo>")
    @pagina()
    def acuse_medio_web(self, request, visita, medio_id, tipo):
        if tipo not in TIPOS_ACUSE:
            raise NoEncontrado("no_encontrado", "Ese acuse no existe.")
        folio = (self.contactos.obtener(visita.titular, medio_id).get("acuses") or {}).get(tipo)
        if not folio:
            raise NoEncontrado("no_encontrado", "Ese acuse no existe para este medio de contacto.")
        return self._pdf(visita, folio, f"acuse-{tipo}-{folio}.pdf", ("/medios-contacto", "Regresar"))

    def _pdf(self, visita: Visita, folio: str, nombre: str, regreso: tuple[str, str]) -> Response:
        try:
            return respuesta_pdf(self.acuses.pdf(folio, visita.titular["rfc"]), nombre)
        except NoEncontrado:
            # The acuse is rendered a moment after the act that asked for it.
            return self._error(404, "Acuse en preparación", "El acuse aún no está disponible. Intenta de nuevo "
                               "en unos momentos.", visita, regreso)

    @pagina_http("GET", "/medios-contacto/<medio_id>/validar")
    @pagina()
    def pagina_validar_telefono(self, request, visita, medio_id):
        medio = self.contactos.obtener(visita.titular, medio_id)
        return self._validacion(200, visita, medio, None)

    def _validacion(self, estado: int, visita: Visita, medio: dict, mensaje: str | None,
                    intentos: int | None = None, con_formulario: bool = True) -> Response:
        validable = medio["mecanismo"] == "telefono" and medio["estado"] == "pendiente"
        if not validable and mensaje is None:
            mensaje = "Este medio de contacto no está pendiente de validar."
        return self._pagina(estado, "portal/validar_telefono.html", visita, medio=medio, mensaje=mensaje,
                            intentos=intentos, con_formulario=con_formulario and validable,
                            vence=vencimiento(medio["vence_en"]) if validable else "", clave=nueva_clave())

    @pagina_http("POST", "/medios-contacto/<medio_id>/validar")
    @pagina()
    def validar_telefono_web(self, request, visita, medio_id):
        formulario = self._verificar_formulario(request, visita)
        codigo = formulario.get("codigo", "").strip()
        if not codigo:
            medio = self.contactos.obtener(visita.titular, medio_id)
            return self._validacion(400, visita, medio, "Escribe el código de verificación de cinco dígitos.")
        try:
            medio = self.contactos.validar_telefono(visita.titular, medio_id, codigo)
        except ErrorBuzon as error:
            if isinstance(error, NoEncontrado):
                raise
            medio = self.contactos.obtener(visita.titular, medio_id)
            intentos = error.extra.get("intentos_restantes") if error.codigo == "codigo_incorrecto" else None
            return self._validacion(estado_de(error), visita, medio, error.mensaje, intentos,
                                    con_formulario=error.codigo == "codigo_incorrecto")
        return self._pagina(200, "portal/telefono_validado.html", visita, medio=medio)

    @pagina_http("GET", "/medios-contacto/<medio_id>/eliminar")
    @pagina()
    def pagina_eliminar(self, request, visita, medio_id):
        medio = self.contactos.obtener(visita.titular, medio_id)
        return self._pagina(200, "portal/eliminar.html", visita, medio=medio,
                            mecanismo=MECANISMOS.get(medio["mecanismo"], medio["mecanismo"]))

    @pagina_http("POST", "/medios-contacto/<medio_id>/eliminar")
    @pagina()
    def eliminar_web(self, request, visita, medio_id):
        self._verificar_formulario(request, visita)
        medio = self.contactos.eliminar(visita.titular, medio_id)
        return self._pagina(200, "portal/eliminado.html", visita, medio=medio,
                            mecanismo=MECANISMOS.get(medio["mecanismo"], medio["mecanismo"]))

    @pagina_http("POST", "/medios-contacto/<medio_id>/reenviar")
    @pagina()
    def reenviar_web(self, request, visita, medio_id):
        """"Reenviar": the link or a new code again, under the key the form was rendered with (a double click or a
        reload sends once). A refusal (validated, dado de baja, the destination's limit) is a page that says why."""
        formulario = self._verificar_formulario(request, visita)
        try:
            medio = self.contactos.reenviar(visita.titular, medio_id, clave_idempotencia=clave_de(formulario))
        except (Conflicto, DemasiadasSolicitudes) as error:
            return self._error(estado_de(error), "No se reenvió", error.mensaje, visita,
                               ("/medios-contacto", "Regresar"))
        return self._pagina(200, "portal/medio_reenviado.html", visita, medio=medio,
                            mecanismo=MECANISMOS.get(medio["mecanismo"], medio["mecanismo"]),
                            vence=vencimiento(medio["vence_en"]))

    # --- activation ---

    @pagina_http("GET", "/activacion")
    @pagina()
    def pagina_activacion(self, request, visita):
        estado = self.activacion.estado(visita.titular)
        contexto = {"activacion": estado, "solicitud": None, "aceptada": False}
        if estado["estado"] == "activo":
            contexto["fecha"], contexto["hora"] = fecha_hora(estado.get("activado_en"))
        elif all(estado["requisitos"].values()):
            contexto["solicitud"] = self.activacion.solicitud(visita.titular, sesion_web.sesion_id(visita.token))
            contexto["bloques_solicitud"] = bloques(contexto["solicitud"]["texto"])
            contexto["aceptada"] = request.args.get("aceptar") == "1"
        return self._pagina(200, "portal/activacion.html", visita, csrf_meta=visita.csrf,
                            con_efirma=contexto["aceptada"], **contexto)

    @http("POST", "/activacion/firmar")
    def firmar_activacion(self, request):
        visita = self._visita_firma(request)
        cuerpo = leer_json(request, cuerpos.FIRMA_CADENA)
        self.activacion.activar(visita.titular, sesion_web.sesion_id(visita.token), cuerpo["certificado"],
                                cuerpo["firma"], clave_idempotencia=clave_idempotencia(request))
        return respuesta_json(200, {"destino": "/buzon?activado=1"})

    @pagina_http("GET", "/activacion/acuse")
    @pagina()
    def acuse_activacion_web(self, request, visita):
        folio = self.activacion.folio_acuse(visita.titular)
        return self._pdf(visita, folio, f"acuse-activacion-{folio}.pdf", ("/activacion", "Regresar"))

    # --- promociones electrónicas ---

    def _promociones(self, estado: int, visita: Visita, *, mensaje: str | None = None, texto: str = "",
                     presentada: dict | None = None) -> Response:
        """Open before the activation too (activacion takes them from anyone logged in), each with its state."""
        filas = []
        for aclaracion in self.activacion.aclaraciones(visita.titular)["aclaraciones"]:
            fecha, hora = fecha_hora(aclaracion["presentada_en"])
            estado_aclaracion = aclaracion.get("estado") or "recibida"
            filas.append({**aclaracion, "fecha": fecha, "hora": hora,
                          "estado_texto": ESTADOS_ACLARACION.get(estado_aclaracion, estado_aclaracion)})
        if presentada:
            presentada = {**presentada, **dict(zip(("fecha", "hora"), fecha_hora(presentada["presentada_en"])))}
        return self._pagina(estado, "portal/promociones.html", visita, aclaraciones=filas, mensaje=mensaje,
                            texto=texto, presentada=presentada, asunto=ASUNTO_ACLARACION, limite=LIMITE_ACLARACION,
                            clave=nueva_clave())

    @pagina_http("GET", "/promociones")
    @pagina()
    def promociones(self, request, visita):
        return self._promociones(200, visita)

    @pagina_http("POST", "/promociones/aclaraciones")
    @pagina()
    def presentar_aclaracion_web(self, request, visita):
        formulario = self._verificar_formulario(request, visita)
        texto = formulario.get("planteamiento", "")
        try:
            presentada = self.activacion.presentar_aclaracion(visita.titular, texto,
                                                              clave_idempotencia=clave_de(formulario))
        except (ReglaIncumplida, Conflicto, DemasiadasSolicitudes) as error:
            # The form comes back with what was written, so a refusal costs the person nothing.
            return self._promociones(estado_de(error), visita, mensaje=error.mensaje, texto=texto)
        return self._promociones(201, visita, presentada=presentada)

    @pagina_http("GET", "/promociones/aclaraciones/<folio>/acuse")
    @pagina()
    def acuse_aclaracion_web(self, request, visita, folio):
        # Only folios of the person's own aclaraciones: this page serves no other kind of acuse.
        propias = self.activacion.aclaraciones(visita.titular)["aclaraciones"]
        if not any(aclaracion["folio"] == folio for aclaracion in propias):
            raise NoEncontrado("no_encontrado", "Esa aclaración no existe.")
        return self._pdf(visita, folio, f"acuse-aclaracion-{folio}.pdf", ("/promociones", "Regresar"))

    # --- static files ---

    @http("GET", "/static/<path:ruta>")
    def estatico(self, request, ruta):
        tipo = TIPOS_ESTATICOS.get(os.path.splitext(ruta)[1].lower())
        archivo = safe_join(CARPETA_ESTATICOS, ruta)  # None for "..", absolute paths and the like
        if tipo is None or archivo is None or not os.path.isfile(archivo):
            return respuesta_error(404, "no_encontrado", "La dirección solicitada no existe.")
        with open(archivo, "rb") as entrada:
            respuesta = Response(entrada.read(), status=200, content_type=tipo)
        respuesta.headers["X-Content-Type-Options"] = "nosniff"
        respuesta.headers["Cache-Control"] = CACHE_VENDOR if ruta.startswith("vendor/") else "no-cache"
        return respuesta

