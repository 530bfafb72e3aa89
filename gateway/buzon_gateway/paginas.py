"""Server-rendered HTML pages (Jinja2, autoescaped, no inline script), in Spanish."""
from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Response

_entorno = Environment(loader=PackageLoader("buzon_gateway", "plantillas"), autoescape=select_autoescape(["html"]))

# No inline script or style from anywhere else; pages only link back into the gateway.
POLITICA_CONTENIDO = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def respuesta_html(estado: int, plantilla: str, **contexto) -> Response:
    respuesta = Response(_entorno.get_template(plantilla).render(**contexto), status=estado,
                         content_type="text/html; charset=utf-8")
    respuesta.headers["Content-Security-Policy"] = POLITICA_CONTENIDO
    respuesta.headers["X-Content-Type-Options"] = "nosniff"
    respuesta.headers["Referrer-Policy"] = "no-referrer"
    respuesta.headers["Cache-Control"] = "no-store"
    return respuesta
