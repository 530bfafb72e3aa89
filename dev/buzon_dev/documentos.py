"""AC de desarrollo «IMSS documentos»: firma los PDF que se depositan en el Buzón con una llave de desarrollo.

Sustituye a la llave con que el Instituto firma sus notificaciones sólo cuando no se configura una carpeta real
(BUZON_DOCUMENTOS_CA_DIR): buzon acepta un documento sólo si lleva una firma PDF (PAdES, adbe.pkcs7.detached) que
cubre todo el archivo, hecha con un certificado que encadena a una AC de esa carpeta.

Estructura de la carpeta:
    ca/           sólo el certificado de la AC en DER (ac-documentos.cer): a esta carpeta apunta
                  BUZON_DOCUMENTOS_CA_DIR en desarrollo
    privado/      llave de la AC, certificado y llave del firmante (PEM)

`firmar_pdf(pdf, carpeta)` firma un PDF con el firmante de la carpeta (se crea la primera vez);
`pdf_de_prueba(texto)` hace un PDF mínimo de una página para las pruebas y la demostración.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from .pki import _bloqueo, _escribir_atomico, _nueva_llave, _pem_llave, _uso, _uso_ac

ARCHIVO_AC = "ac-documentos.cer"
NOMBRE_AC = x509.Name([
    x509.NameAttribute(NameOID.COMMON_NAME, "AC IMSS DOCUMENTOS DESARROLLO"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Instituto Mexicano del Seguro Social"),
    x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
])
NOMBRE_FIRMANTE = x509.Name([
    x509.NameAttribute(NameOID.COMMON_NAME, "IMSS NOTIFICACIONES DESARROLLO"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Instituto Mexicano del Seguro Social"),
    x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
])
CAMPO_FIRMA = "FirmaIMSS"


def _ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _emitir(sujeto: x509.Name, llave, emisor: x509.Name, llave_emisor, *, ac: bool, anios: int) -> x509.Certificate:
    ahora = _ahora()
    return (
        x509.CertificateBuilder()
        .subject_name(sujeto)
        .issuer_name(emisor)
        .public_key(llave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ahora - dt.timedelta(days=1))
        .not_valid_after(ahora + dt.timedelta(days=365 * anios))
        .add_extension(x509.BasicConstraints(ca=ac, path_length=0 if ac else None), critical=True)
        .add_extension(_uso_ac() if ac else _uso(efirma=False), critical=True)
        .sign(llave_emisor, hashes.SHA256())
    )


class FirmaDocumentos:
    """The development CA of the Institute's documents and the one signer it issued, opened or made in `carpeta`."""

    def __init__(self, carpeta: Path) -> None:
        self.carpeta = carpeta
        self.carpeta_ca = carpeta / "ca"
        self.carpeta_privado = carpeta / "privado"

    @classmethod
    def abrir(cls, carpeta: Path | str) -> "FirmaDocumentos":
        firma = cls(Path(carpeta))
        with _bloqueo(firma.carpeta):
            firma._cargar_o_crear()
        return firma

    def _cargar_o_crear(self) -> None:
        ruta_ac = self.carpeta_ca / ARCHIVO_AC
        llave_ac = self.carpeta_privado / "ac-documentos.key.pem"
        cer_firmante = self.carpeta_privado / "firmante.cer.pem"
        llave_firmante = self.carpeta_privado / "firmante.key.pem"
        # ca/ is written last: its presence means the rest is complete.
        if not (ruta_ac.exists() and llave_ac.exists() and cer_firmante.exists() and llave_firmante.exists()):
            clave_ac, clave_firmante = _nueva_llave(), _nueva_llave()
            ac = _emitir(NOMBRE_AC, clave_ac, NOMBRE_AC, clave_ac, ac=True, anios=20)
            firmante = _emitir(NOMBRE_FIRMANTE, clave_firmante, NOMBRE_AC, clave_ac, ac=False, anios=10)
            _escribir_atomico(llave_ac, _pem_llave(clave_ac), 0o600)
            _escribir_atomico(llave_firmante, _pem_llave(clave_firmante), 0o600)
            _escribir_atomico(cer_firmante, firmante.public_bytes(serialization.Encoding.PEM))
            _escribir_atomico(ruta_ac, ac.public_bytes(serialization.Encoding.DER))
        os.chmod(self.carpeta_privado, 0o700)
        self.ac = x509.load_der_x509_certificate(ruta_ac.read_bytes())
        self.firmante = x509.load_pem_x509_certificate(cer_firmante.read_bytes())
        self._llave_firmante = llave_firmante.read_bytes()
        self._firmador = None

    def firmador(self):
        """This signer as a pyHanko signer (for `firmar_con`)."""
        if self._firmador is None:
            from asn1crypto import keys, x509 as asn1_x509
            from pyhanko.sign import signers
            from pyhanko_certvalidator.registry import SimpleCertificateStore

            ac = asn1_x509.Certificate.load(self.ac.public_bytes(serialization.Encoding.DER))
            self._firmador = signers.SimpleSigner(
                signing_cert=asn1_x509.Certificate.load(self.firmante.public_bytes(serialization.Encoding.DER)),
                signing_key=keys.PrivateKeyInfo.load(
                    serialization.load_pem_private_key(self._llave_firmante, None).private_bytes(
                        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())),
                cert_registry=SimpleCertificateStore.from_certs([ac]),
            )
        return self._firmador

    def firmar_pdf(self, pdf: bytes) -> bytes:
        """`pdf` signed (PAdES baseline, adbe.pkcs7.detached... as pyHanko's signer makes it) in a new revision
        that covers the whole file."""
        return firmar_con(pdf, self.firmador())


def firmar_con(pdf: bytes, firmador) -> bytes:
    """`pdf` signed by a pyHanko signer (any key: the tests sign with untrusted ones too)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    escritor = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    metadatos = signers.PdfSignatureMetadata(field_name=CAMPO_FIRMA, subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
                                             reason="Notificación del Instituto Mexicano del Seguro Social")
    salida = signers.sign_pdf(escritor, metadatos, signer=firmador)
    return salida.getvalue()


def carpeta_predeterminada() -> Path:
    """Where the development launcher and `firmar_pdf` without a folder keep it: `<BUZON_DATA_DIR>/pki-documentos`."""
    return Path(os.environ.get("BUZON_DATA_DIR") or "var").resolve() / "pki-documentos"


def carpeta_de_pruebas() -> Path:
    """The development CA that the systems started by the tests trust (buzon_dev.sistema) and their deposits sign
    with, shared by every test run of this user: a module can sign its documents when it is imported."""
    return Path(tempfile.gettempdir()) / f"buzon-pki-documentos-pruebas-{os.getuid()}"


_abiertas: dict[Path, FirmaDocumentos] = {}


def firmar_pdf(pdf: bytes, carpeta: Path | str | None = None) -> bytes:
    """`pdf` signed with the development key of the Institute's documents kept in `carpeta` (made the first
    time; default `carpeta_predeterminada()`)."""
    ruta = Path(carpeta).resolve() if carpeta is not None else carpeta_predeterminada()
    firma = _abiertas.get(ruta)
    if firma is None:
        firma = _abiertas[ruta] = FirmaDocumentos.abrir(ruta)
    return firma.firmar_pdf(pdf)


def pdf_de_prueba(texto: str = "Notificación de prueba", relleno: int = 0) -> bytes:
    """A minimal valid one-page PDF showing `texto` (ASCII shown; other characters replaced), with its xref, and
    `relleno` bytes more in a comment (to reach a size)."""
    visible = texto.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    contenido = b"BT /F1 12 Tf 72 720 Td (" + visible + b") Tj ET"
    objetos = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(contenido) + contenido + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    salida = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    if relleno:
        salida += b"%" + b"0" * max(relleno - 2, 0) + b"\n"
    posiciones = []
    for numero, objeto in enumerate(objetos, start=1):
        posiciones.append(len(salida))
        salida += b"%d 0 obj\n" % numero + objeto + b"\nendobj\n"
    xref = len(salida)
    salida += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objetos) + 1)
    salida += b"".join(b"%010d 00000 n \n" % p for p in posiciones)
    salida += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objetos) + 1, xref)
    return bytes(salida)


# ---------------------------------------------------------------------------------------------------------------
# Línea de comandos

def _cmd_crear(args) -> int:
    firma = FirmaDocumentos.abrir(args.carpeta)
    print(f"AC de desarrollo «IMSS documentos» lista en {firma.carpeta}")
    print(f"Certificado de la AC (BUZON_DOCUMENTOS_CA_DIR): {firma.carpeta_ca}")
    return 0


def _cmd_firmar(args) -> int:
    entrada = pdf_de_prueba(args.prueba) if args.prueba else Path(args.entrada).read_bytes()
    Path(args.salida).write_bytes(firmar_pdf(entrada, args.carpeta))
    print(f"PDF firmado con la llave de desarrollo de los documentos del Instituto: {args.salida}")
    return 0


def registrar_cli(subparsers) -> None:
    documentos = subparsers.add_parser("documentos", help="AC de desarrollo «IMSS documentos»: firma los PDF que se "
                                                        "depositan en el Buzón")
    sub = documentos.add_subparsers(dest="documentos_comando", required=True)
    p = sub.add_parser("crear", help="crea la AC y el firmante si no existen")
    p.add_argument("--carpeta", default=str(carpeta_predeterminada()), help="carpeta (default: %(default)s)")
    p.set_defaults(func=_cmd_crear)
    p = sub.add_parser("firmar", help="firma un PDF con la llave de desarrollo")
    p.add_argument("entrada", nargs="?", help="el PDF por firmar")
    p.add_argument("salida", help="dónde escribir el PDF firmado")
    p.add_argument("--carpeta", default=str(carpeta_predeterminada()), help="carpeta (default: %(default)s)")
    p.add_argument("--prueba", metavar="TEXTO", help="firma un PDF de prueba con este texto en lugar de la entrada")
    p.set_defaults(func=_cmd_firmar)
    p.epilog = "Indica la entrada o --prueba."
