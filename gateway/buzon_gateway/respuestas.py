"""JSON answers and the reading of JSON bodies at the edge, into plain typed values."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import uuid
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from buzon_comun.errores import ErrorBuzon, SolicitudInvalida
from buzon_comun.textos import es_texto_valido

LIMITE_CUERPO = 1024 * 1024  # 1 MiB, the contract's limit


class CuerpoDemasiadoGrande(ErrorBuzon):
    def __init__(self, mensaje: str = "La solicitud excede el tamaño máximo permitido (1 MiB)."):
        super().__init__("solicitud_demasiado_grande", mensaje)


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


class TipoContenidoNoSoportado(ErrorBuzon):
    def __init__(self):
        super().__init__("tipo_contenido_no_soportado",
                         "El cuerpo de la solicitud debe enviarse como JSON (Content-Type: application/json).")


# Deeper than any body of the contract by far; Python's parser would hit its recursion limit near 1,000.
PROFUNDIDAD_MAXIMA = 32


@dataclass(frozen=True)
class Campo:
    """One field of a JSON body: its type and, for text (or each text of a list), its longest valid length."""
    tipo: type = str
    maximo: int = 4096
    requerido: bool = True
    base64: bool = False
    # The service that owns the field refuses every wrong value with the field's own code (reto_invalido,
    # token_invalido, correo_invalido, codigo_incorrecto…). Text that is not valid text, or is longer than any
    # valid value, is handed on empty: never a valid value, so the owner answers with that code, in the
    # contract's order of checks, and nothing that can't cross the bus or reach the database ever does.
    propio: bool = False


def leer_cuerpo_crudo(request: Request, limite: int = LIMITE_CUERPO, mensaje: str | None = None) -> bytes:
    """The body, up to `limite` bytes (the contract's 1 MiB; a route may give its own, as the deposit's)."""
    demasiado = CuerpoDemasiadoGrande(mensaje) if mensaje else CuerpoDemasiadoGrande()
    if request.content_length is not None and request.content_length > limite:
        raise demasiado
    datos = request.stream.read(limite + 1)
    if len(datos) > limite:
        raise demasiado
    return datos


def _profundidad(valor) -> int:
    """How deep a parsed JSON value nests (iteratively: a deep body must not exhaust the stack here either)."""
    maxima, pendientes = 0, [(valor, 1)]
    while pendientes:
        actual, nivel = pendientes.pop()
        if isinstance(actual, (dict, list)):
            maxima = max(maxima, nivel)
            hijos = actual.values() if isinstance(actual, dict) else actual
            pendientes.extend((hijo, nivel + 1) for hijo in hijos)
    return maxima


def _texto(nombre: str, valor: str, campo: Campo) -> str:
    if es_texto_valido(valor, campo.maximo):
        return valor
    if campo.propio:
        return ""
    raise _invalida(f"El campo «{nombre}» no es texto válido o excede {campo.maximo} caracteres.")


def leer_json(request: Request, campos: dict[str, Campo], limite: int = LIMITE_CUERPO,
              mensaje_limite: str | None = None) -> dict:
    """The body as a JSON object with every required field present, of its type and not empty, and every text
    valid (`Campo`); fields not named are ignored."""
    crudo = leer_cuerpo_crudo(request, limite, mensaje_limite)
    if crudo and request.mimetype != "application/json":
        raise TipoContenidoNoSoportado()
    try:
        cuerpo = json.loads(crudo.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalida("El cuerpo de la solicitud debe ser JSON válido en UTF-8.") from None
    if not isinstance(cuerpo, dict):
        raise _invalida("El cuerpo de la solicitud debe ser un objeto JSON.")
    if _profundidad(cuerpo) > PROFUNDIDAD_MAXIMA:
        raise _invalida("El cuerpo de la solicitud anida demasiados niveles.")
    valores = {}
    for nombre, campo in campos.items():
        valor = cuerpo.get(nombre)
        if valor is None:
            if campo.requerido:
                raise _invalida(f"Falta el campo «{nombre}».")
            continue
        if not isinstance(valor, campo.tipo) or isinstance(valor, bool) and campo.tipo is not bool:
            raise _invalida(f"El campo «{nombre}» no tiene el tipo esperado.")
        if isinstance(valor, str):
            # Only the empty text is malformed here; blanks are a wrong value, for the field's owner to refuse.
            if not valor:
                raise _invalida(f"El campo «{nombre}» no puede estar vacío.")
            valor = _texto(nombre, valor, campo)
        if isinstance(valor, list):
            if not all(isinstance(elemento, str) for elemento in valor):
                raise _invalida(f"El campo «{nombre}» debe ser una lista de textos.")
            valor = [_texto(nombre, elemento, campo) for elemento in valor]
        if campo.base64:
            try:
                base64.b64decode(valor, validate=True)
            except (binascii.Error, ValueError):
                raise _invalida(f"El campo «{nombre}» debe venir en base64.") from None
        valores[nombre] = valor
    return valores


ENCABEZADO_IDEMPOTENCIA = "Idempotency-Key"
MAXIMO_CLAVE_IDEMPOTENCIA = 200


def clave_idempotencia(request: Request) -> str:
    """The key of a write (`Idempotency-Key`): a retry with the same one gets the first answer. Without the header
    the request still gets a key of its own, so an RPC the broker redelivers (a replica killed after committing,
    before answering) is not acted on twice. The owning service scopes every key by the session's RFC."""
    clave = request.headers.get(ENCABEZADO_IDEMPOTENCIA)
    if clave is None:
        return str(uuid.uuid4())
    if not clave or not es_texto_valido(clave, MAXIMO_CLAVE_IDEMPOTENCIA):
        raise _invalida(f"El encabezado {ENCABEZADO_IDEMPOTENCIA} debe tener de 1 a {MAXIMO_CLAVE_IDEMPOTENCIA} "
                        "caracteres.")
    return clave


def token_bearer(request: Request) -> str | None:
    encabezado = request.headers.get("Authorization", "")
    tipo, _, token = encabezado.partition(" ")
    if tipo.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def redes(texto: str | None) -> tuple:
    """Parse a comma-separated list of addresses or CIDR networks (BUZON_PROXIES_CONFIABLES)."""
    return tuple(ipaddress.ip_network(parte.strip(), strict=False) for parte in (texto or "").split(",") if parte.strip())


def en_redes(direccion: str, redes_: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(direccion)
    except ValueError:
        return False
    return any(ip in red for red in redes_)


def ip_cliente(request: Request, confiables: tuple = ()) -> str:
    """The client's address for rate limits. Behind trusted proxies (a load balancer) every request would
    share the proxy's address, so walk X-Forwarded-For from the right past the trusted hops; a client can
    prepend anything to that header, so nothing left of the first untrusted hop is believed."""
    direccion = request.remote_addr or "desconocida"
    if not confiables or not en_redes(direccion, confiables):
        return direccion
    saltos = [parte.strip() for parte in request.headers.get("X-Forwarded-For", "").split(",") if parte.strip()]
    for salto in reversed(saltos):
        if not en_redes(salto, confiables):
            return salto
    return saltos[0] if saltos else direccion


def clave_cliente(direccion: str) -> str:
    """The key rate limits count a client by: its IPv4 address, or the /64 network of its IPv6 address (one
    subscriber gets a whole /64 and could otherwise change address at every request)."""
    try:
        ip = ipaddress.ip_address(direccion)
    except ValueError:
        return direccion[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
