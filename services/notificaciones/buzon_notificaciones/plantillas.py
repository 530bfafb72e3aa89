"""The texts people receive, rendered from the Jinja2 templates of `plantillas/`.

An email template is three files: `<nombre>.asunto.j2`, `<nombre>.txt.j2` and `<nombre>.html.j2` (autoescaped);
an SMS template is `<nombre>.sms.j2`. What each template needs from `datos` is checked here, so a request the
template cannot honour fails at once instead of sending a message without its link or code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError, select_autoescape

from buzon_comun.reloj import en_mexico
from buzon_notificaciones.fallas import FallaPermanente

PLANTILLAS_CORREO = {
    "validacion_correo": ("enlace", "vence_en"),
    "confirmacion_correo": ("valor",),
}
PLANTILLAS_SMS = {
    "codigo_sms": ("codigo",),
    "confirmacion_sms": (),
}
_CODIGO = re.compile(r"\d{5}")

_entorno = Environment(
    loader=PackageLoader("buzon_notificaciones", "plantillas"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Mensaje:
    asunto: str | None
    texto: str
    html: str | None


def renderizar(canal: str, plantilla: str, datos: dict) -> Mensaje:
    """The message of `plantilla` with `datos`; FallaPermanente when the request cannot make one."""
    catalogo = PLANTILLAS_CORREO if canal == "correo" else PLANTILLAS_SMS
    if plantilla not in catalogo:
        raise FallaPermanente(f"plantilla desconocida para {canal}: {plantilla}")
    faltan = [campo for campo in catalogo[plantilla] if not datos.get(campo)]
    if faltan:
        raise FallaPermanente(f"faltan datos para {plantilla}: {', '.join(faltan)}")
    contexto = _contexto(plantilla, datos)
    try:
        if canal == "sms":
            return Mensaje(None, _entorno.get_template(f"{plantilla}.sms.j2").render(contexto).strip(), None)
        return Mensaje(
            " ".join(_entorno.get_template(f"{plantilla}.asunto.j2").render(contexto).split()),
            _entorno.get_template(f"{plantilla}.txt.j2").render(contexto),
            _entorno.get_template(f"{plantilla}.html.j2").render(contexto),
        )
    except TemplateError as exc:
        raise FallaPermanente(f"no se pudo preparar {plantilla}: {exc}") from None


def _contexto(plantilla: str, datos: dict) -> dict:
    contexto = {"nombre": None, **datos}
    if plantilla == "codigo_sms":
        codigo = str(datos["codigo"])
        # The person must find the code at a glance: it is the message's only run of five digits.
        if not _CODIGO.fullmatch(codigo):
            raise FallaPermanente("el código de verificación debe tener 5 dígitos")
        contexto["codigo"] = codigo
    if plantilla == "validacion_correo":
        try:
            vence = en_mexico(datetime.fromisoformat(datos["vence_en"]))
        except (TypeError, ValueError):
            raise FallaPermanente("vence_en debe ser una fecha ISO 8601 con zona horaria") from None
        contexto["vence"] = vence.strftime("%d/%m/%Y a las %H:%M")
    return contexto
