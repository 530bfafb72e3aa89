"""The JSON bodies the gateway takes: every field, its type and its bound, in one place.

The handlers read bodies with these (`respuestas.leer_json`), and the OpenAPI document states the same bounds
(`openapi.py` reads them from here), so a request valid by the document is never refused as malformed.
"""
from __future__ import annotations

from buzon_gateway.respuestas import Campo

# A SAT certificate is about 1.5 KB of DER (2 KB in base64); 16 KB leaves room for any real one.
CERTIFICADO = Campo(maximo=16384, base64=True)
# RSA-8192 signs in 1,024 bytes (1,368 in base64); SAT's keys are 2,048 bits.
FIRMA = Campo(maximo=2048, base64=True)

SESION = {"certificado": CERTIFICADO, "reto": Campo(maximo=512, propio=True), "firma": FIRMA}
FIRMA_CADENA = {"certificado": CERTIFICADO, "firma": FIRMA}
MEDIO = {
    "mecanismo": Campo(maximo=32, propio=True),
    # An email address is at most 254 characters; a phone, with separators and +52, far fewer.
    "valor": Campo(maximo=320, propio=True),
    # The entries' count is contactos' rule (at most 1,000, with its own code); each entry is an RP or "*".
    "registros_patronales": Campo(tipo=list, maximo=64, requerido=False, propio=True),
}
VALIDACION_CORREO = {"token": Campo(maximo=512, propio=True)}
CODIGO_SMS = {"codigo": Campo(maximo=64, propio=True)}
# The texto's own bound (4,000 characters, after trimming) is activacion's rule, with its own code.
ACLARACION = {"texto": Campo(maximo=8192, propio=True)}

# A notification's deposit (POST /api/v1/notificaciones): every field is buzon's to check (its bounds and codes:
# rfc_invalido, registro_patronal_invalido, documento_invalido, documento_demasiado_grande), so each is handed on
# as text; these bounds only keep what can't be valid off the bus. The document's base64 fits the route's body limit
# (notificaciones_buzon.LIMITE_DEPOSITO).
DEPOSITO = {
    "rfc": Campo(maximo=64, propio=True),
    "registros_patronales": Campo(tipo=list, maximo=64, requerido=False, propio=True),
    "asunto": Campo(maximo=2000, propio=True),
    "area": Campo(maximo=2000, propio=True),
    "tipo_acto": Campo(maximo=1000, propio=True),
    "referencia": Campo(maximo=1000, propio=True),
    "documento": Campo(maximo=7 * 1024 * 1024, propio=True),
}
