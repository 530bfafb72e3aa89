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
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TIEMPO_ESPERA_S = 30


class ErrorFirma(Exception):
    """Error para mostrar a la persona tal cual, sin traza, con su código de salida."""

    def __init__(self, mensaje: str, codigo_salida: int = 2, *, de_api: bool = False) -> None:
        super().__init__(mensaje)
        self.codigo_salida = codigo_salida
        self.de_api = de_api


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


def certificado_b64(ruta_cer: Path | str) -> str:
    """Base64 del certificado en DER, como lo pide la API, aunque el archivo esté en PEM."""
    cert = cargar_certificado(ruta_cer)
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


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


def _post_json(url: str, cuerpo: dict[str, Any] | None) -> dict[str, Any]:
    datos = json.dumps(cuerpo or {}).encode("utf-8")
    solicitud = urllib.request.Request(
        url, data=datos, method="POST", headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(solicitud, timeout=TIEMPO_ESPERA_S) as respuesta:
            contenido = respuesta.read()
    except urllib.error.HTTPError as e:
        raise ErrorFirma(_mensaje_error_api(e), codigo_salida=1, de_api=True) from None
    except urllib.error.URLError as e:
        raise ErrorFirma(f"No se pudo conectar con {url}: {e.reason}", codigo_salida=1) from None
    except OSError as e:
        raise ErrorFirma(f"No se pudo conectar con {url}: {e}", codigo_salida=1) from None
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
            "certificado": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii"),
            "reto": reto["reto"],
            "firma": firmar(llave, reto["reto"]),
        },
    )


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
