"""PKI de desarrollo con el perfil de certificados de SAT.

Sustituye a la autoridad certificadora de SAT sólo cuando no se configura una carpeta real (BUZON_SAT_CA_DIR).
Los certificados que emite copian el perfil de las e.firmas y CSD reales (revisado contra los archivos de prueba
que publica SAT): sin identificadores de llave, número de serie igual al ASCII del número de certificado y la
llave .key en PKCS#8 cifrado con PBES2 + PBKDF2-SHA1 + DES-EDE3-CBC. Así las pruebas fallan donde fallarían con
certificados reales.

Estructura de la carpeta:
    ca/           sólo los certificados de las AC en DER (raiz.cer, ac-emisora.cer): a esta carpeta apunta
                  BUZON_SAT_CA_DIR en desarrollo
    privado/      llaves de las AC y certificado y llave del respondedor OCSP (PEM)
    emitidos/     certificados y llaves emitidos (<RFC>-<tipo>-<numero>.cer/.key)
    estado.json   números de certificado emitidos y revocaciones
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from . import asn1

OID_NAME = ObjectIdentifier("2.5.4.41")
OID_NETSCAPE_CERT_TYPE = ObjectIdentifier("2.16.840.1.113730.1.1")
# BIT STRING with SSL client and S/MIME, byte for byte what SAT's e.firmas carry.
NETSCAPE_CERT_TYPE_EFIRMA = b"\x03\x02\x05\xa0"

OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_DES_EDE3_CBC = "1.2.840.113549.3.7"
ITERACIONES_PBKDF2 = 2048

PASSWORD_PREDETERMINADO = "12345678a"
TIPOS = ("efirma", "csd")

_P = x509.name._ASN1Type.PrintableString
_U = x509.name._ASN1Type.UTF8String
_IA5 = x509.name._ASN1Type.IA5String

ARCHIVO_RAIZ = "raiz.cer"
ARCHIVO_EMISORA = "ac-emisora.cer"


def _ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _imprimible(texto: str) -> bool:
    permitidos = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
    return all(c in permitidos for c in texto)


def _atributo(oid: ObjectIdentifier, valor: str) -> x509.NameAttribute:
    # SAT writes subject fields as PrintableString; text with accents or Ñ cannot be one.
    return x509.NameAttribute(oid, valor, _P if _imprimible(valor) else _U)


def _nombre_ac(cn: str) -> x509.Name:
    # Same attributes, order and string types as SAT's issuing CA names, marked as development.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn, _U),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Servicio de Administración Tributaria (DESARROLLO)", _U),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME, "Administración de Seguridad de la Información", _U
            ),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "desarrollo@buzon.invalid", _IA5),
            x509.NameAttribute(NameOID.STREET_ADDRESS, "Av. Hidalgo 77, Col. Guerrero", _U),
            x509.NameAttribute(NameOID.POSTAL_CODE, "06300", _U),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "MX", _P),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Ciudad de México", _U),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Cuauhtémoc", _U),
            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "SAT970701NN3", _P),
            x509.NameAttribute(NameOID.UNSTRUCTURED_NAME, "Responsable: DESARROLLO, no válido para SAT", _U),
        ]
    )


NOMBRE_RAIZ = _nombre_ac("AC RAIZ DEL SAT DESARROLLO")
NOMBRE_EMISORA = _nombre_ac("AC DEL SERVICIO DE ADMINISTRACION TRIBUTARIA DESARROLLO")
NOMBRE_RESPONDEDOR = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "Respondedor OCSP del SAT DESARROLLO", _U),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Servicio de Administración Tributaria (DESARROLLO)", _U),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MX", _P),
    ]
)


# ---------------------------------------------------------------------------------------------------------------
# Llave privada en el formato de SAT


def cifrar_llave_sat(llave: rsa.RSAPrivateKey, password: str) -> bytes:
    """PKCS#8 EncryptedPrivateKeyInfo con PBES2 + PBKDF2(HMAC-SHA1, 2048) + DES-EDE3-CBC, como los .key de SAT."""
    claro = llave.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sal = secrets.token_bytes(8)
    iv = secrets.token_bytes(8)
    clave = PBKDF2HMAC(algorithm=hashes.SHA1(), length=24, salt=sal, iterations=ITERACIONES_PBKDF2).derive(
        password.encode("utf-8")
    )
    relleno = padding.PKCS7(64).padder()
    datos = relleno.update(claro) + relleno.finalize()
    cifrador = Cipher(TripleDES(clave), modes.CBC(iv)).encryptor()
    cifrado = cifrador.update(datos) + cifrador.finalize()
    # SAT's files omit keyLength and the PRF (HMAC-SHA1 is PBKDF2's default), so we do too.
    algoritmo = asn1.secuencia(
        asn1.oid(OID_PBES2),
        asn1.secuencia(
            asn1.secuencia(
                asn1.oid(OID_PBKDF2),
                asn1.secuencia(asn1.octetos(sal), asn1.entero(ITERACIONES_PBKDF2)),
            ),
            asn1.secuencia(asn1.oid(OID_DES_EDE3_CBC), asn1.octetos(iv)),
        ),
    )
    return asn1.secuencia(algoritmo, asn1.octetos(cifrado))


# ---------------------------------------------------------------------------------------------------------------
# Archivos


def _escribir_atomico(ruta: Path, datos: bytes, modo: int = 0o644) -> None:
    # Readers (the verifier, the OCSP responder, a second process) must never see half a file.
    ruta.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{ruta.name}.", dir=ruta.parent)
    try:
        os.fchmod(fd, modo)
        with os.fdopen(fd, "wb") as f:
            f.write(datos)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, ruta)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_bloqueos_locales: dict[Path, threading.Lock] = {}
_bloqueos_guardia = threading.Lock()


@contextlib.contextmanager
def _bloqueo(carpeta: Path) -> Iterator[None]:
    # flock serialises processes. Inside one process, a thread lock goes first: under eventlet's monkey patch
    # threads are green, and a green thread blocked in flock() would freeze the hub and the holder with it.
    carpeta.mkdir(parents=True, exist_ok=True)
    clave = carpeta.resolve()
    with _bloqueos_guardia:
        local = _bloqueos_locales.setdefault(clave, threading.Lock())
    with local, open(carpeta / ".bloqueo", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _pem_llave(llave: rsa.RSAPrivateKey) -> bytes:
    return llave.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _nueva_llave() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def numero_a_serial(numero_certificado: str) -> int:
    return int.from_bytes(numero_certificado.encode("ascii"), "big")


def serial_a_numero(serial: int) -> str | None:
    """El número de certificado que codifica un serial al estilo SAT, o None si no es uno."""
    if serial <= 0:
        return None
    crudo = serial.to_bytes((serial.bit_length() + 7) // 8, "big")
    try:
        texto = crudo.decode("ascii")
    except UnicodeDecodeError:
        return None
    return texto if len(texto) == 20 and texto.isdigit() else None


# ---------------------------------------------------------------------------------------------------------------
# PKI


@dataclass(frozen=True)
class Emitido:
    cer_der: bytes
    key_der: bytes
    ruta_cer: Path
    ruta_key: Path
    numero_certificado: str
    password: str
    certificado: x509.Certificate


class PKI:
    carpeta: Path
    carpeta_ca: Path
    raiz: x509.Certificate
    emisora: x509.Certificate
    respondedor: x509.Certificate

    def __init__(self, carpeta: Path) -> None:
        self.carpeta = carpeta
        self.carpeta_ca = carpeta / "ca"
        self.carpeta_privado = carpeta / "privado"
        self.carpeta_emitidos = carpeta / "emitidos"
        self.ruta_estado = carpeta / "estado.json"
        self._estado_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    # -- apertura ------------------------------------------------------------------------------------------------

    @classmethod
    def abrir(cls, carpeta: Path | str) -> "PKI":
        pki = cls(Path(carpeta))
        with _bloqueo(pki.carpeta):
            pki._cargar_o_crear()
        return pki

    def _cargar_o_crear(self) -> None:
        ca_raiz = self.carpeta_ca / ARCHIVO_RAIZ
        ca_emisora = self.carpeta_ca / ARCHIVO_EMISORA
        llave_raiz = self.carpeta_privado / "raiz.key.pem"
        llave_emisora = self.carpeta_privado / "ac-emisora.key.pem"
        # The ca/ certificates are written last, so their presence means the CA pair is complete.
        if ca_raiz.exists() and ca_emisora.exists() and llave_raiz.exists() and llave_emisora.exists():
            self.raiz = x509.load_der_x509_certificate(ca_raiz.read_bytes())
            self.emisora = x509.load_der_x509_certificate(ca_emisora.read_bytes())
            self.raiz_key = serialization.load_pem_private_key(llave_raiz.read_bytes(), None)
            self.emisora_key = serialization.load_pem_private_key(llave_emisora.read_bytes(), None)
        else:
            self._crear_ac()
            _escribir_atomico(llave_raiz, _pem_llave(self.raiz_key), 0o600)
            _escribir_atomico(llave_emisora, _pem_llave(self.emisora_key), 0o600)
            _escribir_atomico(ca_raiz, self.raiz.public_bytes(serialization.Encoding.DER))
            _escribir_atomico(ca_emisora, self.emisora.public_bytes(serialization.Encoding.DER))
            with contextlib.suppress(FileNotFoundError):
                (self.carpeta_privado / "respondedor.cer.pem").unlink()
        os.chmod(self.carpeta_privado, 0o700)

        cer_resp = self.carpeta_privado / "respondedor.cer.pem"
        key_resp = self.carpeta_privado / "respondedor.key.pem"
        if cer_resp.exists() and key_resp.exists():
            self.respondedor = x509.load_pem_x509_certificate(cer_resp.read_bytes())
            self.respondedor_key = serialization.load_pem_private_key(key_resp.read_bytes(), None)
            if self.respondedor.issuer != self.emisora.subject or self.respondedor.not_valid_after_utc < _ahora():
                self._crear_respondedor()
        else:
            self._crear_respondedor()
        self.carpeta_emitidos.mkdir(parents=True, exist_ok=True)
        if not self.ruta_estado.exists():
            self._guardar_estado({"emitidos": {}, "revocados": {}})

    def _crear_ac(self) -> None:
        ahora = _ahora()
        self.raiz_key = _nueva_llave()
        self.raiz = (
            x509.CertificateBuilder()
            .subject_name(NOMBRE_RAIZ)
            .issuer_name(NOMBRE_RAIZ)
            .public_key(self.raiz_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(ahora - dt.timedelta(days=1))
            .not_valid_after(ahora + dt.timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_uso_ac(), critical=True)
            .sign(self.raiz_key, hashes.SHA256())
        )
        self.emisora_key = _nueva_llave()
        self.emisora = (
            x509.CertificateBuilder()
            .subject_name(NOMBRE_EMISORA)
            .issuer_name(NOMBRE_RAIZ)
            .public_key(self.emisora_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(ahora - dt.timedelta(days=1))
            .not_valid_after(ahora + dt.timedelta(days=365 * 10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_uso_ac(), critical=True)
            .sign(self.raiz_key, hashes.SHA256())
        )

    def _crear_respondedor(self) -> None:
        ahora = _ahora()
        llave = _nueva_llave()
        cert = (
            x509.CertificateBuilder()
            .subject_name(NOMBRE_RESPONDEDOR)
            .issuer_name(self.emisora.subject)
            .public_key(llave.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(ahora - dt.timedelta(days=1))
            .not_valid_after(ahora + dt.timedelta(days=365 * 5))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
            .sign(self.emisora_key, hashes.SHA256())
        )
        _escribir_atomico(self.carpeta_privado / "respondedor.key.pem", _pem_llave(llave), 0o600)
        _escribir_atomico(self.carpeta_privado / "respondedor.cer.pem", cert.public_bytes(serialization.Encoding.PEM))
        self.respondedor, self.respondedor_key = cert, llave

    # -- estado --------------------------------------------------------------------------------------------------

    def _leer_estado(self) -> dict[str, Any]:
        # Another process (`buzon-dev pki revocar`) may rewrite the file: reload whenever it changed.
        st = os.stat(self.ruta_estado)
        firma = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._estado_cache is None or self._estado_cache[0] != firma:
            self._estado_cache = (firma, json.loads(self.ruta_estado.read_text("utf-8")))
        return self._estado_cache[1]

    def _guardar_estado(self, estado: dict[str, Any]) -> None:
        datos = json.dumps(estado, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        _escribir_atomico(self.ruta_estado, datos)
        self._estado_cache = None

    def emitidos(self) -> dict[str, dict[str, Any]]:
        """Número de certificado → datos del emitido (rfc, nombre, tipo, vigencia, revocado_en)."""
        estado = self._leer_estado()
        resultado = {}
        for numero, datos in estado["emitidos"].items():
            resultado[numero] = {**datos, "revocado_en": estado["revocados"].get(numero, {}).get("fecha")}
        return resultado

    def consultar(self, serial: int) -> tuple[str, dt.datetime | None]:
        """("good" | "revoked" | "unknown", fecha de revocación o None)."""
        numero = serial_a_numero(serial)
        if numero is None:
            return "unknown", None
        estado = self._leer_estado()
        if numero not in estado["emitidos"]:
            return "unknown", None
        revocado = estado["revocados"].get(numero)
        if revocado:
            return "revoked", dt.datetime.fromisoformat(revocado["fecha"])
        return "good", None

    def estado(self, serial: int) -> str:
        return self.consultar(serial)[0]

    def revocar(self, numero_certificado: str) -> None:
        with _bloqueo(self.carpeta):
            self._estado_cache = None
            estado = self._leer_estado()
            if numero_certificado not in estado["emitidos"]:
                raise KeyError(f"el certificado {numero_certificado} no fue emitido por esta PKI")
            if numero_certificado not in estado["revocados"]:
                estado["revocados"][numero_certificado] = {"fecha": _ahora().isoformat()}
                self._guardar_estado(estado)

    # -- emisión -------------------------------------------------------------------------------------------------

    def emitir(
        self,
        rfc: str,
        nombre: str,
        curp: str | None = None,
        *,
        tipo: str = "efirma",
        rfc_representante: str | None = None,
        curp_representante: str | None = None,
        no_antes: dt.datetime | None = None,
        no_despues: dt.datetime | None = None,
        password: str = PASSWORD_PREDETERMINADO,
        correo: str | None = None,
        sucursal: str | None = None,
        llave: rsa.RSAPrivateKey | None = None,
    ) -> Emitido:
        rfc = rfc.strip().upper()
        if len(rfc) not in (12, 13):
            raise ValueError(f"RFC de longitud inválida: {rfc!r} (12 para persona moral, 13 para física)")
        if tipo not in TIPOS:
            raise ValueError(f"tipo inválido: {tipo!r} (efirma o csd)")
        moral = len(rfc) == 12
        ahora = _ahora()
        no_antes = no_antes or ahora - dt.timedelta(days=1)
        no_despues = no_despues or ahora + dt.timedelta(days=365 * 4)

        sujeto = [
            _atributo(NameOID.COMMON_NAME, nombre),
            _atributo(OID_NAME, nombre),
            _atributo(NameOID.ORGANIZATION_NAME, nombre),
        ]
        if tipo == "efirma":
            sujeto.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "MX", _P))
        if correo:
            sujeto.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, correo, _IA5))
        if moral:
            identificador = f"{rfc} / {rfc_representante.upper()}" if rfc_representante else rfc
            sujeto.append(_atributo(NameOID.X500_UNIQUE_IDENTIFIER, identificador))
            if curp_representante:
                sujeto.append(_atributo(NameOID.SERIAL_NUMBER, f" / {curp_representante.upper()}"))
        else:
            sujeto.append(_atributo(NameOID.X500_UNIQUE_IDENTIFIER, rfc))
            if curp:
                sujeto.append(_atributo(NameOID.SERIAL_NUMBER, curp.upper()))
        if tipo == "csd":
            # SAT puts the branch name of the seal in OU; it is what tells a CSD from an e.firma.
            sujeto.append(_atributo(NameOID.ORGANIZATIONAL_UNIT_NAME, sucursal or f"CSD01_{rfc}"))

        # A new key per certificate, as SAT does; a load test may share one (a 2048-bit key takes ~0.1 s to make).
        llave = llave or _nueva_llave()
        with _bloqueo(self.carpeta):
            self._estado_cache = None
            estado = self._leer_estado()
            numero = self._nuevo_numero(estado)
            constructor = (
                x509.CertificateBuilder()
                .subject_name(x509.Name(sujeto))
                .issuer_name(self.emisora.subject)
                .public_key(llave.public_key())
                .serial_number(numero_a_serial(numero))
                .not_valid_before(no_antes)
                .not_valid_after(no_despues)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            )
            if tipo == "efirma":
                constructor = (
                    constructor.add_extension(_uso(efirma=True), critical=False)
                    .add_extension(
                        x509.UnrecognizedExtension(OID_NETSCAPE_CERT_TYPE, NETSCAPE_CERT_TYPE_EFIRMA), critical=False
                    )
                    .add_extension(
                        x509.ExtendedKeyUsage(
                            [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
                        ),
                        critical=False,
                    )
                )
            else:
                constructor = constructor.add_extension(_uso(efirma=False), critical=False)
            cert = constructor.sign(self.emisora_key, hashes.SHA256())

            cer_der = cert.public_bytes(serialization.Encoding.DER)
            key_der = cifrar_llave_sat(llave, password)
            base = self.carpeta_emitidos / f"{rfc}-{tipo}-{numero}"
            ruta_cer, ruta_key = base.with_suffix(".cer"), base.with_suffix(".key")
            _escribir_atomico(ruta_cer, cer_der)
            _escribir_atomico(ruta_key, key_der)
            estado["emitidos"][numero] = {
                "rfc": rfc,
                "nombre": nombre,
                "tipo": tipo,
                "no_antes": no_antes.isoformat(),
                "no_despues": no_despues.isoformat(),
                "cer": ruta_cer.name,
            }
            self._guardar_estado(estado)
        return Emitido(cer_der, key_der, ruta_cer, ruta_key, numero, password, cert)

    @staticmethod
    def _nuevo_numero(estado: dict[str, Any]) -> str:
        # SAT's numbers start 0000 (production) or 3000 (tests); a random tail keeps two development PKIs from
        # handing out the same number, which would blur "unknown to this CA" in tests.
        while True:
            numero = "30009" + "".join(secrets.choice("0123456789") for _ in range(15))
            if numero not in estado["emitidos"]:
                return numero


def _uso_ac() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _uso(*, efirma: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=efirma,
        key_agreement=efirma,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


# ---------------------------------------------------------------------------------------------------------------
# Línea de comandos


def carpeta_predeterminada() -> str:
    return os.environ.get("BUZON_DATA_DIR", "var") + "/pki"


def _cmd_crear(args: argparse.Namespace) -> int:
    pki = PKI.abrir(args.carpeta)
    print(f"PKI de desarrollo lista en {pki.carpeta}")
    print(f"Certificados de AC (BUZON_SAT_CA_DIR): {pki.carpeta_ca}")
    return 0


def _cmd_emitir(args: argparse.Namespace) -> int:
    pki = PKI.abrir(args.carpeta)
    no_despues = _ahora() + dt.timedelta(days=args.dias) if args.dias is not None else None
    try:
        emitido = pki.emitir(
            args.rfc,
            args.nombre,
            args.curp,
            tipo=args.tipo,
            rfc_representante=args.rfc_representante,
            curp_representante=args.curp_representante,
            no_despues=no_despues,
            password=args.password,
            correo=args.correo,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"numero_certificado: {emitido.numero_certificado}")
    print(f"cer: {emitido.ruta_cer}")
    print(f"key: {emitido.ruta_key}")
    print(f"password: {emitido.password}")
    return 0


def _cmd_revocar(args: argparse.Namespace) -> int:
    pki = PKI.abrir(args.carpeta)
    try:
        pki.revocar(args.numero)
    except KeyError:
        print(f"error: el certificado {args.numero} no fue emitido por esta PKI", file=sys.stderr)
        return 1
    print(f"revocado: {args.numero}")
    return 0


def _cmd_listar(args: argparse.Namespace) -> int:
    pki = PKI.abrir(args.carpeta)
    for numero, datos in sorted(pki.emitidos().items()):
        estado = f"revocado {datos['revocado_en']}" if datos["revocado_en"] else "vigente"
        print(f"{numero}  {datos['rfc']:<13}  {datos['tipo']:<6}  hasta {datos['no_despues']}  {estado}  {datos['nombre']}")
    return 0


def registrar_cli(subparsers: Any) -> None:
    pki = subparsers.add_parser("pki", help="PKI de desarrollo con el perfil de SAT")
    sub = pki.add_subparsers(dest="pki_comando", required=True)

    def carpeta(p: argparse.ArgumentParser) -> None:
        p.add_argument("--carpeta", default=carpeta_predeterminada(), help="carpeta de la PKI (default: %(default)s)")

    p = sub.add_parser("crear", help="crea la AC raíz, la emisora y el respondedor OCSP si no existen")
    carpeta(p)
    p.set_defaults(func=_cmd_crear)

    p = sub.add_parser("emitir", help="emite una e.firma o un CSD con su .key")
    carpeta(p)
    p.add_argument("--rfc", required=True)
    p.add_argument("--nombre", required=True)
    p.add_argument("--curp")
    p.add_argument("--tipo", choices=TIPOS, default="efirma")
    p.add_argument("--rfc-representante")
    p.add_argument("--curp-representante")
    p.add_argument("--correo")
    p.add_argument("--password", default=PASSWORD_PREDETERMINADO)
    p.add_argument("--dias", type=int, help="días de vigencia a partir de hoy (default: 4 años)")
    p.set_defaults(func=_cmd_emitir)

    p = sub.add_parser("revocar", help="revoca un certificado por su número")
    carpeta(p)
    p.add_argument("numero", help="número de certificado (20 dígitos)")
    p.set_defaults(func=_cmd_revocar)

    p = sub.add_parser("listar", help="lista los certificados emitidos y su estado")
    carpeta(p)
    p.set_defaults(func=_cmd_listar)
