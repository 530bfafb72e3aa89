"""Códigos de verificación of acuses (API.md, "Acuses"): the secret that, with the folio, opens an acuse's public
verification. acuses mints one for every request that comes without one; a requester that must name the code in
its own answer, at once, mints it itself and sends it in the request (`AcuseSolicitado.codigo_verificacion`: buzon,
whose opening answers the acuse's code before acuses has even read the request).
"""
from __future__ import annotations

import base64
import re
import secrets

# 10 random bytes are 80 bits, exactly 16 base32 characters: no padding, and only A-Z and 2-7, so the code reads
# aloud, types back and sits in a URL unescaped.
BYTES_CODIGO = 10
LARGO_CODIGO = 16
_FORMA = re.compile(rf"[A-Z2-7]{{{LARGO_CODIGO}}}")


def nuevo_codigo() -> str:
    """A fresh código de verificación."""
    return base64.b32encode(secrets.token_bytes(BYTES_CODIGO)).decode("ascii")


def es_codigo(valor: object) -> bool:
    """Whether `valor` has the form of a code `nuevo_codigo` makes."""
    return isinstance(valor, str) and _FORMA.fullmatch(valor) is not None
