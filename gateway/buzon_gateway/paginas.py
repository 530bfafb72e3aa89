"""Server-rendered HTML pages (Jinja2, autoescaped, no inline script), in Spanish."""
from __future__ import annotations

import datetime as dt

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Response

from buzon_comun.reloj import en_mexico

_entorno = Environment(loader=PackageLoader("buzon_gateway", "plantillas"), autoescape=select_autoescape(["html"]))
# What every page's header and footer need beyond its own context (whether there is a logo: buzon_gateway.imagen).
_entorno.globals.update(con_logo=False)

# Scripts and styles only from the gateway's own files (no inline code, so an injected tag can't run), no
# framing, forms post only back here.
POLITICA_CONTENIDO = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                      "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                      "object-src 'none'")


def momento(iso: str | None) -> dt.datetime | None:
    """The contract's ISO time as a person reads it: Mexico City's (None for none)."""
    return en_mexico(dt.datetime.fromisoformat(iso)) if iso else None


def fecha_hora(iso: str | None) -> tuple[str, str]:
    """dd/mm/aaaa and HH:MM:SS, Mexico City time, as the guide shows the moment of an act ("" for none)."""
    cuando = momento(iso)
    return (f"{cuando:%d/%m/%Y}", f"{cuando:%H:%M:%S}") if cuando else ("", "")


def definir_globales(**valores) -> None:
    """Set what every page of this process renders with (set once, when the gateway starts)."""
    _entorno.globals.update(valores)


def respuesta_html(estado: int, plantilla: str, **contexto) -> Response:
    respuesta = Response(_entorno.get_template(plantilla).render(**contexto), status=estado,
                         content_type="text/html; charset=utf-8")
    respuesta.headers["Content-Security-Policy"] = POLITICA_CONTENIDO
    respuesta.headers["X-Content-Type-Options"] = "nosniff"
    respuesta.headers["Referrer-Policy"] = "no-referrer"
    respuesta.headers["Cache-Control"] = "no-store"
    return respuesta
