"""From whatever a call raised to the contract's answer: one table for the whole API, and its pages."""
from __future__ import annotations

import logging
import math

from nameko.exceptions import ContainerBeingKilled, RemoteError, UnknownService

from buzon_comun import errores
from buzon_gateway import sesion_web
from buzon_gateway.paginas import respuesta_html
from buzon_gateway.respuestas import CuerpoDemasiadoGrande, TipoContenidoNoSoportado, respuesta_error

log = logging.getLogger(__name__)

ESTADO_HTTP = {
    errores.SolicitudInvalida: 400,
    errores.NoAutenticado: 401,
    errores.Prohibido: 403,
    errores.NoEncontrado: 404,
    errores.Conflicto: 409,
    errores.Vencido: 410,
    errores.ReglaIncumplida: 422,
    errores.Bloqueado: 423,
    errores.DemasiadasSolicitudes: 429,
    errores.ServicioNoDisponible: 503,
    CuerpoDemasiadoGrande: 413,
    TipoContenidoNoSoportado: 415,
}

MENSAJE_INTERNO = "Ocurrió un error interno. Intenta de nuevo más tarde; si persiste, comunícate con soporte."
MENSAJE_NO_DISPONIBLE = "El servicio no está disponible en este momento. Intenta de nuevo en unos minutos."
# What a person is told to wait before trying again when a service is down and no better figure is known.
REINTENTAR_EN_S = 5
TITULOS = {403: "Solicitud no permitida", 413: "Formulario demasiado grande", 500: "Error interno",
           503: "Servicio no disponible"}


def estado_de(exc: BaseException) -> int:
    for clase in type(exc).__mro__:
        if clase in ESTADO_HTTP:
            return ESTADO_HTTP[clase]
    # No service to ask, or this one is being stopped: the request may succeed in a moment, elsewhere or here.
    if isinstance(exc, (UnknownService, ContainerBeingKilled)):
        return 503
    return 500


def _registrar(exc: BaseException, estado: int) -> None:
    if estado == 503:
        log.warning("servicio no disponible: %s", exc)
    elif estado == 500:
        if isinstance(exc, RemoteError):
            log.error("error remoto: %s %s", exc.exc_type, exc.value)
        else:
            log.exception("error no previsto", exc_info=exc)


def _con_reintento(respuesta, exc: BaseException, estado: int):
    """Retry-After: on every 503 (the service's `reintentar_en_s`, else REINTENTAR_EN_S), and on a 429 whose limit
    says when it lets the caller through again (`reintentar_en_s`: the deposits per second); a 429 of a longer
    window (per minute, hour or day) names no moment."""
    extra = exc.extra if isinstance(exc, errores.ErrorBuzon) else {}
    if estado == 503:
        respuesta.headers["Retry-After"] = str(extra.get("reintentar_en_s") or REINTENTAR_EN_S)
    elif estado == 429 and extra.get("reintentar_en_s"):
        # Whole seconds in the header (RFC 9110); the body keeps the fraction for callers that can use it.
        respuesta.headers["Retry-After"] = str(max(math.ceil(float(extra["reintentar_en_s"])), 1))
    return respuesta


def respuesta_de_excepcion(exc: BaseException):
    """The contract's JSON error answer."""
    estado = estado_de(exc)
    _registrar(exc, estado)
    if isinstance(exc, errores.ErrorBuzon):
        respuesta = respuesta_error(estado, exc.codigo, exc.mensaje, exc.extra)
    elif estado == 503:
        respuesta = respuesta_error(503, "servicio_no_disponible", MENSAJE_NO_DISPONIBLE)
    else:
        respuesta = respuesta_error(500, "error_interno", MENSAJE_INTERNO)
    return _con_reintento(respuesta, exc, estado)


def pagina_de_error(request, exc: BaseException):
    """The same failure as a page for a person: a session that ended sends them to log in again."""
    if isinstance(exc, errores.NoAutenticado):
        respuesta = respuesta_html(303, "portal/error.html", sesion=None, csrf_sesion="", titulo="Ingresa de nuevo",
                                   mensaje=exc.mensaje, regreso=("/ingresar", "Ingresar"))
        respuesta.headers["Location"] = "/ingresar"
        if request.cookies.get(sesion_web.COOKIE_SESION):
            # A cookie auth no longer knows is of no use: drop it so every page stops asking.
            sesion_web.borrar_cookie(respuesta, sesion_web.COOKIE_SESION, sesion_web.es_segura(request.host_url))
        return respuesta
    estado = estado_de(exc)
    _registrar(exc, estado)
    if isinstance(exc, errores.ErrorBuzon) and estado != 503:
        mensaje = exc.mensaje
    else:
        mensaje = MENSAJE_NO_DISPONIBLE if estado == 503 else MENSAJE_INTERNO
    titulo = TITULOS.get(estado, "No fue posible completar la solicitud")
    respuesta = respuesta_html(estado, "portal/error.html", sesion=None, csrf_sesion="", titulo=titulo,
                               mensaje=mensaje, regreso=("/", "Ir al inicio"))
    return _con_reintento(respuesta, exc, estado)
