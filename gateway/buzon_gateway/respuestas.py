"""JSON answers and the reading of JSON bodies at the edge, into plain typed values."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json

from werkzeug.wrappers import Request, Response

from buzon_comun.errores import ErrorBuzon, SolicitudInvalida

LIMITE_CUERPO = 1024 * 1024  # 1 MiB, the contract's limit


class CuerpoDemasiadoGrande(ErrorBuzon):
    def __init__(self):
        super().__init__("solicitud_demasiado_grande", "La solicitud excede el tamaño máximo permitido (1 MiB).")


def respuesta_json(estado: int, datos, encabezados: dict | None = None) -> Response:
    cuerpo = json.dumps(datos, ensure_ascii=False)
    respuesta = Response(cuerpo, status=estado, content_type="application/json; charset=utf-8")
    respuesta.headers["Cache-Control"] = "no-store"
    for nombre, valor in (encabezados or {}).items():
        respuesta.headers[nombre] = valor
    return respuesta


def respuesta_pdf(contenido_b64: str, nombre: str) -> Response:
    """A PDF that crossed the bus in base64 (the JSON serializer carries no bytes)."""
    respuesta = Response(base64.b64decode(contenido_b64), status=200, content_type="application/pdf")
    respuesta.headers["Content-Disposition"] = f'attachment; filename="{nombre}"'
    respuesta.headers["Cache-Control"] = "private, no-store"
    return respuesta


def respuesta_error(estado: int, codigo: str, mensaje: str, extra: dict | None = None) -> Response:
    return respuesta_json(estado, {"error": {"codigo": codigo, "mensaje": mensaje, **(extra or {})}})


def _invalida(mensaje: str) -> SolicitudInvalida:
    return SolicitudInvalida("solicitud_invalida", mensaje)


def leer_cuerpo_crudo(request: Request) -> bytes:
    if request.content_length is not None and request.content_length > LIMITE_CUERPO:
        raise CuerpoDemasiadoGrande()
    datos = request.stream.read(LIMITE_CUERPO + 1)
    if len(datos) > LIMITE_CUERPO:
        raise CuerpoDemasiadoGrande()
    return datos


def leer_json(request: Request, campos: dict[str, type], base64_en: tuple[str, ...] = (),
              opcionales: dict[str, type] | None = None) -> dict:
    """The body as a JSON object with every named field present, of its type and non-empty; optional fields
    are checked for type when present (a list's items must be strings)."""
    crudo = leer_cuerpo_crudo(request)
    try:
        cuerpo = json.loads(crudo.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _invalida("El cuerpo de la solicitud debe ser JSON válido en UTF-8.") from None
    if not isinstance(cuerpo, dict):
        raise _invalida("El cuerpo de la solicitud debe ser un objeto JSON.")
    valores = {}
    for nombre, tipo in {**campos, **(opcionales or {})}.items():
        valor = cuerpo.get(nombre)
        if valor is None:
            if nombre in campos:
                raise _invalida(f"Falta el campo «{nombre}».")
            continue
        if not isinstance(valor, tipo) or isinstance(valor, bool) and tipo is not bool:
            raise _invalida(f"El campo «{nombre}» no tiene el tipo esperado.")
        if isinstance(valor, str) and not valor.strip():
            raise _invalida(f"El campo «{nombre}» no puede estar vacío.")
        if isinstance(valor, list) and not all(isinstance(elemento, str) for elemento in valor):
            raise _invalida(f"El campo «{nombre}» debe ser una lista de textos.")
        valores[nombre] = valor
    for nombre in base64_en:
        try:
            base64.b64decode(valores[nombre], validate=True)
        except (binascii.Error, ValueError):
            raise _invalida(f"El campo «{nombre}» debe venir en base64.") from None
    return valores


def token_bearer(request: Request) -> str | None:
    encabezado = request.headers.get("Authorization", "")
    tipo, _, token = encabezado.partition(" ")
    if tipo.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def redes(texto: str | None) -> tuple:
    """Parse a comma-separated list of addresses or CIDR networks (BUZON_PROXIES_CONFIABLES)."""
    return tuple(ipaddress.ip_network(parte.strip(), strict=False) for parte in (texto or "").split(",") if parte.strip())


def _en(direccion: str, confiables: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(direccion)
    except ValueError:
        return False
    return any(ip in red for red in confiables)


def ip_cliente(request: Request, confiables: tuple = ()) -> str:
    """The client's address for rate limits. Behind trusted proxies (a load balancer) every request would
    share the proxy's address, so walk X-Forwarded-For from the right past the trusted hops; a client can
    prepend anything to that header, so nothing left of the first untrusted hop is believed."""
    direccion = request.remote_addr or "desconocida"
    if not confiables or not _en(direccion, confiables):
        return direccion
    saltos = [parte.strip() for parte in request.headers.get("X-Forwarded-For", "").split(",") if parte.strip()]
    for salto in reversed(saltos):
        if not _en(salto, confiables):
            return salto
    return saltos[0] if saltos else direccion
