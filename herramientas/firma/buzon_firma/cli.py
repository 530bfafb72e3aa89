"""buzon-firma: firma con la e.firma en la computadora de quien la usa.

Depende sólo de cryptography y de la biblioteca estándar. La llave privada se lee y se usa aquí; al Buzón sólo
viajan el certificado (público) y la firma.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TIEMPO_ESPERA_S = 30
# The acuse de notificación is issued by another service a moment after the opening: until it has recorded it, its
# download answers 404 (503 while a render fails). How long `abrir --acuse` waits for it, asking every second.
ESPERA_ACUSE_S = 60
PAUSA_ACUSE_S = 1.0


class ErrorFirma(Exception):
    """Error para mostrar a la persona tal cual, sin traza, con su código de salida."""

    def __init__(self, mensaje: str, codigo_salida: int = 2, *, de_api: bool = False,
                 estado: int | None = None) -> None:
        super().__init__(mensaje)
        self.codigo_salida = codigo_salida
        self.de_api = de_api
        self.estado = estado  # the HTTP status of an API error


# ---------------------------------------------------------------------------------------------------------------
# Funciones reutilizables


def _leer(ruta: Path | str, que: str) -> bytes:
    try:
        return Path(ruta).read_bytes()
    except OSError as e:
        raise ErrorFirma(f"No se pudo leer {que} {ruta}: {e.strerror or e}") from None


def cargar_certificado(ruta_cer: Path | str) -> x509.Certificate:
    datos = _leer(ruta_cer, "el certificado")
    try:
        if datos.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(datos)
        return x509.load_der_x509_certificate(datos)
    except ValueError:
        raise ErrorFirma(f"{ruta_cer} no es un certificado X.509 (.cer) válido.") from None


def _der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def certificado_b64(ruta_cer: Path | str) -> str:
    """Base64 del certificado en DER, como lo pide la API, aunque el archivo esté en PEM."""
    return _der_b64(cargar_certificado(ruta_cer))


def cargar_llave(ruta_key: Path | str, password: str) -> rsa.RSAPrivateKey:
    """Abre la llave privada (.key de SAT: PKCS#8 cifrado en DER; también PEM)."""
    datos = _leer(ruta_key, "la llave privada")
    clave = password.encode("utf-8")
    es_pem = datos.lstrip().startswith(b"-----BEGIN")
    try:
        if es_pem:
            llave = serialization.load_pem_private_key(datos, clave)
        else:
            llave = serialization.load_der_private_key(datos, clave)
    except TypeError:
        # cryptography raises TypeError when the key is not encrypted but a password was given.
        try:
            llave = (serialization.load_pem_private_key if es_pem else serialization.load_der_private_key)(datos, None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ErrorFirma(f"{ruta_key} no es una llave privada válida.") from None
    except ValueError:
        # The same error covers a wrong password and a file that is not a key; the password is far likelier.
        raise ErrorFirma(
            f"No se pudo abrir la llave privada {ruta_key}: la contraseña es incorrecta o el archivo no es un .key."
        ) from None
    except UnsupportedAlgorithm:
        raise ErrorFirma(f"La llave privada {ruta_key} usa un cifrado no soportado.") from None
    if not isinstance(llave, rsa.RSAPrivateKey):
        raise ErrorFirma(f"La llave privada {ruta_key} no es RSA; la e.firma de SAT siempre lo es.")
    return llave


def verificar_par(llave: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    publica = cert.public_key()
    if not isinstance(publica, rsa.RSAPublicKey) or publica.public_numbers() != llave.public_key().public_numbers():
        raise ErrorFirma("La llave privada (.key) no corresponde al certificado (.cer): revisa que sean del mismo par.")


def firmar(llave: rsa.RSAPrivateKey, texto: str) -> str:
    """Base64 de la firma RSA PKCS#1 v1.5 con SHA-256 sobre los bytes UTF-8 del texto."""
    firma = llave.sign(texto.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(firma).decode("ascii")


def _solicitar(metodo: str, url: str, *, cuerpo: dict[str, Any] | None = None, token: str | None = None,
               acepta: str = "application/json") -> tuple[str, bytes]:
    """One call to the API: `(Content-Type, body)` of a 2xx answer; anything else is ErrorFirma (code 1), the
    API's own error as `codigo: mensaje` with its HTTP status in `estado`."""
    cabeceras = {"Accept": acepta}
    datos = None
    if cuerpo is not None:
        datos = json.dumps(cuerpo).encode("utf-8")
        cabeceras["Content-Type"] = "application/json"
    if token is not None:
        cabeceras["Authorization"] = f"Bearer {token}"
    solicitud = urllib.request.Request(url, data=datos, method=metodo, headers=cabeceras)
    try:
        with urllib.request.urlopen(solicitud, timeout=TIEMPO_ESPERA_S) as respuesta:
            return respuesta.headers.get_content_type(), respuesta.read()
    except urllib.error.HTTPError as e:
        raise ErrorFirma(_mensaje_error_api(e), codigo_salida=1, de_api=True, estado=e.code) from None
    except urllib.error.URLError as e:
        raise ErrorFirma(f"No se pudo conectar con {url}: {e.reason}", codigo_salida=1) from None
    except OSError as e:
        raise ErrorFirma(f"No se pudo conectar con {url}: {e}", codigo_salida=1) from None


def _json(url: str, contenido: bytes) -> dict[str, Any]:
    try:
        respuesta_json = json.loads(contenido)
    except ValueError:
        raise ErrorFirma(f"{url} respondió algo que no es JSON.", codigo_salida=1) from None
    if not isinstance(respuesta_json, dict):
        raise ErrorFirma(f"{url} respondió un JSON inesperado.", codigo_salida=1)
    return respuesta_json


def _mensaje_error_api(e: urllib.error.HTTPError) -> str:
    try:
        cuerpo = json.loads(e.read())
        error = cuerpo["error"]
        return f"{error['codigo']}: {error['mensaje']}"
    except Exception:
        return f"http_{e.code}: el servidor respondió {e.code} {e.reason}"


def _post_json(url: str, cuerpo: dict[str, Any] | None, token: str | None = None) -> dict[str, Any]:
    return _json(url, _solicitar("POST", url, cuerpo=cuerpo or {}, token=token)[1])


def _get_json(url: str, token: str) -> dict[str, Any]:
    return _json(url, _solicitar("GET", url, token=token)[1])


def _get_pdf(url: str, token: str) -> bytes:
    tipo, contenido = _solicitar("GET", url, token=token, acepta="application/pdf")
    if tipo != "application/pdf" or not contenido.startswith(b"%PDF-"):
        raise ErrorFirma(f"{url} no respondió un PDF.", codigo_salida=1)
    return contenido


def iniciar_sesion(url: str, ruta_cer: Path | str, ruta_key: Path | str, password: str) -> dict[str, Any]:
    """Pide un reto, lo firma aquí y abre la sesión; devuelve la respuesta de la API (token, rfc, …)."""
    cert = cargar_certificado(ruta_cer)
    llave = cargar_llave(ruta_key, password)
    verificar_par(llave, cert)
    base = url.rstrip("/")
    reto = _post_json(f"{base}/api/v1/sesiones/retos", {})
    if not isinstance(reto.get("reto"), str):
        raise ErrorFirma("La API no devolvió un reto.", codigo_salida=1)
    return _post_json(
        f"{base}/api/v1/sesiones",
        {
            "certificado": _der_b64(cert),
            "reto": reto["reto"],
            "firma": firmar(llave, reto["reto"]),
        },
    )


def cerrar_sesion(url: str, token: str) -> None:
    """Cierra la sesión (`DELETE /api/v1/sesiones/actual`): el token deja de servir."""
    _solicitar("DELETE", f"{url.rstrip('/')}/api/v1/sesiones/actual", token=token)


def _ruta_notificacion(url: str, id_notificacion: str, accion: str) -> str:
    # The id goes in the path quoted whole: whatever it holds, it can't reach another route.
    return f"{url.rstrip('/')}/api/v1/buzon/notificaciones/{urllib.parse.quote(str(id_notificacion), safe='')}/{accion}"


def listar_notificaciones(url: str, token: str) -> list[dict[str, Any]]:
    """Las notificaciones del Buzón de la sesión, la más reciente primero (`GET /api/v1/buzon/notificaciones`)."""
    notificaciones = _get_json(f"{url.rstrip('/')}/api/v1/buzon/notificaciones", token).get("notificaciones")
    if not isinstance(notificaciones, list):
        raise ErrorFirma("La API no devolvió la lista de notificaciones.", codigo_salida=1)
    return notificaciones


def abrir_notificacion(url: str, token: str, id_notificacion: str, ruta_cer: Path | str, ruta_key: Path | str,
                       password: str) -> dict[str, Any]:
    """Abre una notificación pendiente firmando aquí su acuse de recibo: pide la cadena (`GET …/acuse-recibo`),
    la firma con la e.firma y envía el certificado y la firma (`POST …/apertura`). Devuelve la respuesta de la
    API: `estado` ("abierta"), `notificada_en`, `folio_acuse` y `codigo_verificacion` (null si el acuse aún no
    se registra; viene impreso en el acuse)."""
    cert = cargar_certificado(ruta_cer)
    llave = cargar_llave(ruta_key, password)
    verificar_par(llave, cert)
    cadena = _get_json(_ruta_notificacion(url, id_notificacion, "acuse-recibo"), token).get("cadena_original")
    if not isinstance(cadena, str):
        raise ErrorFirma("La API no devolvió la cadena original del acuse de recibo.", codigo_salida=1)
    return _post_json(_ruta_notificacion(url, id_notificacion, "apertura"),
                      {"certificado": _der_b64(cert), "firma": firmar(llave, cadena)}, token)


def descargar_documento(url: str, token: str, id_notificacion: str) -> bytes:
    """El PDF de una notificación abierta (o tenida por notificada)."""
    return _get_pdf(_ruta_notificacion(url, id_notificacion, "documento"), token)


def descargar_acuse_notificacion(url: str, token: str, id_notificacion: str,
                                 espera_s: float = ESPERA_ACUSE_S) -> bytes:
    """El PDF del acuse de notificación, esperando hasta `espera_s` segundos a que se emita (recién abierta, la
    API responde 404 un momento)."""
    limite = time.monotonic() + espera_s
    while True:
        try:
            return _get_pdf(_ruta_notificacion(url, id_notificacion, "acuse"), token)
        except ErrorFirma as e:
            if e.estado not in (404, 503) or time.monotonic() >= limite:
                raise
        time.sleep(PAUSA_ACUSE_S)


# ---------------------------------------------------------------------------------------------------------------
# Línea de comandos


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        valor = os.environ.get(args.password_env)
        if valor is None:
            raise ErrorFirma(f"La variable de entorno {args.password_env} no está definida.")
        return valor
    if "BUZON_FIRMA_PASSWORD" in os.environ:
        return os.environ["BUZON_FIRMA_PASSWORD"]
    try:
        return getpass.getpass("Contraseña de la llave privada: ")
    except (EOFError, KeyboardInterrupt):
        raise ErrorFirma("No se capturó la contraseña de la llave privada.") from None


def _texto(args: argparse.Namespace) -> str:
    if args.texto is not None:
        return args.texto
    if args.archivo is not None:
        try:
            return Path(args.archivo).read_text("utf-8")
        except OSError as e:
            raise ErrorFirma(f"No se pudo leer {args.archivo}: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise ErrorFirma(f"{args.archivo} no es texto UTF-8.") from None
    # Signing exactly the bytes given: a trailing newline would change the signature, so keep it.
    return sys.stdin.read()


def _cmd_firmar(args: argparse.Namespace) -> int:
    cert = cargar_certificado(args.cer)
    texto = _texto(args)
    llave = cargar_llave(args.key, _password(args))
    verificar_par(llave, cert)
    print(firmar(llave, texto))
    return 0


def _cmd_certificado(args: argparse.Namespace) -> int:
    print(certificado_b64(args.cer))
    return 0


def _cmd_login(args: argparse.Namespace) -> int:
    # Check the files first, so a typo doesn't cost a challenge from the server.
    cargar_certificado(args.cer)
    password = _password(args)
    respuesta = iniciar_sesion(args.url, args.cer, args.key, password)
    print(json.dumps(respuesta, ensure_ascii=False, indent=2))
    return 0


def _comprobar_destino(ruta: str) -> None:
    """Where a PDF will be saved must be writable before the notification is opened: opening can't be undone."""
    destino = Path(ruta)
    carpeta = destino.parent
    if destino.is_dir():
        raise ErrorFirma(f"{ruta} es una carpeta: indica el nombre del archivo PDF.")
    if not carpeta.is_dir():
        raise ErrorFirma(f"No existe la carpeta {carpeta} para guardar {ruta}.")
    if not os.access(carpeta, os.W_OK):
        raise ErrorFirma(f"No se puede escribir en la carpeta {carpeta} para guardar {ruta}.")


def _guardar(ruta: str, contenido: bytes) -> None:
    try:
        Path(ruta).write_bytes(contenido)
    except OSError as e:
        raise ErrorFirma(f"No se pudo guardar {ruta}: {e.strerror or e}") from None


class _Sesion:
    """The token of `--token`, or a session opened here with the e.firma and closed when done."""

    def __init__(self, args: argparse.Namespace, password: str | None) -> None:
        self.url = args.url
        self.token = args.token
        self.propia = False
        if self.token is None:
            if not (args.cer and args.key):
                raise ErrorFirma("Indica --token, o --cer y --key para iniciar sesión con tu e.firma.")
            self.token = iniciar_sesion(args.url, args.cer, args.key, password or _password(args))["token"]
            self.propia = True

    def __enter__(self) -> str:
        return self.token

    def __exit__(self, *exc: object) -> None:
        if self.propia:
            try:
                cerrar_sesion(self.url, self.token)
            except ErrorFirma:
                pass  # it lapses on its own; the command's outcome matters more


def _cmd_notificaciones(args: argparse.Namespace) -> int:
    if args.token is None and args.cer:
        cargar_certificado(args.cer)
    with _Sesion(args, None) as token:
        notificaciones = listar_notificaciones(args.url, token)
    if args.pendientes:
        notificaciones = [n for n in notificaciones if n.get("estado") == "pendiente"]
    print(json.dumps({"notificaciones": notificaciones}, ensure_ascii=False, indent=2))
    return 0


def _cmd_abrir(args: argparse.Namespace) -> int:
    # The files and the destinations first: a typo must not open the notification without saving what was asked.
    cargar_certificado(args.cer)
    for ruta in (args.documento, args.acuse):
        if ruta:
            _comprobar_destino(ruta)
    password = _password(args)
    # Both ways check the key's password and pair before any call (iniciar_sesion, abrir_notificacion).
    with _Sesion(args, password) as token:
        abierta = abrir_notificacion(args.url, token, args.notificacion, args.cer, args.key, password)
        resultado = {"id": args.notificacion, **abierta}
        try:
            if args.documento:
                _guardar(args.documento, descargar_documento(args.url, token, args.notificacion))
                resultado["documento"] = args.documento
            if args.acuse:
                _guardar(args.acuse, descargar_acuse_notificacion(args.url, token, args.notificacion))
                resultado["acuse"] = args.acuse
        finally:
            # Opened is opened: its folio is printed even when a download failed (the error follows on stderr).
            print(json.dumps(resultado, ensure_ascii=False, indent=2))
    return 0


def construir_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buzon-firma",
        description="Firma con tu e.firma en tu propia computadora para el Buzón IMSS. La llave privada no sale de aquí.",
    )
    sub = parser.add_subparsers(dest="comando", required=True)

    def password(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--password-env",
            metavar="VAR",
            help="lee la contraseña de esta variable de entorno (si no: BUZON_FIRMA_PASSWORD, o se pregunta)",
        )

    p = sub.add_parser("firmar", help="imprime la firma en base64 de un texto")
    p.add_argument("--cer", required=True, help="certificado (.cer, DER o PEM)")
    p.add_argument("--key", required=True, help="llave privada (.key)")
    origen = p.add_mutually_exclusive_group()
    origen.add_argument("--texto", help="texto a firmar")
    origen.add_argument("--archivo", help="archivo UTF-8 cuyo contenido se firma (sin --texto ni --archivo: stdin)")
    password(p)
    p.set_defaults(func=_cmd_firmar)

    p = sub.add_parser("certificado", help="imprime el certificado en base64 (DER)")
    p.add_argument("--cer", required=True)
    p.set_defaults(func=_cmd_certificado)

    p = sub.add_parser("login", help="inicia sesión en la API del Buzón y muestra el token")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="dirección del Buzón (default: %(default)s)")
    p.add_argument("--cer", required=True)
    p.add_argument("--key", required=True)
    password(p)
    p.set_defaults(func=_cmd_login)

    def sesion(p: argparse.ArgumentParser, efirma_requerida: bool) -> None:
        p.add_argument("--url", default="http://127.0.0.1:8000", help="dirección del Buzón (default: %(default)s)")
        p.add_argument("--token", help="token de una sesión abierta (sin él, se inicia y se cierra una con "
                                       "--cer y --key)")
        p.add_argument("--cer", required=efirma_requerida, help="certificado (.cer) de la e.firma")
        p.add_argument("--key", required=efirma_requerida, help="llave privada (.key) de la e.firma")
        password(p)

    p = sub.add_parser("notificaciones", help="lista las notificaciones de tu Buzón IMSS")
    sesion(p, efirma_requerida=False)
    p.add_argument("--pendientes", action="store_true", help="sólo las que esperan que las abras")
    p.set_defaults(func=_cmd_notificaciones)

    p = sub.add_parser("abrir", help="abre una notificación firmando su acuse de recibo con tu e.firma")
    sesion(p, efirma_requerida=True)
    p.add_argument("--notificacion", required=True, metavar="ID", help="id de la notificación (ver notificaciones)")
    p.add_argument("--documento", metavar="ARCHIVO.pdf", help="guarda aquí el documento notificado")
    p.add_argument("--acuse", metavar="ARCHIVO.pdf", help="guarda aquí el acuse de notificación (espera a que "
                                                          f"se emita, hasta {ESPERA_ACUSE_S} s)")
    p.set_defaults(func=_cmd_abrir)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = construir_parser().parse_args(argv)
    try:
        return args.func(args)
    except ErrorFirma as e:
        # The API's own "codigo: mensaje" goes out untouched, so scripts can match on the code.
        print(str(e) if e.de_api else f"buzon-firma: {e}", file=sys.stderr)
        return e.codigo_salida
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
