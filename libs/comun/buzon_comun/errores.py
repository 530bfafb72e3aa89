"""Error types that cross the bus.

A service raises one of these with a contract code (`codigo`), a Spanish message for people and, where the
contract names them, extra fields. nameko serialises the exception; the classes are registered so that the
caller gets the same class back, and the gateway maps each class to an HTTP status in one table
(`buzon_gateway.errores`). The class says what kind of failure it is, never which HTTP code: that is the
gateway's business.
"""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance

from buzon_comun.rechazo import Rechazo


class ErrorBuzon(Rechazo):
    """Base of every error that crosses the bus with a contract code."""

    def __init__(self, codigo: str, mensaje: str, extra: dict | str | None = None):
        if isinstance(extra, str):
            extra = json.loads(extra)
        super().__init__(codigo, mensaje, extra)
        # nameko stringifies every non-text value in an exception's args (4 would arrive as "4"), so the extra
        # fields travel as one JSON text and come back with their types.
        self.args = (codigo, mensaje, json.dumps(self.extra, ensure_ascii=False))


def _registrada(cls):
    return deserialize_to_instance(cls)


@_registrada
class SolicitudInvalida(ErrorBuzon):
    """The request is malformed (shape, types, encoding)."""


@_registrada
class NoAutenticado(ErrorBuzon):
    """No valid session, or a login attempt that failed."""


@_registrada
class Prohibido(ErrorBuzon):
    """Authenticated, but the action belongs to someone else."""


@_registrada
class NoEncontrado(ErrorBuzon):
    """The resource doesn't exist or belongs to another RFC (never say which)."""


@_registrada
class Conflicto(ErrorBuzon):
    """The resource's state doesn't allow the action."""


@_registrada
class Vencido(ErrorBuzon):
    """The thing the action needs has lapsed for good."""


@_registrada
class ReglaIncumplida(ErrorBuzon):
    """Well-formed input that a business rule refuses."""


@_registrada
class Bloqueado(ErrorBuzon):
    """Too many failed attempts on this resource."""


@_registrada
class DemasiadasSolicitudes(ErrorBuzon):
    """A rate limit was passed."""

    def __init__(self, codigo: str = "demasiadas_solicitudes",
                 mensaje: str = "Hiciste demasiadas solicitudes. Espera un momento e intenta de nuevo.",
                 extra: dict | None = None):
        super().__init__(codigo, mensaje, extra)


@_registrada
class ServicioNoDisponible(ErrorBuzon):
    """A dependency is down; the request may succeed later."""
