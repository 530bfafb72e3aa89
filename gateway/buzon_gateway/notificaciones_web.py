"""How the portal shows the Buzón's notifications (issue 13): plain functions over the contract's notifications, so
the page handlers stay a few lines and this tests without a browser or a broker; and the step the JSON API and the
pages share (the acuse de notificación's folio).

A notification is `pendiente` until the person opens it by signing its acuse de recibo (`abierta`) or its días
hábiles run out (`tacita`: deemed notified). Once its aviso was sent, a pending one carries its deadline (buzon's
`abrir_hasta` and `tacita_el`, from its calendar): the list says "Ábrela a más tardar el …" and its page "Tienes
hasta el … para abrirla; si no la abres, se tendrá por notificada el …". Times are Mexico City's.
"""
from __future__ import annotations

import datetime as dt
import re

from buzon_comun.errores import NoEncontrado
from buzon_gateway.paginas import momento as _momento

PENDIENTE, ABIERTA, TACITA = "pendiente", "abierta", "tacita"
ESTADOS = {PENDIENTE: "Pendiente de abrir", ABIERTA: "Abierta", TACITA: "Notificada por no abrirse a tiempo"}
MENSAJE_SIN_ACUSE = "Esta notificación aún no tiene acuse: ábrela primero."
DIAS_SEMANA = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
# buzon's acuse de recibo: ||1.0|ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS|<id>|<RFC>|<moment ISO>|<SHA-256>||
_RECIBO = re.compile(r"\|\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|([0-9a-f]{64})\|\|")
TRAMITE_RECIBO = "ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS"


# --- shared by the API's routes and the portal's pages ---

def folio_acuse(servicio_buzon, rfc: str, id_notificacion: str) -> str:
    """The folio of the notification's acuse de notificación; 404 while it has none (still pendiente)."""
    folio = servicio_buzon.obtener(rfc, id_notificacion).get("folio_acuse")
    if not folio:
        raise NoEncontrado("no_encontrado", MENSAJE_SIN_ACUSE)
    return folio


def codigo_verificacion(acuses, rfc: str, folio: str | None) -> str | None:
    """The acuse's código de verificación as acuses keeps it, for a notification whose own view carries none (made
    before buzon minted the code with the acuse's request: its migration 0002); None until acuses has it."""
    if not folio:
        return None
    return acuses.codigos(rfc, [folio])["codigos"].get(folio)


# --- how the pages show them ---

def fecha_y_minuto(iso: str | None) -> str:
    """"dd/mm/aaaa HH:MM" in Mexico City, one string ("" for none); `paginas.fecha_hora` gives an act's date and time
    to the second, apart."""
    momento = _momento(iso)
    return f"{momento:%d/%m/%Y %H:%M}" if momento else ""


def dia_y_fecha(dia: dt.date) -> str:
    """"jueves 14/01/2027"."""
    return f"{DIAS_SEMANA[dia.weekday()]} {dia:%d/%m/%Y}"


def plazo(notificacion: dict) -> tuple[str, str]:
    """A pending notification's deadline in words: (for the list, for its page); ("", "") when it has none (its aviso
    not sent yet, or already made). `abrir_hasta` is the end of the last día hábil, read as its Mexico City day (as
    the medios' "Vence el…"); `tacita_el` is a date."""
    hasta, tacita = _momento(notificacion.get("abrir_hasta")), notificacion.get("tacita_el")
    if notificacion["estado"] != PENDIENTE or hasta is None or not tacita:
        return "", ""
    tacita = dt.date.fromisoformat(tacita)
    return (f"Ábrela a más tardar el {hasta:%d/%m/%Y}",
            f"Tienes hasta el {dia_y_fecha(hasta.date())} para abrirla; si no la abres, se tendrá por notificada el "
            f"{dia_y_fecha(tacita)}.")


def vista(notificacion: dict) -> dict:
    """One notification as the pages show it: its state in words, its dates as a person reads them and, while
    pending with an aviso sent, its deadline (`abrir_antes` for the list, `plazo` for its page)."""
    abrir_antes, plazo_texto = plazo(notificacion)
    return {
        **notificacion,
        "estado_texto": ESTADOS.get(notificacion["estado"], notificacion["estado"]),
        "pendiente": notificacion["estado"] == PENDIENTE,
        "abrir_antes": abrir_antes,
        "plazo": plazo_texto,
        "depositada": fecha_y_minuto(notificacion.get("depositada_en")),
        "notificada": fecha_y_minuto(notificacion.get("notificada_en")),
        "registros_patronales": notificacion.get("registros_patronales") or [],
    }


def recibo_legible(cadena: str) -> list[tuple[str, str]]:
    """The acuse de recibo's cadena as data a person reads: what it is, the notification, the RFC, the moment and
    the document's digest. [] when the cadena has another shape (the page then shows it only as it is)."""
    partes = _RECIBO.fullmatch(cadena)
    if partes is None or partes.group(2) != TRAMITE_RECIBO:
        return []
    _version, _tramite, id_notificacion, rfc, momento, huella = partes.groups()
    try:
        cuando = _momento(momento)
    except ValueError:
        return []
    return [("Documento", "Acuse de recibo de notificación del Buzón IMSS"),
            ("Notificación", id_notificacion),
            ("RFC", rfc),
            ("Fecha y hora", f"{cuando:%d/%m/%Y} a las {cuando:%H:%M:%S}"),
            ("Resumen SHA-256 del documento", huella)]
