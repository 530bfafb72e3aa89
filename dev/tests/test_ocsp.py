"""Respondedor OCSP de desarrollo: respuestas firmadas como las de SAT, consultadas por HTTP."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Iterator

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from buzon_dev.ocsp import ServidorOcsp, registrar_cli
from buzon_dev.pki import PKI, Emitido


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI.abrir(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def servidor(pki: PKI) -> Iterator[ServidorOcsp]:
    with ServidorOcsp(pki) as s:
        yield s


@pytest.fixture(scope="module")
def emitido(pki: PKI) -> Emitido:
    return pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", "XIQB891116MGRMZR05")


def _solicitud(cert: x509.Certificate, emisora: x509.Certificate, algoritmo: hashes.HashAlgorithm = hashes.SHA1(),
               nonce: bytes | None = None) -> ocsp.OCSPRequest:
    constructor = ocsp.OCSPRequestBuilder().add_certificate(cert, emisora, algoritmo)
    if nonce is not None:
        constructor = constructor.add_extension(x509.OCSPNonce(nonce), critical=False)
    return constructor.build()


def _consultar(url: str, solicitud: ocsp.OCSPRequest | bytes) -> ocsp.OCSPResponse:
    cuerpo = solicitud if isinstance(solicitud, bytes) else solicitud.public_bytes(serialization.Encoding.DER)
    r = requests.post(url, data=cuerpo, headers={"Content-Type": "application/ocsp-request"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(r.content)


def _nonce(respuesta: ocsp.OCSPResponse) -> bytes | None:
    try:
        return respuesta.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


@pytest.mark.parametrize("algoritmo", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_vigente(servidor: ServidorOcsp, pki: PKI, emitido: Emitido, algoritmo: hashes.HashAlgorithm) -> None:
    nonce = os.urandom(16)
    solicitud = _solicitud(emitido.certificado, pki.emisora, algoritmo, nonce)
    respuesta = _consultar(servidor.url, solicitud)
    assert respuesta.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert respuesta.certificate_status == ocsp.OCSPCertStatus.GOOD
    # The CertID must come back exactly as asked: clients reject a response about another certificate.
    assert respuesta.serial_number == emitido.certificado.serial_number
    assert isinstance(respuesta.hash_algorithm, type(algoritmo))
    assert respuesta.issuer_name_hash == solicitud.issuer_name_hash
    assert respuesta.issuer_key_hash == solicitud.issuer_key_hash
    assert _nonce(respuesta) == nonce
    assert respuesta.next_update_utc - respuesta.this_update_utc == dt.timedelta(hours=1)
    assert abs(respuesta.this_update_utc - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)


def test_firma_del_respondedor_delegado(servidor: ServidorOcsp, pki: PKI, emitido: Emitido) -> None:
    respuesta = _consultar(servidor.url, _solicitud(emitido.certificado, pki.emisora, nonce=os.urandom(8)))
    assert respuesta.certificates == [pki.respondedor]
    assert respuesta.responder_name == pki.respondedor.subject
    assert respuesta.responder_key_hash is None
    pki.respondedor.public_key().verify(
        respuesta.signature, respuesta.tbs_response_bytes, padding.PKCS1v15(), respuesta.signature_hash_algorithm
    )
    respondedor = respuesta.certificates[0]
    respondedor.verify_directly_issued_by(pki.emisora)
    eku = respondedor.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku


def test_sin_nonce_no_hay_nonce(servidor: ServidorOcsp, pki: PKI, emitido: Emitido) -> None:
    respuesta = _consultar(servidor.url, _solicitud(emitido.certificado, pki.emisora))
    assert respuesta.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert _nonce(respuesta) is None


@pytest.mark.parametrize("algoritmo", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_revocado_sin_reiniciar(servidor: ServidorOcsp, pki: PKI, algoritmo: hashes.HashAlgorithm) -> None:
    cert = pki.emitir("AAA010101AAA", "EMPRESA SA DE CV", rfc_representante="HEGT7610034S2")
    solicitud = _solicitud(cert.certificado, pki.emisora, algoritmo, os.urandom(16))
    assert _consultar(servidor.url, solicitud).certificate_status == ocsp.OCSPCertStatus.GOOD
    # Revoke the way `buzon-dev pki revocar` does: another PKI object over the same folder.
    PKI.abrir(pki.carpeta).revocar(cert.numero_certificado)
    respuesta = _consultar(servidor.url, solicitud)
    assert respuesta.certificate_status == ocsp.OCSPCertStatus.REVOKED
    revocado_en = pki.consultar(cert.certificado.serial_number)[1]
    assert respuesta.revocation_time_utc == revocado_en
    assert respuesta.serial_number == cert.certificado.serial_number


def test_desconocido_de_otra_pki_con_el_mismo_nombre(servidor: ServidorOcsp, tmp_path: Path) -> None:
    impostora = PKI.abrir(tmp_path / "impostora")
    falso = impostora.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", "XIQB891116MGRMZR05")
    for algoritmo in (hashes.SHA1(), hashes.SHA256()):
        nonce = os.urandom(16)
        respuesta = _consultar(servidor.url, _solicitud(falso.certificado, impostora.emisora, algoritmo, nonce))
        assert respuesta.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert respuesta.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
        assert _nonce(respuesta) == nonce


def test_desconocido_serial_no_emitido(servidor: ServidorOcsp, pki: PKI, emitido: Emitido) -> None:
    solicitud = _solicitud(emitido.certificado, pki.emisora)
    por_hash = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            solicitud.issuer_name_hash, solicitud.issuer_key_hash, int.from_bytes(b"30009000000000000000", "big"),
            hashes.SHA1(),
        )
        .build()
    )
    assert _consultar(servidor.url, por_hash).certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ni_siquiera_pide_al_emisor_correcto(servidor: ServidorOcsp, pki: PKI, emitido: Emitido) -> None:
    # Same serial, but the CertID names the root as issuer: not a certificate the issuing CA vouches for.
    solicitud = _solicitud(emitido.certificado, pki.raiz)
    assert _consultar(servidor.url, solicitud).certificate_status == ocsp.OCSPCertStatus.UNKNOWN


@pytest.mark.parametrize("cuerpo", [b"", b"no soy DER", b"\x30\x03\x02\x01\x01"], ids=["vacio", "texto", "der"])
def test_solicitud_malformada(servidor: ServidorOcsp, cuerpo: bytes) -> None:
    respuesta = _consultar(servidor.url, cuerpo)
    assert respuesta.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_get_no_permitido(servidor: ServidorOcsp) -> None:
    assert requests.get(servidor.url, timeout=10).status_code == 405


def test_cualquier_ruta(servidor: ServidorOcsp, pki: PKI, emitido: Emitido) -> None:
    respuesta = _consultar(servidor.url + "ocsp/consulta", _solicitud(emitido.certificado, pki.emisora))
    assert respuesta.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_vigencia_configurable(pki: PKI, emitido: Emitido) -> None:
    with ServidorOcsp(pki, vigencia=dt.timedelta(minutes=5)) as s:
        respuesta = _consultar(s.url, _solicitud(emitido.certificado, pki.emisora))
    assert respuesta.next_update_utc - respuesta.this_update_utc == dt.timedelta(minutes=5)
    with pytest.raises(requests.ConnectionError):
        requests.post(s.url, data=b"", timeout=2)


def test_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    parser = argparse.ArgumentParser()
    registrar_cli(parser.add_subparsers(dest="comando"))
    args = parser.parse_args(["ocsp"])
    assert (args.carpeta, args.host, args.puerto) == (f"{tmp_path}/pki", "127.0.0.1", 8101)
    assert callable(args.func)
