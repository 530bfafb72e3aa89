"""The Institute's seal on acuses: RSA PKCS#1 v1.5 with SHA-256 over the UTF-8 cadena original, in base64.

The key and certificate come from BUZON_SELLO_KEY and BUZON_SELLO_CER (file paths, or the PEM text itself).
Unset, a development key with a self-signed certificate ("IMSS BUZON DESARROLLO") is made once under
`<data_dir>/sello/` and reused, so acuses sealed before a restart still verify after it.
"""
from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from buzon_comun.archivos import crear_una_vez
from buzon_comun.config import Config

NOMBRE_DESARROLLO = "IMSS BUZON DESARROLLO"
ARCHIVO_DESARROLLO = "sello-desarrollo.pem"


class SelloNoDisponible(RuntimeError):
    """The configured key or certificate can't be used: the service must not start sealing with it."""


class Sello:
    def __init__(self, llave: rsa.RSAPrivateKey, certificado: x509.Certificate):
        publica = certificado.public_key()
        if not isinstance(publica, rsa.RSAPublicKey) or not isinstance(llave, rsa.RSAPrivateKey):
            raise SelloNoDisponible("el sello de los acuses debe ser una llave RSA")
        if publica.public_numbers() != llave.public_key().public_numbers():
            raise SelloNoDisponible("la llave del sello no corresponde a su certificado (BUZON_SELLO_KEY/_CER)")
        self._llave = llave
        self.certificado = certificado

    @property
    def numero_certificado(self) -> str:
        """The certificate's number as printed on the acuse ("No. de certificado del sello"): SAT's convention, the
        serial's 20 bytes read as ASCII digits; a serial that is not such text, in hexadecimal."""
        serie = self.certificado.serial_number
        try:
            texto = serie.to_bytes(20, "big").decode("ascii")
        except (OverflowError, UnicodeDecodeError):
            texto = ""
        return texto if texto.isdigit() else format(serie, "x")

    def sellar(self, cadena: str) -> str:
        firma = self._llave.sign(cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(firma).decode("ascii")

    def verificar(self, cadena: str, sello: str) -> bool:
        return verificar(self.certificado, cadena, sello)


def verificar(certificado: x509.Certificate, cadena: str, sello: str) -> bool:
    try:
        firma = base64.b64decode(sello, validate=True)
        certificado.public_key().verify(firma, cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def _contenido(valor: str) -> bytes:
    if valor.lstrip().startswith("-----BEGIN"):
        return valor.encode("ascii")
    return Path(valor).read_bytes()


def _cargar_certificado(datos: bytes) -> x509.Certificate:
    try:
        if b"-----BEGIN" in datos:
            return x509.load_pem_x509_certificate(datos)
        return x509.load_der_x509_certificate(datos)
    except ValueError as exc:
        raise SelloNoDisponible(f"BUZON_SELLO_CER no es un certificado DER ni PEM: {exc}") from None


def _cargar_llave(datos: bytes, password: str | None):
    clave = password.encode("utf-8") if password else None
    cargar = serialization.load_pem_private_key if b"-----BEGIN" in datos else serialization.load_der_private_key
    try:
        return cargar(datos, password=clave)
    except TypeError:
        # cryptography says TypeError both for "encrypted, no password" and "not encrypted, password given".
        if clave is None:
            raise SelloNoDisponible("la llave del sello está cifrada: falta BUZON_SELLO_PASSWORD") from None
        return cargar(datos, password=None)
    except ValueError:
        raise SelloNoDisponible("no se pudo leer BUZON_SELLO_KEY (¿contraseña incorrecta o formato distinto "
                                "de PKCS#8 PEM o DER?)") from None


def cargar(config: Config) -> Sello:
    """The configured seal, or the development one when none is configured."""
    if config.sello_cer or config.sello_key:
        if not (config.sello_cer and config.sello_key):
            raise SelloNoDisponible("BUZON_SELLO_CER y BUZON_SELLO_KEY se configuran juntos")
        try:
            certificado = _cargar_certificado(_contenido(config.sello_cer))
            llave = _cargar_llave(_contenido(config.sello_key), config.sello_password)
        except OSError as exc:
            raise SelloNoDisponible(f"no se pudo leer el sello de los acuses: {exc}") from None
        return Sello(llave, certificado)
    return desarrollo(Path(config.data_dir) / "sello")


def desarrollo(carpeta: Path) -> Sello:
    """The development seal under `carpeta`, made on first use.

    Key and certificate live in one file (`crear_una_vez`): when two processes start at once, both seal with the
    same key.
    """
    datos = crear_una_vez(carpeta / ARCHIVO_DESARROLLO, _nuevo_desarrollo)
    return Sello(serialization.load_pem_private_key(datos, password=None), x509.load_pem_x509_certificate(datos))


def _nuevo_desarrollo() -> bytes:
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nombre = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, NOMBRE_DESARROLLO),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Instituto Mexicano del Seguro Social (desarrollo)"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
    ])
    ahora = datetime.now(timezone.utc)
    certificado = (
        x509.CertificateBuilder()
        .subject_name(nombre).issuer_name(nombre)
        .public_key(llave.public_key())
        # Twenty ASCII digits, as SAT numbers certificates: the acuse prints it as the seal's certificate number.
        .serial_number(int.from_bytes(f"{secrets.randbelow(10**20):020d}".encode("ascii"), "big"))
        .not_valid_before(ahora - timedelta(minutes=5))
        .not_valid_after(ahora + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(llave, hashes.SHA256())
    )
    return (llave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
            + certificado.public_bytes(serialization.Encoding.PEM))
