"""The gateway: every route of the public API, each a few lines over an RPC.

Handlers read and check the body at the edge (`respuestas.leer_json`), resolve the session with auth, call
the service that owns the answer and turn any error into the contract's shape (`errores`). Other services
trust the RFC the gateway resolved from the session, never one the client sends.
"""
from __future__ import annotations

import functools
import logging

import eventlet
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from werkzeug.wrappers import Response

from buzon_comun.errores import ErrorBuzon, NoAutenticado, NoEncontrado
from buzon_comun.metricas import Metricas
from buzon_comun.servicio import ProveedorConfig
from buzon_gateway import sesion_web
from buzon_gateway.errores import ESTADO_HTTP, respuesta_de_excepcion
from buzon_gateway.openapi import documento_openapi
from buzon_gateway.paginas import respuesta_html
from buzon_gateway.portal import Portal
from buzon_gateway.respuestas import (
    ip_cliente, leer_cuerpo_crudo, leer_json, redes, respuesta_error, respuesta_json, respuesta_pdf, token_bearer,
)

log = logging.getLogger(__name__)

SERVICIOS = ("auth", "contactos", "notificaciones", "notificaciones_correo", "notificaciones_sms", "activacion",
             "acuses")
TIPOS_ACUSE_MEDIO = ("registro", "validacion", "baja")
PAGINAS_VALIDACION = {
    "token_invalido": (404, "Enlace no válido",
                       "El enlace de validación no es válido o ya fue utilizado. Si aún no valida su correo "
                       "electrónico, regístrelo de nuevo en su Buzón IMSS."),
    "validacion_vencida": (410, "El enlace venció",
                           "Pasaron más de 72 horas desde el registro y el medio de contacto fue cancelado. "
                           "Regístrelo de nuevo en su Buzón IMSS."),
    "ya_validado": (409, "Correo ya validado", "Este correo electrónico ya había sido validado."),
}
PLAZO_SALUD_S = 3.0
MENSAJE_SIN_TOKEN = "Falta el token de sesión. Inicie sesión con su e.firma."


def contrato(manejador):
    """Run a handler and answer any failure in the contract's error shape; never let nameko answer."""

    @functools.wraps(manejador)
    def envoltura(self, request, *args, **kwargs):
        try:
            return manejador(self, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure gets the contract's shape
            return respuesta_de_excepcion(exc)

    return envoltura


class Gateway(Portal):
    name = "gateway"

    auth = RpcProxy("auth")
    contactos = RpcProxy("contactos")
    notificaciones = RpcProxy("notificaciones")
    activacion = RpcProxy("activacion")
    acuses = RpcProxy("acuses")
    notificaciones_correo = RpcProxy("notificaciones_correo")
    notificaciones_sms = RpcProxy("notificaciones_sms")
    metricas = Metricas(servir=False)
    config = ProveedorConfig()

    def _token(self, request) -> str:
        token = token_bearer(request)
        if token is None:
            raise NoAutenticado("no_autenticado", MENSAJE_SIN_TOKEN)
        return token

    # --- Session (e.firma login) ---

    @http("POST", "/api/v1/sesiones/retos")
    @contrato
    def crear_reto(self, request):
        leer_cuerpo_crudo(request)
        ip = ip_cliente(request, redes(self.config.proxies_confiables))
        return respuesta_json(201, self.auth.crear_reto(ip))

    @http("POST", "/api/v1/sesiones")
    @contrato
    def iniciar_sesion(self, request):
        cuerpo = leer_json(request, {"certificado": str, "reto": str, "firma": str}, base64_en=("certificado", "firma"))
        return respuesta_json(201, self.auth.iniciar_sesion(cuerpo["certificado"], cuerpo["reto"], cuerpo["firma"]))

    @http("GET", "/api/v1/sesiones/actual")
    @contrato
    def sesion_actual(self, request):
        sesion = self.auth.sesion(self._token(request))
        sesion.pop("expira_en", None)
        return respuesta_json(200, sesion)

    @http("DELETE", "/api/v1/sesiones/actual")
    @contrato
    def cerrar_sesion(self, request):
        self.auth.cerrar_sesion(self._token(request))
        return Response(status=204)

    def _titular(self, request) -> dict:
        """The session's identity, resolved by auth: the only RFC other services ever act for."""
        return sesion_web.titular_de(self.auth.sesion(self._token(request)))

    # --- Contact means ---

    @http("GET", "/api/v1/medios-contacto")
    @contrato
    def listar_medios(self, request):
        titular = self._titular(request)
        todos = request.args.get("estado") == "todos"
        return respuesta_json(200, self.contactos.listar(titular, todos))

    @http("POST", "/api/v1/medios-contacto")
    @contrato
    def registrar_medio(self, request):
        titular = self._titular(request)
        cuerpo = leer_json(request, {"mecanismo": str, "valor": str}, opcionales={"registros_patronales": list})
        medio = self.contactos.registrar(titular, cuerpo["mecanismo"], cuerpo["valor"],
                                         cuerpo.get("registros_patronales"))
        return respuesta_json(201, medio)

    @http("POST", "/api/v1/medios-contacto/validaciones")
    @contrato
    def validar_correo(self, request):
        cuerpo = leer_json(request, {"token": str})
        return respuesta_json(200, self.contactos.validar_correo(cuerpo["token"]))

    @http("GET", "/medios-contacto/validar/<token>")
    def pagina_validar_correo(self, request, token):
        """The page the link in the validation email opens (the guide's "Cerrar" window)."""
        try:
            medio = self.contactos.validar_correo(token)
        except ErrorBuzon as error:
            estado, titulo, mensaje = PAGINAS_VALIDACION.get(
                error.codigo, (ESTADO_HTTP.get(type(error), 400), "No fue posible validar", error.mensaje))
            return respuesta_html(estado, "validacion_correo.html", exito=False, titulo=titulo, mensaje=mensaje)
        except Exception as exc:  # noqa: BLE001 - a person gets a page, never a traceback
            log.exception("validación de correo", exc_info=exc)
            return respuesta_html(503, "validacion_correo.html", exito=False, titulo="Servicio no disponible",
                                  mensaje="No fue posible validar en este momento. Intente de nuevo más tarde.")
        return respuesta_html(200, "validacion_correo.html", exito=True, titulo="Correo electrónico validado",
                              mensaje="Su correo electrónico fue validado correctamente. Recibirá un correo "
                                      "que confirma la conclusión de la validación.",
                              valor=medio["valor"])

    @http("POST", "/api/v1/medios-contacto/<medio_id>/validacion")
    @contrato
    def validar_telefono(self, request, medio_id):
        titular = self._titular(request)
        cuerpo = leer_json(request, {"codigo": str})
        return respuesta_json(200, self.contactos.validar_telefono(titular, medio_id, cuerpo["codigo"]))

    @http("DELETE", "/api/v1/medios-contacto/<medio_id>")
    @contrato
    def eliminar_medio(self, request, medio_id):
        titular = self._titular(request)
        return respuesta_json(200, self.contactos.eliminar(titular, medio_id))

    @http("GET", "/api/v1/medios-contacto/<medio_id>/acuses/<tipo>")
    @contrato
    def acuse_de_medio(self, request, medio_id, tipo):
        titular = self._titular(request)
        if tipo not in TIPOS_ACUSE_MEDIO:
            raise NoEncontrado("no_encontrado", "La dirección solicitada no existe.")
        folio = self.contactos.obtener(titular, medio_id)["acuses"].get(tipo)
        if not folio:
            raise NoEncontrado("no_encontrado", "Ese acuse no existe para este medio de contacto.")
        return respuesta_pdf(self.acuses.pdf(folio, titular["rfc"]), f"acuse-{tipo}-{folio}.pdf")

    @http("GET", "/api/v1/registros-patronales")
    @contrato
    def registros_patronales(self, request):
        return respuesta_json(200, self.contactos.registros_patronales(self._titular(request)))

    # --- Activation and acuses ---

    def _sesion_id(self, request) -> str:
        """An opaque id of the login session for the services that scope things to it (the Solicitud's cadena):
        derived from the token, never the token itself."""
        return sesion_web.sesion_id(self._token(request))

    @http("GET", "/api/v1/activacion")
    @contrato
    def estado_activacion(self, request):
        return respuesta_json(200, self.activacion.estado(self._titular(request)))

    @http("GET", "/api/v1/activacion/solicitud")
    @contrato
    def solicitud_activacion(self, request):
        titular = self._titular(request)
        return respuesta_json(200, self.activacion.solicitud(titular, self._sesion_id(request)))

    @http("POST", "/api/v1/activacion")
    @contrato
    def activar(self, request):
        titular = self._titular(request)
        cuerpo = leer_json(request, {"certificado": str, "firma": str}, base64_en=("certificado", "firma"))
        return respuesta_json(201, self.activacion.activar(titular, self._sesion_id(request), cuerpo["certificado"],
                                                           cuerpo["firma"]))

    @http("GET", "/api/v1/activacion/acuse")
    @contrato
    def acuse_activacion(self, request):
        titular = self._titular(request)
        folio = self.activacion.folio_acuse(titular)
        return respuesta_pdf(self.acuses.pdf(folio, titular["rfc"]), f"acuse-activacion-{folio}.pdf")

    @http("GET", "/api/v1/acuses/<folio>/verificacion")
    @contrato
    def verificar_acuse(self, request, folio):
        return respuesta_json(200, self.acuses.verificacion(folio))

    # --- Operations ---

    @http("GET", "/health")
    @contrato
    def salud(self, request):
        pendientes, estados = {}, {}
        for nombre in SERVICIOS:
            try:
                pendientes[nombre] = getattr(self, nombre).salud.call_async()
            except Exception as exc:  # noqa: BLE001 - a service with no queue is simply down
                log.warning("salud de %s: %s", nombre, exc)
                estados[nombre] = "error"
        with eventlet.Timeout(PLAZO_SALUD_S, False):
            for nombre, respuesta in pendientes.items():
                try:
                    respuesta.result()
                    estados[nombre] = "ok"
                except Exception as exc:  # noqa: BLE001 - any failure means the service is not healthy
                    log.warning("salud de %s: %s", nombre, exc)
                    estados[nombre] = "error"
        for nombre in SERVICIOS:
            estados.setdefault(nombre, "sin_respuesta")
        sanos = all(estado == "ok" for estado in estados.values())
        cuerpo = {"estado": "ok" if sanos else "degradado", "servicios": estados}
        if not sanos:
            caidos = ", ".join(nombre for nombre, estado in estados.items() if estado != "ok")
            cuerpo["error"] = {"codigo": "servicio_no_disponible", "mensaje": f"No responde: {caidos}."}
        return respuesta_json(200 if sanos else 503, cuerpo)

    @http("GET", "/metrics")
    @contrato
    def metricas_prometheus(self, request):
        codificador, tipo = choose_encoder(request.headers.get("Accept", ""))
        return Response(codificador(REGISTRY), status=200, content_type=tipo)

    @http("GET", "/api/v1/openapi.json")
    @contrato
    def openapi(self, request):
        return respuesta_json(200, documento_openapi())

    @http("GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS", "/<path:resto>")
    @contrato
    def no_encontrado(self, request, resto):
        return respuesta_error(404, "no_encontrado", "La dirección solicitada no existe.")
