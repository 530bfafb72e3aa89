"""The deposited document's signature (DOMINIO.md, Buzón, "Deposit": a PDF signed with the Institute's key).

A document is accepted only if it carries a PDF signature (PAdES / adbe.pkcs7.detached, as pyHanko validates it)
that is intact, covers the whole file (nothing appended after the signed revision, not even an incremental
update) and was made by a certificate that chains to a CA of `BUZON_DOCUMENTOS_CA_DIR` (every file of the folder,
DER or PEM). Revocation is not checked: the Institute's CAs publish nothing the service could reach offline, and
the folder itself is what an operator changes to stop trusting a key.

- `Confianza.desde_carpeta(carpeta)`: the trusted CAs, read once when the service starts.
- `Confianza.verificar(pdf)`: the signer (`Firmante`: serial in hex and subject) or the contract's refusal:
  422 `documento_invalido` (not a readable PDF), `documento_sin_firma`, `firma_documento_invalida`.

One verification costs 10 to 14 ms of CPU, for a PDF of 9 KiB as for one of 5 MiB (parsing, the RSA check, the
chain; the hash hardly counts): the service runs it in eventlet's thread pool (`service.ProveedorConfianza`), so a
campaign's deposits don't stall the other workers. pyHanko's loggers are silenced for that reason: a log record
emitted from a real thread would take eventlet's green logging lock; the refusal is logged here, by the caller.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from buzon_comun.errores import ReglaIncumplida

log = logging.getLogger(__name__)

MENSAJE_NO_PDF = "El documento debe ser un PDF (codificado en base64)."
MENSAJE_SIN_FIRMA = "El documento no está firmado: debe llevar la firma electrónica del Instituto (firma PDF)."
MENSAJE_FIRMA_INVALIDA = ("La firma del documento no es válida: {motivo}. Firma el documento con la llave del "
                          "Instituto y no lo modifiques después de firmarlo.")
MOTIVO_ALTERADO = "el documento no es el que se firmó"
MOTIVO_AGREGADO = "el archivo tiene contenido agregado después de la firma"
MOTIVO_NO_CONFIABLE = "el certificado del firmante no es de una autoridad certificadora del Instituto"
MOTIVO_ILEGIBLE = "la firma no se pudo leer"


@dataclass(frozen=True)
class Firmante:
    """Who signed an accepted document: the certificate's serial (hex, lower case) and subject (RFC 4514)."""

    serie: str
    sujeto: str


def _invalida(motivo: str) -> ReglaIncumplida:
    return ReglaIncumplida("firma_documento_invalida", MENSAJE_FIRMA_INVALIDA.format(motivo=motivo),
                           {"motivo": motivo})


def _certificados(datos: bytes) -> list[bytes]:
    """The DER certificates of a file: DER itself, or every PEM block in it."""
    from asn1crypto import pem

    if pem.detect(datos):
        return [der for tipo, _, der in pem.unarmor(datos, multiple=True) if tipo == "CERTIFICATE"]
    return [datos]


def silenciar_pyhanko() -> None:
    """Every pyHanko logger made so far disabled, and any made later (a module imported lazily) above CRITICAL
    through its parent (see the module's note)."""
    for raiz in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(raiz).setLevel(logging.CRITICAL + 1)
    for nombre, registrador in list(logging.root.manager.loggerDict.items()):
        if nombre.split(".")[0] in ("pyhanko", "pyhanko_certvalidator") and isinstance(registrador, logging.Logger):
            registrador.disabled = True


class Confianza:
    """The CAs whose certificates may sign the Institute's documents."""

    def __init__(self, cas: list) -> None:
        self.cas = cas

    @classmethod
    def desde_carpeta(cls, carpeta: Path | str) -> "Confianza":
        from asn1crypto import x509

        carpeta = Path(carpeta)
        if not carpeta.is_dir():
            raise FileNotFoundError(f"no existe la carpeta de AC de los documentos: {carpeta}")
        cas = []
        for ruta in sorted(carpeta.iterdir()):
            if not ruta.is_file():
                continue
            try:
                cargados = [x509.Certificate.load(der) for der in _certificados(ruta.read_bytes())]
                for ca in cargados:
                    ca.native  # noqa: B018 - parse it all now: a bad file is reported at start, not at a deposit
            except Exception as exc:
                log.warning("no se pudo leer %s como certificado de AC: %s", ruta, exc)
                continue
            for ca in cargados:
                if ca.ca:
                    cas.append(ca)
                else:
                    log.warning("se ignora un certificado que no es de AC (basicConstraints): %s", ruta)
        if not cas:
            log.error("la carpeta %s no tiene certificados de AC: se rechazará todo documento", carpeta)
        return cls(cas)

    def verificar(self, pdf: bytes) -> Firmante:
        """The signer of `pdf`'s signature over the whole file, or the refusal (see the module's doc)."""
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation.errors import SignatureValidationError
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext

        try:
            firmas = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise ReglaIncumplida("documento_invalido", MENSAJE_NO_PDF) from None
        if not firmas:
            raise ReglaIncumplida("documento_sin_firma", MENSAJE_SIN_FIRMA)
        # The signature of the last revision: the only one that can cover the whole file.
        firma = max(firmas, key=lambda f: f.signed_revision)
        contexto = ValidationContext(trust_roots=self.cas, allow_fetching=False, revocation_mode="soft-fail")
        try:
            estado = validate_pdf_signature(firma, contexto, skip_diff=True)
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError):
            raise _invalida(MOTIVO_ILEGIBLE) from None
        if not estado.intact or not estado.valid:
            raise _invalida(MOTIVO_ALTERADO)
        if estado.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise _invalida(MOTIVO_AGREGADO)
        if not estado.trusted:
            raise _invalida(MOTIVO_NO_CONFIABLE)
        from cryptography import x509

        certificado = x509.load_der_x509_certificate(firma.signer_cert.dump())
        return Firmante(serie=format(certificado.serial_number, "x"), sujeto=certificado.subject.rfc4514_string())
