"""What every text that crosses the edge must be: valid Unicode that encodes to UTF-8, without NUL, within a bound.

JSON can carry a lone surrogate (`"\\ud800"`) that no UTF-8 encoder accepts, and a URL or a form can carry a NUL
that PostgreSQL refuses in any text column: either would fail deep inside a service as a 500. The edge checks
every string once with `es_texto_valido`, and code inside trusts what passed.
"""
from __future__ import annotations

import re

# Lone surrogates and NUL: the characters no UTF-8 encoder or PostgreSQL text accepts.
_PROHIBIDOS = re.compile("[\x00\ud800-\udfff]")


def es_texto_valido(texto: object, maximo: int) -> bool:
    return isinstance(texto, str) and len(texto) <= maximo and _PROHIBIDOS.search(texto) is None
