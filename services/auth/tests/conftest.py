"""Fixtures for the e.firma verification tests: SAT's real test files, two development PKIs and OCSP servers.

Nothing here imports nameko or eventlet: the verification code is transport-free and tested as such.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp

from buzon_auth.certificados import AlmacenCA
from buzon_dev.ocsp import ServidorOcsp, responder
from buzon_dev.pki import PKI

RAIZ_REPO = Path(__file__).resolve().parents[3]


def carpeta_fixtures_sat() -> Path:
    # CI clones the repository next to shared/; BUZON_FIXTURES_SAT points elsewhere when it isn't.
    return Path(os.environ.get("BUZON_FIXTURES_SAT") or RAIZ_REPO.parent / "shared" / "fixtures" / "sat-pruebas")


@pytest.fixture(scope="session")
def sat() -> Path:
    carpeta = carpeta_fixtures_sat()
    if not (carpeta / "fiel-moral-AAA010101AAA.cer").is_file():
        pytest.fail(f"faltan los archivos de prueba de SAT en {carpeta} (defina BUZON_FIXTURES_SAT)")
    return carpeta


def _firmar(key_der: bytes, datos: bytes, password: str = "12345678a") -> bytes:
    llave = serialization.load_der_private_key(key_der, password.encode())
    return llave.sign(datos, padding.PKCS1v15(), hashes.SHA256())


@pytest.fixture(scope="session")
def firmar():
    """Sign like the user's tool does: RSA PKCS#1 v1.5 SHA-256 with the SAT-format .key."""
    return _firmar


# -- development PKIs ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    return PKI.abrir(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def otra_pki(tmp_path_factory) -> PKI:
    """Same CA names as `pki`, other keys: an impostor."""
    return PKI.abrir(tmp_path_factory.mktemp("otra-pki"))


@pytest.fixture(scope="session")
def almacen(pki) -> AlmacenCA:
    return AlmacenCA.desde_carpeta(pki.carpeta_ca)


@pytest.fixture(scope="session")
def efirma_fisica(pki):
    return pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ", "GODE561231HDFMZM07")


@pytest.fixture(scope="session")
def efirma_moral(pki):
    return pki.emitir(
        "EKU9003173C9", "ESCUELA KEMPER URGATE SA DE CV",
        rfc_representante="XIQB891116QE4", curp_representante="XIQB891116MGRMZR05",
    )


@pytest.fixture(scope="session")
def csd_moral(pki):
    return pki.emitir("EKU9003173C9", "ESCUELA KEMPER URGATE SA DE CV", tipo="csd",
                      rfc_representante="XIQB891116QE4", curp_representante="XIQB891116MGRMZR05")


def _uso_efirma(**cambios) -> x509.KeyUsage:
    usos = dict(digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=True,
                key_agreement=True, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False)
    return x509.KeyUsage(**{**usos, **cambios})


@pytest.fixture(scope="session")
def uso_efirma():
    """The keyUsage of a real SAT e.firma (digitalSignature, nonRepudiation, dataEncipherment, keyAgreement),
    with the changes a test asks for."""
    return _uso_efirma


@pytest.fixture(scope="session")
def efirma_no_registrada(pki):
    """(DER, private key) of an e.firma signed with the issuing CA's key but absent from the PKI's records: what
    the responder answers "unknown" for."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    momento = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "NO REGISTRADO"),
            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "GODE561231GR8"),
        ]))
        .issuer_name(pki.emisora.subject)
        .public_key(llave.public_key())
        .serial_number(int.from_bytes(b"30009000000000000001", "big"))
        .not_valid_before(momento - dt.timedelta(days=1))
        .not_valid_after(momento + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_uso_efirma(), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(pki.emisora_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER), llave


@pytest.fixture(scope="session")
def efirma_a_la_medida(pki):
    """(DER, private key) of an e.firma with SAT's profile issued by the development CA, changed as a test asks:
    `ca` for basicConstraints CA:TRUE, `uso` None (no keyUsage) or another KeyUsage, `extras` (extension,
    critical) pairs added at the end. Absent from the PKI's records, like `efirma_no_registrada`."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def emitir(*, ca: bool = False, uso: x509.KeyUsage | None | str = "sat", extras=()):
        momento = dt.datetime.now(dt.timezone.utc)
        sujeto = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EMILIO GÓMEZ DÍAZ"),
                            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "GODE561231GR8"),
                            x509.NameAttribute(NameOID.SERIAL_NUMBER, "GODE561231HDFMZM07")])
        b = (x509.CertificateBuilder().subject_name(sujeto).issuer_name(pki.emisora.subject)
             .public_key(llave.public_key()).serial_number(int.from_bytes(b"30009000000000000002", "big"))
             .not_valid_before(momento - dt.timedelta(days=1)).not_valid_after(momento + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if uso is not None:
            b = b.add_extension(_uso_efirma() if uso == "sat" else uso, critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                   ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        for extension, critica in extras:
            b = b.add_extension(extension, critical=critica)
        return b.sign(pki.emisora_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER), llave

    return emitir


@pytest.fixture(scope="session")
def servidor_ocsp(pki):
    with ServidorOcsp(pki) as s:
        yield s


# -- scripted OCSP servers ----------------------------------------------------------------------------------------

@dataclass
class ServidorPrueba:
    """An HTTP server on a free port whose answer a function decides; it counts the requests it gets."""

    manejador: Callable[[bytes], tuple[int, bytes]]
    solicitudes: list[bytes] = field(default_factory=list)

    def __post_init__(self):
        dueno = self

        class Manejador(BaseHTTPRequestHandler):
            def do_POST(self):
                cuerpo = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                dueno.solicitudes.append(cuerpo)
                estado, datos = dueno.manejador(cuerpo)
                self.send_response(estado)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(datos)))
                self.end_headers()
                self.wfile.write(datos)

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Manejador)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_port}/"
        # A short poll keeps shutdown() from adding half a second to every test.
        self._hilo = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                      daemon=True)
        self._hilo.start()

    def cerrar(self):
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def servidor_prueba():
    abiertos = []

    def crear(manejador):
        s = ServidorPrueba(manejador)
        abiertos.append(s)
        return s

    yield crear
    for s in abiertos:
        s.cerrar()


@pytest.fixture
def ocsp_contador(pki, servidor_prueba):
    """The development responder behind a server that counts the requests."""
    return servidor_prueba(lambda cuerpo: (200, responder(pki, cuerpo)[0]))


@pytest.fixture
def puerto_cerrado() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    puerto = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{puerto}/"


@pytest.fixture
def puerto_mudo():
    """A port that accepts connections (the kernel's backlog does) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield f"http://127.0.0.1:{s.getsockname()[1]}/"
    s.close()


@pytest.fixture(scope="session")
def construir_respuesta():
    return _construir_respuesta


def _construir_respuesta(
    solicitud_der: bytes,
    *,
    llave,
    certificado_firmante: x509.Certificate | None,
    estado=ocsp.OCSPCertStatus.GOOD,
    nonce: bytes | None | str = "eco",
    serial: int | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None | str = "1h",
    algoritmo=None,
    emisor: x509.Certificate | None = None,
) -> bytes:
    """An OCSP response to `solicitud_der`, with each part under the test's control.

    With `algoritmo` (and `emisor`) the CertID is recomputed with that hash instead of copied from the request.
    """
    solicitud = ocsp.load_der_ocsp_request(solicitud_der)
    momento = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    this_update = this_update or momento
    if next_update == "1h":
        next_update = momento + dt.timedelta(hours=1)
    revocado = momento if estado == ocsp.OCSPCertStatus.REVOKED else None
    constructor = ocsp.OCSPResponseBuilder()
    if algoritmo is None:
        constructor = constructor.add_response_by_hash(
            issuer_name_hash=solicitud.issuer_name_hash, issuer_key_hash=solicitud.issuer_key_hash,
            serial_number=solicitud.serial_number if serial is None else serial, algorithm=solicitud.hash_algorithm,
            cert_status=estado, this_update=this_update, next_update=next_update, revocation_time=revocado,
            revocation_reason=None,
        )
    else:
        h_nombre = hashes.Hash(algoritmo)
        h_nombre.update(emisor.subject.public_bytes())
        h_llave = hashes.Hash(algoritmo)
        h_llave.update(emisor.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
        constructor = constructor.add_response_by_hash(
            issuer_name_hash=h_nombre.finalize(), issuer_key_hash=h_llave.finalize(),
            serial_number=solicitud.serial_number if serial is None else serial, algorithm=algoritmo,
            cert_status=estado, this_update=this_update, next_update=next_update, revocation_time=revocado,
            revocation_reason=None,
        )
    if certificado_firmante is not None:
        constructor = constructor.responder_id(ocsp.OCSPResponderEncoding.NAME, certificado_firmante)
        constructor = constructor.certificates([certificado_firmante])
    else:
        raise ValueError("construir_respuesta necesita el certificado que identifica al firmante")
    if nonce == "eco":
        nonce = solicitud.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    if nonce is not None:
        constructor = constructor.add_extension(x509.OCSPNonce(nonce), critical=False)
    return constructor.sign(llave, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
