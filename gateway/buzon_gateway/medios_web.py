"""How the portal shows contact means ("Mis medios de contacto"): plain functions over the contract's medios, so
the page handlers stay a few lines and this tests without a browser or a broker.

A medio in force (pendiente or validado) is listed with what can be done with it; one dado de baja (deleted, its
attempts used up, or lapsed: "baja por vencimiento") stays in the history with its acuses, newest first. Times are
Mexico City's.
"""
from __future__ import annotations

import datetime as dt
import uuid

from buzon_gateway.paginas import fecha_hora, momento as _momento

MECANISMOS = {"correo": "Correo Electrónico", "telefono": "Teléfono"}
ESTADOS_MEDIO = {"pendiente": "Pendiente de validación", "validado": "Validado",
                 "baja_vencimiento": "Dado de baja por vencimiento", "baja": "Dado de baja"}
# The acuses of a medio, as the routes name them and as a person reads them.
TIPOS_ACUSE = {"registro": "registro", "validacion": "validación", "baja": "baja"}
EN_VIGOR = ("pendiente", "validado")
# More Registros Patronales than this are folded under a summary, so that one medio doesn't fill the screen.
RPS_A_LA_VISTA = 3
_NUNCA = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def vencimiento(iso: str | None) -> str:
    """A pendiente's deadline as a person reads it: "Vence el dd/mm/aaaa a las HH:MM"."""
    momento = _momento(iso)
    return f"Vence el {momento:%d/%m/%Y} a las {momento:%H:%M}" if momento else ""


def fila(medio: dict, razones: dict[str, str], rfc: str) -> dict:
    """One medio as the page shows it: what it is, whom it applies to ("Aplica a"), its state and deadline, and the
    actions it admits, each with the words of the guide."""
    fecha, hora = fecha_hora(medio.get("registrado_en"))
    rps = [{"registro_patronal": rp, "razon_social": razones.get(rp, "")} for rp in medio.get("registros_patronales") or []]
    pendiente = medio["estado"] == "pendiente"
    acuses = medio.get("acuses") or {}
    return {
        **medio,
        "fecha": fecha,
        "hora": hora,
        "mecanismo_texto": MECANISMOS.get(medio["mecanismo"], medio["mecanismo"]),
        "estado_texto": ESTADOS_MEDIO.get(medio["estado"], medio["estado"]),
        "aplica_rfc": rfc if not rps else None,
        "aplica_rps": rps,
        "rps_plegados": len(rps) > RPS_A_LA_VISTA,
        "vence": vencimiento(medio.get("vence_en")) if pendiente else "",
        "baja": " ".join(fecha_hora(medio.get("baja_en"))) if medio.get("baja_en") else "",
        "acuses_disponibles": [(tipo, nombre) for tipo, nombre in TIPOS_ACUSE.items() if acuses.get(tipo)],
        "validable": pendiente and medio["mecanismo"] == "telefono",
        "reenviable": pendiente,
        "reenvio": "el código" if medio["mecanismo"] == "telefono" else "el enlace de validación",
        "eliminable": medio["estado"] in EN_VIGOR,
        # The resend form's own key: a double click, or a reload of its answer, sends once.
        "clave": str(uuid.uuid4()) if pendiente else "",
    }


def tablero(medios: list[dict], registros: list[dict], rfc: str) -> tuple[list[dict], list[dict]]:
    """(the medios in force, oldest first; the history of bajas, the latest baja first)."""
    razones = {r["registro_patronal"]: r["razon_social"] for r in registros}
    filas = [fila(medio, razones, rfc) for medio in medios]
    vigentes = [f for f in filas if f["estado"] in EN_VIGOR]
    historial = sorted((f for f in filas if f["estado"] not in EN_VIGOR), reverse=True,
                       key=lambda f: (_momento(f.get("baja_en")) or _NUNCA, _momento(f.get("registrado_en")) or _NUNCA))
    return vigentes, historial
