"""From whatever a call raised to the contract's error answer: one table for the whole API."""
from __future__ import annotations

import logging

from nameko.exceptions import RemoteError, UnknownService

from buzon_comun import errores
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

MENSAJE_INTERNO = "Ocurrió un error interno. Intente de nuevo más tarde; si persiste, comuníquese con soporte."
MENSAJE_NO_DISPONIBLE = "El servicio no está disponible en este momento. Intente de nuevo en unos minutos."


def respuesta_de_excepcion(exc: BaseException):
    for clase in type(exc).__mro__:
        if clase in ESTADO_HTTP:
            return respuesta_error(ESTADO_HTTP[clase], exc.codigo, exc.mensaje, exc.extra)
    if isinstance(exc, UnknownService):
        log.error("servicio no disponible: %s", exc)
        return respuesta_error(503, "servicio_no_disponible", MENSAJE_NO_DISPONIBLE)
    if isinstance(exc, RemoteError):
        log.error("error remoto: %s %s", exc.exc_type, exc.value)
    else:
        log.exception("error no previsto", exc_info=exc)
    return respuesta_error(500, "error_interno", MENSAJE_INTERNO)
