"""The texts people receive, rendered from the Jinja2 templates of `plantillas/`.

An email template is three files: `<nombre>.asunto.j2`, `<nombre>.txt.j2` and `<nombre>.html.j2` (autoescaped);
an SMS template is `<nombre>.sms.j2`. What each template needs from `datos` is checked here, so a request the
template cannot honour fails at once instead of sending a message without its link or code.

Emails say which RFC (with its name or razón social) and which Registros Patronales they are about, from the
`rfc`, `nombre` and `registros_patronales` the requester sends. SMS are written in the GSM-7 alphabet without
accents, within one 160-character segment: an accent outside GSM-7 would switch the whole message to UCS-2 (70
characters a segment), doubling its cost and splitting it. Texts that state the validation window take it from
the request's `ventana_s` (BUZON_VENTANA_VALIDACION_S where contactos runs), never a figure written here.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError, select_autoescape

from buzon_comun.reloj import en_mexico
from buzon_notificaciones.fallas import FallaPermanente

log = logging.getLogger(__name__)

# What a notice about a medio's change needs: which medio, of which RFC, when.
_AVISO_CORREO = ("mecanismo", "valor", "rfc", "momento")
_AVISO_SMS = ("mecanismo", "rfc")
# buzon's aviso of a notification: which RFC and when it was deposited; never its subject, content or document.
AVISO_NOTIFICACION = "aviso_notificacion"
_AVISO_NOTIFICACION = ("rfc", "depositada_en")
PLANTILLAS_CORREO = {
    "validacion_correo": ("enlace", "vence_en"),
    "confirmacion_correo": ("valor",),
    "aviso_medio_registrado": _AVISO_CORREO,
    "aviso_medio_eliminado": _AVISO_CORREO,
    "aviso_medio_vencido": _AVISO_CORREO,
    AVISO_NOTIFICACION: _AVISO_NOTIFICACION,
}
PLANTILLAS_SMS = {
    "codigo_sms": ("codigo",),
    "confirmacion_sms": (),
    "aviso_medio_registrado": _AVISO_SMS,
    "aviso_medio_eliminado": _AVISO_SMS,
    "aviso_medio_vencido": _AVISO_SMS,
    AVISO_NOTIFICACION: _AVISO_NOTIFICACION,
}
MECANISMOS = {"correo": "correo electrónico", "telefono": "número celular"}
# One SMS segment in GSM-7; more and the provider splits the message (and charges each part).
MAXIMO_SMS = 160
# GSM 03.38's basic alphabet (no escape characters: each of those takes two places of the 160).
GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# Kept as they are: plain ASCII of GSM-7 and the Ñ of Spanish (and of RFCs); any other letter loses its accent.
_CONSERVADOS = frozenset(c for c in GSM7 if c.isascii() or c in "Ññ")
_CODIGO = re.compile(r"\d{5}")
_UNIDADES = ((3600, "hora", "horas"), (60, "minuto", "minutos"), (1, "segundo", "segundos"))

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


def renderizar(canal: str, plantilla: str, datos: dict, *, url_publica: str | None = None) -> Mensaje:
    """The message of `plantilla` with `datos`; FallaPermanente when the request cannot make one.

    `url_publica` (BUZON_PUBLIC_URL where notificaciones runs) is the portal the aviso of a notification links to:
    buzon's request carries no address, only which RFC and when."""
    catalogo = PLANTILLAS_CORREO if canal == "correo" else PLANTILLAS_SMS
    if plantilla not in catalogo:
        raise FallaPermanente(f"plantilla desconocida para {canal}: {plantilla}")
    faltan = [campo for campo in catalogo[plantilla] if not datos.get(campo)]
    if faltan:
        raise FallaPermanente(f"faltan datos para {plantilla}: {', '.join(faltan)}")
    if plantilla == AVISO_NOTIFICACION and canal == "correo" and not url_publica:
        raise FallaPermanente("falta la dirección del portal (BUZON_PUBLIC_URL) para el aviso de notificación")
    contexto = _contexto(plantilla, datos)
    contexto["url_portal"] = url_publica.rstrip("/") + "/" if url_publica else None
    try:
        if canal == "sms":
            return Mensaje(None, _sms(plantilla, _entorno.get_template(f"{plantilla}.sms.j2").render(contexto)), None)
        return Mensaje(
            " ".join(_entorno.get_template(f"{plantilla}.asunto.j2").render(contexto).split()),
            _entorno.get_template(f"{plantilla}.txt.j2").render(contexto),
            _entorno.get_template(f"{plantilla}.html.j2").render(contexto),
        )
    except TemplateError as exc:
        raise FallaPermanente(f"no se pudo preparar {plantilla}: {exc}") from None


def a_gsm7(texto: str) -> str:
    """The text in GSM-7's basic alphabet, written as the templates are: letters lose their accents ("código" →
    "codigo", even the few accented letters GSM-7 has), Ñ stays, and whatever has no place in GSM-7 becomes "?".
    This keeps a value from outside (a name, say) from turning an SMS into UCS-2."""
    salida = []
    for caracter in texto:
        if caracter not in _CONSERVADOS:
            base = "".join(c for c in unicodedata.normalize("NFKD", caracter) if not unicodedata.combining(c))
            caracter = base if base and all(c in GSM7 for c in base) else "?"
        salida.append(caracter)
    return "".join(salida)


def _sms(plantilla: str, texto: str) -> str:
    sms = a_gsm7(" ".join(texto.split()))
    if len(sms) > MAXIMO_SMS:
        # Still sent (in two parts): a code that never arrives is worse. The templates' test keeps this from
        # happening with any value the requester may send.
        log.warning("el SMS %s tiene %d caracteres, más de un segmento", plantilla, len(sms))
    return sms


def texto_plazo(segundos: object) -> str | None:
    """A window in words, as the guide says it ("72 horas"): hours when it is whole hours, else minutes or
    seconds; None when there is no usable figure (a request from before the field existed)."""
    if isinstance(segundos, bool) or not isinstance(segundos, int) or segundos <= 0:
        return None
    unidad, singular, plural = next(u for u in _UNIDADES if segundos % u[0] == 0)
    cuantas = segundos // unidad
    return f"{cuantas} {singular if cuantas == 1 else plural}"


def _fecha(iso: object, campo: str) -> str:
    """An ISO time with its offset as people read it: dd/mm/aaaa a las HH:MM, Mexico City time."""
    try:
        momento = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        momento = None
    if momento is None or momento.tzinfo is None:
        raise FallaPermanente(f"{campo} debe ser una fecha ISO 8601 con zona horaria")
    return en_mexico(momento).strftime("%d/%m/%Y a las %H:%M")


def _contexto(plantilla: str, datos: dict) -> dict:
    contexto = {"nombre": None, "rfc": None, **datos}
    rps = datos.get("registros_patronales")
    contexto["registros_patronales"] = [
        {"registro_patronal": str(rp["registro_patronal"]), "razon_social": rp.get("razon_social")}
        for rp in (rps if isinstance(rps, list) else []) if isinstance(rp, dict) and rp.get("registro_patronal")]
    contexto["plazo"] = texto_plazo(datos.get("ventana_s"))
    contexto["mecanismo_texto"] = MECANISMOS.get(datos.get("mecanismo"), "medio de contacto")
    if plantilla == "codigo_sms":
        codigo = str(datos["codigo"])
        # The person must find the code at a glance: it is the message's only run of five digits.
        if not _CODIGO.fullmatch(codigo):
            raise FallaPermanente("el código de verificación debe tener 5 dígitos")
        contexto["codigo"] = codigo
    if plantilla == "validacion_correo":
        contexto["vence"] = _fecha(datos["vence_en"], "vence_en")
    if plantilla == AVISO_NOTIFICACION:
        contexto["fecha"] = _fecha(datos["depositada_en"], "depositada_en")
    if "momento" in PLANTILLAS_CORREO.get(plantilla, ()) and datos.get("momento"):
        contexto["fecha"] = _fecha(datos["momento"], "momento")
    return contexto
