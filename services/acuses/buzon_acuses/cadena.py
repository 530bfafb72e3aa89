"""The cadena original of each acuse: the exact text the Institute seals, built only from the request.

Medios (registro, validación, baja):
    ||1.0|<tipo>|<folio>|<rfc>|<curp or empty>|<emitido_en>|<mecanismo>|<valor>|<estado>|<RPs joined by ,>||
Activation: the cadena the person signed with their e.firma, unchanged, so that one string carries both the
person's signature and the Institute's seal.
Aclaración u orientación:
    ||1.0|aclaracion|<folio>|<rfc>|<curp or empty>|<emitido_en>|<asunto>|<SHA-256 of the texto, hex>||
    (the texto is free and long: its digest binds it to the seal without putting it twice on the page).
"""
from __future__ import annotations

import hashlib
import re

VERSION = "1.0"
TIPOS_MEDIO = ("registro_medio", "validacion_medio", "baja_medio")
ACTIVACION = "activacion"
ACLARACION = "aclaracion"
TIPOS = TIPOS_MEDIO + (ACTIVACION, ACLARACION)

_ESPACIOS = re.compile(r"\s+")


def _campo(valor) -> str:
    # The separator inside a value would make two cadenas read alike, and stray whitespace would make the same
    # act seal differently; neither can occur in valid data, so this only guards against surprises.
    texto = "" if valor is None else str(valor)
    return _ESPACIOS.sub(" ", texto.replace("|", "/")).strip()


def registro_patronal(rp) -> str:
    """contactos sends RPs as strings; the activation as {"registro_patronal", "razon_social"}."""
    return rp.get("registro_patronal", "") if isinstance(rp, dict) else str(rp)


def cadena_original(solicitud: dict) -> str:
    """The cadena of a stored request (AcuseSolicitado's payload)."""
    tipo = solicitud["tipo"]
    datos = solicitud.get("datos") or {}
    if tipo == ACTIVACION:
        cadena = datos.get("cadena_original")
        if not cadena:
            raise ValueError(f"la solicitud de acuse {solicitud.get('folio')} no trae la cadena original firmada")
        return cadena
    titular = solicitud.get("titular") or {}
    if tipo == ACLARACION:
        # Hashed exactly as received (not _campo'd): the digest must match the texto printed on the acuse.
        resumen = hashlib.sha256((datos.get("texto") or "").encode("utf-8")).hexdigest()
        campos = [VERSION, tipo, solicitud["folio"], solicitud["rfc"], titular.get("curp"), solicitud["emitido_en"],
                  datos.get("asunto"), resumen]
        return "||" + "|".join(_campo(c) for c in campos) + "||"
    if tipo not in TIPOS_MEDIO:
        raise ValueError(f"tipo de acuse desconocido: {tipo!r}")
    rps = ",".join(_campo(registro_patronal(rp)) for rp in datos.get("registros_patronales") or [])
    campos = [VERSION, tipo, solicitud["folio"], solicitud["rfc"], titular.get("curp"), solicitud["emitido_en"],
              datos.get("mecanismo"), datos.get("valor"), datos.get("estado")]
    return "||" + "|".join(_campo(c) for c in campos) + "|" + rps + "||"
