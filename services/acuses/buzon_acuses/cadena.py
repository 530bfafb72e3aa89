"""The cadena original of each acuse: the exact text the Institute seals, built only from the request.

Medios (registro, validación, baja):
    ||1.0|<tipo>|<folio>|<rfc>|<curp or empty>|<emitido_en>|<mecanismo>|<valor>|<estado>|<RPs joined by ,>||
Activation: the cadena the person signed with their e.firma, unchanged, so that one string carries both the
person's signature and the Institute's seal.
Aclaración u orientación:
    ||1.0|aclaracion|<folio>|<rfc>|<curp or empty>|<emitido_en>|<asunto>|<SHA-256 of the texto, hex>||
    (the texto is free and long: its digest binds it to the seal without putting it twice on the page).
Notificación (the acuse de notificación, asked by buzon when a notification is opened or deemed notified):
    ||1.0|notificacion|<folio>|<rfc>|<curp or empty>|<emitido_en>|<forma>|<notificacion_id>|<asunto>|<area>|
    <tipo_acto>|<depositada_en>|<documento_sha256>|<RPs joined by ,>|<SHA-256 of the signed acuse de recibo, hex,
    or empty for a tácita>||
    `emitido_en` is the moment it is notified (the opening, or the deemed date); `forma` is `apertura` or `tacita`.
"""
from __future__ import annotations

import hashlib
import re

VERSION = "1.0"
TIPOS_MEDIO = ("registro_medio", "validacion_medio", "baja_medio")
ACTIVACION = "activacion"
ACLARACION = "aclaracion"
NOTIFICACION = "notificacion"
FORMAS_NOTIFICACION = ("apertura", "tacita")
TIPOS = TIPOS_MEDIO + (ACTIVACION, ACLARACION, NOTIFICACION)

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
    if tipo == NOTIFICACION:
        return _cadena_notificacion(solicitud, datos, titular)
    if tipo not in TIPOS_MEDIO:
        raise ValueError(f"tipo de acuse desconocido: {tipo!r}")
    rps = ",".join(_campo(registro_patronal(rp)) for rp in datos.get("registros_patronales") or [])
    campos = [VERSION, tipo, solicitud["folio"], solicitud["rfc"], titular.get("curp"), solicitud["emitido_en"],
              datos.get("mecanismo"), datos.get("valor"), datos.get("estado")]
    return "||" + "|".join(_campo(c) for c in campos) + "|" + rps + "||"


def _cadena_notificacion(solicitud: dict, datos: dict, titular: dict) -> str:
    forma = datos.get("forma")
    if forma not in FORMAS_NOTIFICACION:
        raise ValueError(f"forma de notificación desconocida en {solicitud.get('folio')}: {forma!r}")
    for campo in ("notificacion_id", "depositada_en", "documento_sha256"):
        if not datos.get(campo):
            raise ValueError(f"la solicitud de acuse {solicitud.get('folio')} no trae {campo}")
    recibo = datos.get("cadena_original") or ""
    if forma == "apertura" and not recibo:
        raise ValueError(f"la solicitud de acuse {solicitud.get('folio')} no trae el acuse de recibo firmado")
    # The signed acuse de recibo is bound by its digest, exactly as received (it is the person's evidence).
    resumen = hashlib.sha256(recibo.encode("utf-8")).hexdigest() if recibo else ""
    rps = ",".join(_campo(registro_patronal(rp)) for rp in datos.get("registros_patronales") or [])
    campos = [VERSION, NOTIFICACION, solicitud["folio"], solicitud["rfc"], titular.get("curp"),
              solicitud["emitido_en"], forma, datos["notificacion_id"], datos.get("asunto"), datos.get("area"),
              datos.get("tipo_acto"), datos["depositada_en"], datos["documento_sha256"]]
    return "||" + "|".join(_campo(c) for c in campos) + "|" + rps + "|" + resumen + "||"
