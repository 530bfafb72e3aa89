"""Reading SAT certificates and the checks that need no network: chain, validity, e.firma profile, signature.

Names are read from `tbs_certificate_bytes` with a DER walk of our own, never from `cert.subject` or
`cert.issuer`: real SAT certificates hold Latin-1 T61String values on which `cryptography` raises, and the chain is
built by comparing the raw DER of names, which only the bytes give exactly.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from buzon_comun.rechazo import Rechazo
from buzon_comun.tipos import Curp, Rfc, ValorInvalido

logger = logging.getLogger(__name__)

__all__ = [
    "CertificadoRechazado", "Identidad", "CertificadoSat", "AlmacenCA", "leer_certificado",
    "verificar_vigencia", "verificar_perfil_efirma", "verificar_firma", "NombreInvalido",
    "leer_nombre", "nombres_tbs", "clave_publica_bits", "verificar_firma_emitida",
]

OID_CN = "2.5.4.3"
OID_SERIAL_NUMBER = "2.5.4.5"
OID_O = "2.5.4.10"
OID_OU = "2.5.4.11"
OID_NAME = "2.5.4.41"
OID_X500_UNIQUE_ID = "2.5.4.45"

# A chain longer than this is a loop or an attack, never SAT's (root, issuing CA, end entity).
_PROFUNDIDAD_MAX = 8

# The extensions this code understands and SAT uses or may use. RFC 5280 §4.2 says a certificate with a critical
# extension the verifier does not process must be refused: accepting it would ignore a restriction its issuer
# meant. Kept small and explicit; anything else may still come, but only as non-critical.
_EXTENSIONES_CONOCIDAS = frozenset({
    "2.5.29.19",               # basicConstraints (SAT marks it critical)
    "2.5.29.15",               # keyUsage
    "2.5.29.37",               # extendedKeyUsage
    "2.16.840.1.113730.1.1",   # Netscape cert type, on every SAT e.firma
    "2.5.29.14",               # subjectKeyIdentifier
    "2.5.29.35",               # authorityKeyIdentifier
    "2.5.29.32",               # certificatePolicies
    "2.5.29.17",               # subjectAltName
    "2.5.29.18",               # issuerAltName
    "1.3.6.1.5.5.7.1.1",       # authorityInfoAccess
    "2.5.29.31",               # cRLDistributionPoints
})

# Hashes with practical collisions: a CA signature made with them no longer proves what the CA signed.
_HASHES_DEBILES = (hashes.SHA1, hashes.MD5)


class CertificadoRechazado(Rechazo):
    """A certificate or signature that the login or the activation must refuse, with its contract code."""


def _invalido(detalle: str | None = None) -> CertificadoRechazado:
    if detalle:
        logger.info("certificado inválido: %s", detalle)
    return CertificadoRechazado("certificado_invalido", "El archivo enviado no es un certificado X.509 válido.")


# ---------------------------------------------------------------------------------------------------------------
# DER walk
# ---------------------------------------------------------------------------------------------------------------

class NombreInvalido(ValueError):
    """The DER of a certificate's name cannot be read."""


def _tlv(datos: bytes, pos: int, fin: int) -> tuple[int, int, int, int]:
    """(tag byte, start of the whole element, start of content, end of content) of the element at `pos`."""
    if pos >= fin:
        raise NombreInvalido("fin de datos inesperado")
    inicio = pos
    tag = datos[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        # High tag numbers never occur in the parts we read; skip their bytes so the walk stays aligned.
        while True:
            if pos >= fin:
                raise NombreInvalido("etiqueta truncada")
            b = datos[pos]
            pos += 1
            if not b & 0x80:
                break
    if pos >= fin:
        raise NombreInvalido("longitud ausente")
    largo = datos[pos]
    pos += 1
    if largo & 0x80:
        n = largo & 0x7F
        if n == 0 or n > 4:
            # 0 is BER's indefinite length, forbidden in DER.
            raise NombreInvalido("longitud no DER")
        if pos + n > fin:
            raise NombreInvalido("longitud truncada")
        largo = int.from_bytes(datos[pos:pos + n], "big")
        pos += n
    if pos + largo > fin:
        raise NombreInvalido("contenido truncado")
    return tag, inicio, pos, pos + largo


def _hijos(datos: bytes, inicio: int, fin: int) -> list[tuple[int, int, int, int]]:
    hijos = []
    pos = inicio
    while pos < fin:
        t = _tlv(datos, pos, fin)
        hijos.append(t)
        pos = t[3]
    return hijos


def _oid(contenido: bytes) -> str:
    if not contenido or contenido[-1] & 0x80:
        raise NombreInvalido("OID mal formado")
    arcos: list[int] = []
    valor = 0
    for b in contenido:
        valor = (valor << 7) | (b & 0x7F)
        if not b & 0x80:
            arcos.append(valor)
            valor = 0
    primero = arcos[0]
    if primero < 40:
        cabeza = [0, primero]
    elif primero < 80:
        cabeza = [1, primero - 40]
    else:
        cabeza = [2, primero - 80]
    return ".".join(str(a) for a in cabeza + arcos[1:])


def _texto(tag: int, contenido: bytes) -> str:
    if tag == 0x0C:  # UTF8String
        return contenido.decode("utf-8")
    if tag in (0x13, 0x16, 0x1A):  # PrintableString, IA5String, VisibleString
        return contenido.decode("ascii", errors="replace")
    if tag == 0x14:  # T61String: SAT writes Latin-1 here, not real T.61
        return contenido.decode("latin-1")
    if tag == 0x1E:  # BMPString
        return contenido.decode("utf-16-be")
    if tag == 0x1C:  # UniversalString
        return contenido.decode("utf-32-be")
    # Any other type (an OCTET STRING, a BIT STRING…) is kept readable rather than refused: these are names, and
    # the checks that matter look at specific, text-valued attributes.
    return contenido.hex()


def leer_nombre(datos: bytes) -> tuple[tuple[str, str], ...]:
    """The (dotted OID, text) pairs of a DER Name, in order."""
    try:
        tag, _, ini, fin = _tlv(datos, 0, len(datos))
        if tag != 0x30 or fin != len(datos):
            raise NombreInvalido("el nombre no es un SEQUENCE")
        pares = []
        for tag_set, _, ini_set, fin_set in _hijos(datos, ini, fin):
            if tag_set != 0x31:
                raise NombreInvalido("RDN no es un SET")
            for tag_atv, _, ini_atv, fin_atv in _hijos(datos, ini_set, fin_set):
                if tag_atv != 0x30:
                    raise NombreInvalido("atributo no es un SEQUENCE")
                partes = _hijos(datos, ini_atv, fin_atv)
                if len(partes) != 2 or partes[0][0] != 0x06:
                    raise NombreInvalido("atributo mal formado")
                oid = _oid(datos[partes[0][2]:partes[0][3]])
                t, _, a, b = partes[1]
                pares.append((oid, _texto(t, datos[a:b])))
        return tuple(pares)
    except NombreInvalido:
        raise
    except (IndexError, ValueError, UnicodeDecodeError) as e:
        raise NombreInvalido(str(e)) from e


def nombres_tbs(tbs: bytes) -> tuple[bytes, bytes]:
    """Raw DER of (issuer, subject) in a TBSCertificate."""
    tag, _, ini, fin = _tlv(tbs, 0, len(tbs))
    if tag != 0x30:
        raise NombreInvalido("TBSCertificate no es un SEQUENCE")
    campos = _hijos(tbs, ini, fin)
    if campos and campos[0][0] == 0xA0:  # [0] EXPLICIT version
        campos = campos[1:]
    # serialNumber, signature, issuer, validity, subject
    if len(campos) < 5:
        raise NombreInvalido("TBSCertificate incompleto")
    emisor, sujeto = campos[2], campos[4]
    if emisor[0] != 0x30 or sujeto[0] != 0x30:
        raise NombreInvalido("nombres mal formados")
    return tbs[emisor[1]:emisor[3]], tbs[sujeto[1]:sujeto[3]]


def clave_publica_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bytes, the input of OCSP's issuerKeyHash."""
    from cryptography.hazmat.primitives import serialization

    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    _, _, ini, fin = _tlv(spki, 0, len(spki))
    partes = _hijos(spki, ini, fin)
    tag, _, a, b = partes[1]
    if tag != 0x03:
        raise NombreInvalido("SubjectPublicKeyInfo sin BIT STRING")
    return spki[a + 1:b]  # the first byte counts unused bits


# ---------------------------------------------------------------------------------------------------------------
# Certificates and identity
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identidad:
    rfc: str
    rfc_representante: str | None
    curp: str | None
    nombre: str
    tipo_persona: str
    numero_certificado: str

    def como_dict(self) -> dict:
        return {
            "rfc": self.rfc,
            "curp": self.curp,
            "nombre": self.nombre,
            "tipo_persona": self.tipo_persona,
            "rfc_representante": self.rfc_representante,
            "numero_certificado": self.numero_certificado,
        }


def _partes(valor: str) -> list[str]:
    return [p.strip() for p in valor.split("/")]


@dataclass(frozen=True)
class CertificadoSat:
    der: bytes
    certificado: x509.Certificate
    emisor_der: bytes
    sujeto: tuple[tuple[str, str], ...]
    sujeto_der: bytes

    def atributo(self, oid: str) -> str | None:
        for o, v in self.sujeto:
            if o == oid:
                return v
        return None

    def tiene_atributo(self, oid: str) -> bool:
        return any(o == oid for o, _ in self.sujeto)

    @property
    def numero_certificado(self) -> str:
        serie = self.certificado.serial_number
        try:
            texto = serie.to_bytes(20, "big").decode("ascii")
        except (OverflowError, UnicodeDecodeError):
            texto = ""
        if not texto.isascii() or not texto.isprintable() or not texto.strip():
            raise _invalido(f"número de serie {serie:x} no es el texto de un número de certificado")
        return texto

    def identidad(self) -> Identidad:
        """Who the certificate names. Raises `certificado_invalido` when it names no usable RFC."""
        unico = self.atributo(OID_X500_UNIQUE_ID)
        if not unico or not _partes(unico)[0]:
            raise _invalido("sin RFC en x500UniqueIdentifier")
        partes_rfc = _partes(unico)
        try:
            rfc = Rfc.parse(partes_rfc[0])
        except ValorInvalido as e:
            raise _invalido(f"RFC mal formado {partes_rfc[0]!r}: {e.mensaje}") from e
        moral = rfc.tipo_persona == "moral"

        rfc_representante = None
        if moral and len(partes_rfc) > 1 and partes_rfc[1]:
            # The representative's data only inform the acuses: a malformed one is logged, not fatal for login.
            try:
                rfc_representante = str(Rfc.parse(partes_rfc[1]))
            except ValorInvalido:
                logger.warning("RFC del representante mal formado en el certificado %s: %r",
                               self.numero_certificado, partes_rfc[1])

        curp = None
        serial = self.atributo(OID_SERIAL_NUMBER)
        if serial:
            candidatos = [p for p in _partes(serial) if p]
            # Morales hold " / CURP_DEL_REPRESENTANTE"; físicas the CURP alone.
            texto_curp = (candidatos[-1] if moral else candidatos[0]) if candidatos else None
            if texto_curp:
                try:
                    curp = str(Curp.parse(texto_curp))
                except ValorInvalido:
                    logger.warning("CURP mal formada en el certificado %s: %r",
                                   self.numero_certificado, texto_curp)

        nombre = (self.atributo(OID_CN) or self.atributo(OID_NAME) or self.atributo(OID_O) or "").strip()
        return Identidad(
            rfc=str(rfc),
            rfc_representante=rfc_representante,
            curp=curp,
            nombre=nombre,
            tipo_persona=rfc.tipo_persona,
            numero_certificado=self.numero_certificado,
        )


def _a_der(datos: bytes) -> list[bytes]:
    """DER of every certificate in `datos`, which is DER or PEM (one or more certificates)."""
    from cryptography.hazmat.primitives import serialization

    if datos.lstrip()[:10] == b"-----BEGIN":
        certs = x509.load_pem_x509_certificates(datos)
        return [c.public_bytes(serialization.Encoding.DER) for c in certs]
    return [datos]


def _desde_der(der: bytes) -> CertificadoSat:
    cert = x509.load_der_x509_certificate(der)
    tbs = cert.tbs_certificate_bytes
    emisor_der, sujeto_der = nombres_tbs(tbs)
    sujeto = leer_nombre(sujeto_der)
    leer_nombre(emisor_der)
    # Touch everything the checks use later, so that a malformed field fails here as certificado_invalido and
    # not as an unexpected exception in a later step.
    cert.extensions
    cert.public_key()
    cert.serial_number
    cert.not_valid_before_utc
    cert.not_valid_after_utc
    cert.signature_hash_algorithm
    cert.signature_algorithm_parameters
    return CertificadoSat(der=der, certificado=cert, emisor_der=emisor_der, sujeto=sujeto, sujeto_der=sujeto_der)


def _exigir_estructura_segura(cert: x509.Certificate) -> None:
    """Refuse what parses but cannot be relied on: a serial that is not positive (RFC 5280; `cryptography` only
    warns today and will raise later), a critical extension we don't process, a weak signature hash.

    Only for the certificate a person presents: the CA folder is the operator's choice, and a self-signed root's
    own signature proves nothing whatever its hash.
    """
    if cert.serial_number <= 0:
        raise _invalido("número de serie no positivo")
    for extension in cert.extensions:
        if extension.critical and extension.oid.dotted_string not in _EXTENSIONES_CONOCIDAS:
            raise _invalido(f"extensión crítica desconocida {extension.oid.dotted_string}")
    if isinstance(cert.signature_hash_algorithm, _HASHES_DEBILES):
        raise _invalido(f"firmado con {cert.signature_hash_algorithm.name}")


def leer_certificado(der: bytes) -> CertificadoSat:
    """Parse one certificate (DER, or PEM); anything else raises `certificado_invalido`."""
    if not isinstance(der, (bytes, bytearray, memoryview)) or not der:
        raise _invalido("datos vacíos o de otro tipo")
    try:
        ders = _a_der(bytes(der))
        if len(ders) != 1:
            raise _invalido("se esperaba exactamente un certificado")
        cert = _desde_der(ders[0])
        _exigir_estructura_segura(cert.certificado)
        return cert
    except CertificadoRechazado:
        raise
    except Exception as e:  # every way a parser can fail on hostile input means the same to the user
        raise _invalido(f"{type(e).__name__}: {e}") from e


# ---------------------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------------------

def verificar_firma_emitida(emitido: x509.Certificate, clave_emisor) -> bool:
    """Whether `clave_emisor` made the signature on `emitido`. Never raises."""
    try:
        firma = emitido.signature
        datos = emitido.tbs_certificate_bytes
        if isinstance(clave_emisor, rsa.RSAPublicKey):
            clave_emisor.verify(firma, datos, emitido.signature_algorithm_parameters, emitido.signature_hash_algorithm)
        elif isinstance(clave_emisor, ec.EllipticCurvePublicKey):
            clave_emisor.verify(firma, datos, emitido.signature_algorithm_parameters)
        elif isinstance(clave_emisor, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            clave_emisor.verify(firma, datos)
        else:
            return False
        return True
    except Exception:
        return False


def verificar_firma(cert: CertificadoSat, datos: bytes, firma: bytes) -> None:
    """RSA PKCS#1 v1.5 with SHA-256 over `datos` with the certificate's key, or `firma_invalida`."""
    try:
        clave = cert.certificado.public_key()
        if not isinstance(clave, rsa.RSAPublicKey):
            raise InvalidSignature("la clave del certificado no es RSA")
        clave.verify(bytes(firma), bytes(datos), padding.PKCS1v15(), hashes.SHA256())
    except Exception as e:
        logger.info("firma inválida con el certificado: %s", type(e).__name__)
        raise CertificadoRechazado(
            "firma_invalida",
            "La firma no corresponde al certificado o al texto firmado. Verifica que usas la llave privada "
            "(.key) de tu e.firma.",
        ) from None


# ---------------------------------------------------------------------------------------------------------------
# Validity and profile
# ---------------------------------------------------------------------------------------------------------------

def _exigir_utc(ahora: datetime) -> None:
    if ahora.tzinfo is None or ahora.utcoffset() is None:
        raise ValueError("ahora debe tener zona horaria")


def verificar_vigencia(cert: CertificadoSat, ahora: datetime) -> None:
    _exigir_utc(ahora)
    c = cert.certificado
    if ahora < c.not_valid_before_utc:
        raise CertificadoRechazado("certificado_no_vigente", "El certificado todavía no es vigente.")
    if ahora > c.not_valid_after_utc:
        raise CertificadoRechazado(
            "certificado_vencido", "El certificado ha vencido. Renueva tu e.firma ante el SAT."
        )


def verificar_perfil_efirma(cert: CertificadoSat) -> None:
    """An e.firma is a person's signing certificate: not a CA, keyUsage digitalSignature, no OU and an
    extendedKeyUsage with clientAuth. A CSD has an OU and no EKU."""
    no_es = CertificadoRechazado(
        "no_es_efirma",
        "El certificado no es una e.firma (FIEL). Un Certificado de Sello Digital (CSD) no sirve para este trámite.",
    )
    if _es_ca(cert.certificado):
        raise no_es
    try:
        uso = cert.certificado.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise no_es from None
    if not uso.digital_signature:
        raise no_es
    if cert.tiene_atributo(OID_OU):
        raise no_es
    try:
        eku = cert.certificado.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise no_es from None
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise no_es


# ---------------------------------------------------------------------------------------------------------------
# Trusted CAs
# ---------------------------------------------------------------------------------------------------------------

def _es_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except Exception:
        return False


class AlmacenCA:
    """The CA certificates trusted as SAT's, indexed by the raw DER of their subject."""

    def __init__(self, cas: list[CertificadoSat] | None = None):
        self._por_sujeto: dict[bytes, list[CertificadoSat]] = {}
        for ca in cas or []:
            self.agregar(ca)

    def agregar(self, ca: CertificadoSat) -> bool:
        if not _es_ca(ca.certificado):
            logger.warning("se ignora un certificado que no es de CA (basicConstraints): %s", ca.sujeto)
            return False
        lista = self._por_sujeto.setdefault(ca.sujeto_der, [])
        if all(c.der != ca.der for c in lista):
            lista.append(ca)
        return True

    def __len__(self) -> int:
        return sum(len(v) for v in self._por_sujeto.values())

    @classmethod
    def desde_carpeta(cls, carpeta) -> "AlmacenCA":
        carpeta = Path(carpeta)
        if not carpeta.is_dir():
            raise FileNotFoundError(f"no existe la carpeta de certificados de CA: {carpeta}")
        almacen = cls()
        for ruta in sorted(carpeta.iterdir()):
            if not ruta.is_file():
                continue
            try:
                ders = _a_der(ruta.read_bytes())
                cargados = [_desde_der(d) for d in ders]
            except Exception as e:
                logger.warning("no se pudo leer %s como certificado de CA: %s", ruta, e)
                continue
            for ca in cargados:
                almacen.agregar(ca)
        if not len(almacen):
            logger.warning("la carpeta %s no tiene ningún certificado de CA: se rechazará todo certificado", carpeta)
        return almacen

    def _candidatos(self, emisor_der: bytes) -> list[CertificadoSat]:
        return self._por_sujeto.get(emisor_der, [])

    def emisor_de(self, cert: CertificadoSat, ahora: datetime | None = None) -> x509.Certificate:
        """The trusted CA that issued `cert`, after walking and verifying its chain; else certificado_no_confiable.

        Every CA in the folder is a configured SAT CA and so a trust anchor; where the folder also holds the CA's
        own issuer, that signature must verify too and every CA below the self-signed root must be within its
        validity at `ahora` (default: now).
        """
        if ahora is None:
            ahora = datetime.now(timezone.utc)
        no_confiable = CertificadoRechazado(
            "certificado_no_confiable", "El certificado no fue emitido por una autoridad certificadora del SAT."
        )
        emisor = self._verificado_por(cert)
        if emisor is None:
            raise no_confiable
        actual = emisor
        for _ in range(_PROFUNDIDAD_MAX):
            if actual.emisor_der == actual.sujeto_der and verificar_firma_emitida(
                actual.certificado, actual.certificado.public_key()
            ):
                return emisor.certificado
            c = actual.certificado
            if not (c.not_valid_before_utc <= ahora <= c.not_valid_after_utc):
                logger.warning("CA intermedia fuera de vigencia: %s", actual.sujeto)
                raise no_confiable
            if not self._candidatos(actual.emisor_der):
                # An intermediate configured without its root is itself the anchor.
                return emisor.certificado
            superior = self._verificado_por(actual)
            if superior is None:
                logger.warning("la firma de la CA %s no verifica con ninguna CA de su nombre", actual.sujeto)
                raise no_confiable
            actual = superior
        raise no_confiable

    def _verificado_por(self, cert: CertificadoSat) -> CertificadoSat | None:
        # Same name is not enough: an impostor CA can copy the name, never the key.
        for ca in self._candidatos(cert.emisor_der):
            if verificar_firma_emitida(cert.certificado, ca.certificado.public_key()):
                return ca
        return None
