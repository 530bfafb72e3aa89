"""Respondedor OCSP de desarrollo (RFC 6960 sobre HTTP POST) para la PKI de desarrollo.

Se comporta como el de SAT: firma con un certificado de respondedor delegado que emitió la AC emisora, lo incluye
en la respuesta y se identifica por nombre. Lee estado.json en cada consulta (sólo si cambió), así que una
revocación hecha con `buzon-dev pki revocar` se ve sin reiniciar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import socketserver
import threading
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .pki import PKI, carpeta_predeterminada

log = logging.getLogger("buzon_dev.ocsp")

TIPO_SOLICITUD = "application/ocsp-request"
TIPO_RESPUESTA = "application/ocsp-response"
# A real request is a few hundred bytes; anything this big is not one.
MAXIMO_SOLICITUD = 64 * 1024

_ESTADOS = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}


def _huellas_emisora(emisora: x509.Certificate) -> dict[str, tuple[bytes, bytes]]:
    """Nombre de hash → (hash del nombre, hash de la llave) de la AC emisora, como los lleva un CertID."""
    nombre = emisora.subject.public_bytes()
    # The key hash covers only the BIT STRING's value, which for RSA is the PKCS#1 RSAPublicKey.
    llave = emisora.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    resultado = {}
    for algoritmo in (hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        h_nombre = hashes.Hash(algoritmo)
        h_nombre.update(nombre)
        h_llave = hashes.Hash(algoritmo)
        h_llave.update(llave)
        resultado[algoritmo.name] = (h_nombre.finalize(), h_llave.finalize())
    return resultado


def responder(pki: PKI, solicitud_der: bytes, *, vigencia: dt.timedelta = dt.timedelta(hours=1)) -> tuple[bytes, str]:
    """Respuesta OCSP en DER para una solicitud en DER, y una descripción corta para la bitácora."""
    try:
        solicitud = ocsp.load_der_ocsp_request(solicitud_der)
        algoritmo = solicitud.hash_algorithm
        serial = solicitud.serial_number
        nombre_hash, llave_hash = solicitud.issuer_name_hash, solicitud.issuer_key_hash
        extensiones = solicitud.extensions
    except (ValueError, UnsupportedAlgorithm) as e:
        # Several requests in one, unknown hash or plain garbage: all of them are "malformed" to the client.
        respuesta = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        return respuesta.public_bytes(serialization.Encoding.DER), f"solicitud malformada ({e})"

    esperado = _huellas_emisora(pki.emisora).get(algoritmo.name)
    if esperado == (nombre_hash, llave_hash):
        estado, revocado_en = pki.consultar(serial)
    else:
        # A CA with our name but another key (or any other CA) did not issue it as far as we know.
        estado, revocado_en = "unknown", None

    ahora = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    constructor = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=nombre_hash,
            issuer_key_hash=llave_hash,
            serial_number=serial,
            algorithm=algoritmo,
            cert_status=_ESTADOS[estado],
            this_update=ahora,
            next_update=ahora + vigencia,
            revocation_time=revocado_en,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.NAME, pki.respondedor)
        .certificates([pki.respondedor])
    )
    try:
        nonce = extensiones.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        pass
    else:
        constructor = constructor.add_extension(x509.OCSPNonce(nonce.value.nonce), critical=False)
    respuesta = constructor.sign(pki.respondedor_key, hashes.SHA256())
    return respuesta.public_bytes(serialization.Encoding.DER), f"serial={serial:x} hash={algoritmo.name} {estado}"


def crear_app(pki: PKI, *, vigencia: dt.timedelta = dt.timedelta(hours=1)) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        metodo = environ.get("REQUEST_METHOD", "GET")
        ruta = environ.get("PATH_INFO", "/")
        if metodo != "POST":
            log.info("%s %s → 405", metodo, ruta)
            start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Type", "text/plain; charset=utf-8")])
            return ["Sólo POST con application/ocsp-request.\n".encode("utf-8")]
        try:
            largo = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            largo = 0
        if largo > MAXIMO_SOLICITUD:
            cuerpo = b""
        else:
            cuerpo = environ["wsgi.input"].read(largo) if largo > 0 else b""
        # Clients differ in the Content-Type they send; the DER itself decides whether it is a request.
        try:
            der, descripcion = responder(pki, cuerpo, vigencia=vigencia)
        except Exception:
            # A broken estado.json or key must still give the client an OCSP answer it can act on.
            log.exception("error al responder la solicitud OCSP")
            der = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR).public_bytes(
                serialization.Encoding.DER
            )
            descripcion = "error interno"
        log.info("POST %s %d bytes → %s", ruta, largo, descripcion)
        start_response("200 OK", [("Content-Type", TIPO_RESPUESTA), ("Content-Length", str(len(der)))])
        return [der]

    return app


class _ServidorHilos(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Manejador(WSGIRequestHandler):
    # The app already logs one line per request, with the OCSP outcome.
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class ServidorOcsp:
    """Respondedor en un hilo de fondo, para pruebas: `with ServidorOcsp(pki) as s: requests.post(s.url, ...)`."""

    def __init__(self, pki: PKI, host: str = "127.0.0.1", puerto: int = 0, **opciones: Any) -> None:
        self._servidor = make_server(
            host, puerto, crear_app(pki, **opciones), server_class=_ServidorHilos, handler_class=_Manejador
        )
        self.host = host
        self.puerto = self._servidor.server_port
        self.url = f"http://{host}:{self.puerto}/"
        self._hilo = threading.Thread(target=self._servidor.serve_forever, name="ocsp-dev", daemon=True)
        self._hilo.start()

    def cerrar(self) -> None:
        if self._hilo.is_alive():
            self._servidor.shutdown()
            self._hilo.join(timeout=5)
        self._servidor.server_close()

    def __enter__(self) -> "ServidorOcsp":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cerrar()


def servir(pki: PKI, host: str = "127.0.0.1", puerto: int = 8101) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    servidor = make_server(host, puerto, crear_app(pki), server_class=_ServidorHilos, handler_class=_Manejador)
    log.info("respondedor OCSP de desarrollo en http://%s:%d/ (AC emisora: %s)", host, servidor.server_port,
             pki.emisora.subject.rfc4514_string())
    try:
        servidor.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        servidor.server_close()


def _cmd_ocsp(args: argparse.Namespace) -> int:
    servir(PKI.abrir(args.carpeta), args.host, args.puerto)
    return 0


def registrar_cli(subparsers: Any) -> None:
    p = subparsers.add_parser("ocsp", help="respondedor OCSP de desarrollo para la PKI de desarrollo")
    p.add_argument("--carpeta", default=carpeta_predeterminada(), help="carpeta de la PKI (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--puerto", type=int, default=8101)
    p.set_defaults(func=_cmd_ocsp)
