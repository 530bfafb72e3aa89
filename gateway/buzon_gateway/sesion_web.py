"""The browser's session: the API token kept in a cookie, and the CSRF checks of the portal's forms.

The cookie holds the same token the JSON API takes as a Bearer, so auth stays the only keeper of sessions.
It is HttpOnly (no script can read it) and SameSite=Strict (no other site can make the browser send it);
CSRF tokens are a second, independent barrier in case a browser ignores SameSite.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.wrappers import Response

COOKIE_SESION = "buzon_sesion"
COOKIE_CSRF = "buzon_csrf"
ENCABEZADO_CSRF = "X-CSRF-Token"
CAMPO_CSRF = "csrf"


def csrf_de_sesion(token: str) -> str:
    """The token of a logged-in person's forms: derived from the session token, so it needs no storage, and a
    page can show it without revealing the cookie (SHA-256 can't be reversed)."""
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()


# What other services may know of the person: the identity auth resolved from the session, never the client's.
CAMPOS_TITULAR = ("rfc", "nombre", "curp", "rfc_representante", "tipo_persona")


def titular_de(sesion: dict) -> dict:
    return {campo: sesion[campo] for campo in CAMPOS_TITULAR}


def sesion_id(token: str) -> str:
    """What the services that scope things to a login get (the Solicitud's cadena): derived from the token,
    never the token itself; the API and the pages use this one derivation, so they share one Solicitud."""
    return hashlib.sha256(f"sesion:{token}".encode()).hexdigest()


def nuevo_csrf() -> str:
    return secrets.token_urlsafe(32)


def coincide(esperado: str | None, recibido: str | None) -> bool:
    """Constant time, so the comparison doesn't leak how much of a guess was right."""
    if not esperado or not recibido:
        return False
    return hmac.compare_digest(esperado.encode(), recibido.encode())


def es_segura(public_url: str | None) -> bool:
    """Cookies are marked Secure when people reach the gateway over HTTPS (a browser would drop a Secure
    cookie set over plain HTTP, which would break local runs)."""
    return (public_url or "").lower().startswith("https://")


def poner_cookie(respuesta: Response, nombre: str, valor: str, segura: bool) -> None:
    # No Max-Age: the cookie lives while the browser does; auth's expiry bounds the session anyway.
    respuesta.set_cookie(nombre, valor, path="/", httponly=True, samesite="Strict", secure=segura)


def borrar_cookie(respuesta: Response, nombre: str, segura: bool) -> None:
    respuesta.delete_cookie(nombre, path="/", httponly=True, samesite="Strict", secure=segura)
