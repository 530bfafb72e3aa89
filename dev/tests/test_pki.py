"""La PKI de desarrollo debe emitir exactamente el perfil de SAT, comparado contra los archivos reales de prueba."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, SignatureAlgorithmOID

from buzon_dev import asn1
from buzon_dev.pki import PKI, Emitido, registrar_cli, serial_a_numero

SAT = Path(os.environ.get("BUZON_FIXTURES_SAT", "/work/shared/fixtures/sat-pruebas"))
requiere_sat = pytest.mark.skipif(not SAT.is_dir(), reason="faltan los archivos de prueba de SAT")

OID_NAME = x509.ObjectIdentifier("2.5.4.41")
IDENTIFICADORES_LLAVE = {ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.SUBJECT_KEY_IDENTIFIER}


def _sat(nombre: str) -> x509.Certificate:
    return x509.load_der_x509_certificate((SAT / nombre).read_bytes())


def _extensiones(cert: x509.Certificate) -> list[tuple[str, bool]]:
    return [(e.oid.dotted_string, e.critical) for e in cert.extensions]


def _atributos(cert: x509.Certificate) -> list[str]:
    return [a.oid.dotted_string for a in cert.subject]


def _valor(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    valores = cert.subject.get_attributes_for_oid(oid)
    return valores[0].value if valores else None


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI.abrir(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def fisica(pki: PKI) -> Emitido:
    return pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", "XIQB891116MGRMZR05", correo="pruebas@pruebas.gob.mx")


@pytest.fixture(scope="module")
def moral(pki: PKI) -> Emitido:
    return pki.emitir(
        "AAA010101AAA",
        "ACCEM SERVICIOS EMPRESARIALES SC",
        rfc_representante="HEGT7610034S2",
        curp_representante="HEGT761003MDFRNN09",
        correo="FactElect@sat.gob.mx",
    )


@pytest.fixture(scope="module")
def csd(pki: PKI) -> Emitido:
    return pki.emitir(
        "AAA010101AAA",
        "ACCEM SERVICIOS EMPRESARIALES SC",
        tipo="csd",
        rfc_representante="HEGT7610034S2",
        curp_representante="HEGT761003MDFRNN09",
    )


# -- perfil -----------------------------------------------------------------------------------------------------


@requiere_sat
def test_efirma_fisica_tiene_el_perfil_de_sat(fisica: Emitido) -> None:
    sat = _sat("fiel-fisica-XIQB891116QE4.cer")
    cert = fisica.certificado
    assert _extensiones(cert) == _extensiones(sat)
    assert _atributos(cert) == _atributos(sat)
    for clase in (x509.KeyUsage, x509.ExtendedKeyUsage, x509.BasicConstraints):
        assert cert.extensions.get_extension_for_class(clase).value == sat.extensions.get_extension_for_class(clase).value
    netscape = x509.ObjectIdentifier("2.16.840.1.113730.1.1")
    assert cert.extensions.get_extension_for_oid(netscape).value.value == sat.extensions.get_extension_for_oid(netscape).value.value
    for oid in (NameOID.COMMON_NAME, OID_NAME, NameOID.ORGANIZATION_NAME, NameOID.X500_UNIQUE_IDENTIFIER, NameOID.SERIAL_NUMBER):
        assert _valor(cert, oid) == _valor(sat, oid)
    # Same string types too: a verifier that handles SAT's PrintableString must handle ours.
    assert [a._type for a in cert.subject] == [a._type for a in sat.subject]


@requiere_sat
def test_efirma_moral_tiene_el_perfil_de_sat(moral: Emitido) -> None:
    sat = _sat("fiel-moral-AAA010101AAA.cer")
    cert = moral.certificado
    assert _extensiones(cert) == _extensiones(sat)
    assert _atributos(cert) == _atributos(sat)
    assert _valor(cert, NameOID.X500_UNIQUE_IDENTIFIER) == "AAA010101AAA / HEGT7610034S2"
    assert _valor(cert, NameOID.SERIAL_NUMBER) == " / HEGT761003MDFRNN09"
    assert _valor(cert, NameOID.ORGANIZATION_NAME) == "ACCEM SERVICIOS EMPRESARIALES SC"
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value == sat.extensions.get_extension_for_class(x509.KeyUsage).value


@requiere_sat
def test_csd_tiene_ou_y_no_eku(csd: Emitido) -> None:
    sat = _sat("csd-moral-AAA010101AAA.cer")
    cert = csd.certificado
    assert _extensiones(cert) == _extensiones(sat)
    assert _atributos(cert) == _atributos(sat)
    assert _valor(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == "CSD01_AAA010101AAA"
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value == sat.extensions.get_extension_for_class(x509.KeyUsage).value
    assert "csd" in csd.ruta_cer.name


def test_efirma_no_tiene_ou(fisica: Emitido, moral: Emitido) -> None:
    for emitido in (fisica, moral):
        assert _valor(emitido.certificado, NameOID.ORGANIZATIONAL_UNIT_NAME) is None
        eku = emitido.certificado.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]


def test_ningun_certificado_tiene_identificadores_de_llave(pki: PKI, fisica: Emitido, moral: Emitido, csd: Emitido) -> None:
    for cert in (pki.raiz, pki.emisora, pki.respondedor, fisica.certificado, moral.certificado, csd.certificado):
        assert not IDENTIFICADORES_LLAVE & {e.oid for e in cert.extensions}, cert.subject


def test_certificados_de_ac(pki: PKI) -> None:
    for ac in (pki.raiz, pki.emisora):
        assert ac.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        uso = ac.extensions.get_extension_for_class(x509.KeyUsage).value
        assert uso.key_cert_sign and uso.crl_sign
        assert "DESARROLLO" in ac.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert "DESARROLLO" in ac.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    pki.raiz.verify_directly_issued_by(pki.raiz)
    pki.emisora.verify_directly_issued_by(pki.raiz)
    # ca/ is what BUZON_SAT_CA_DIR points at: nothing but the CA certificates, in DER.
    archivos = sorted(p.name for p in pki.carpeta_ca.iterdir())
    assert archivos == ["ac-emisora.cer", "raiz.cer"]
    assert x509.load_der_x509_certificate((pki.carpeta_ca / "raiz.cer").read_bytes()) == pki.raiz
    assert x509.load_der_x509_certificate((pki.carpeta_ca / "ac-emisora.cer").read_bytes()) == pki.emisora


def test_emitido_basico(pki: PKI, fisica: Emitido) -> None:
    cert = fisica.certificado
    assert cert.version == x509.Version.v3
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert cert.issuer == pki.emisora.subject
    cert.verify_directly_issued_by(pki.emisora)
    assert fisica.cer_der == cert.public_bytes(serialization.Encoding.DER)
    assert fisica.ruta_cer.read_bytes() == fisica.cer_der
    assert fisica.ruta_key.read_bytes() == fisica.key_der
    assert fisica.ruta_cer.name == f"XIQB891116QE4-efirma-{fisica.numero_certificado}.cer"
    ahora = dt.datetime.now(dt.timezone.utc)
    assert abs(cert.not_valid_before_utc - (ahora - dt.timedelta(days=1))) < dt.timedelta(minutes=5)
    assert abs(cert.not_valid_after_utc - (ahora + dt.timedelta(days=365 * 4))) < dt.timedelta(days=2)


def test_serial_es_el_ascii_del_numero_de_certificado(fisica: Emitido) -> None:
    numero = fisica.numero_certificado
    assert len(numero) == 20 and numero.isdigit()
    assert fisica.certificado.serial_number.to_bytes(20, "big") == numero.encode("ascii")
    assert serial_a_numero(fisica.certificado.serial_number) == numero
    assert serial_a_numero(12345) is None


def test_fechas_explicitas(pki: PKI) -> None:
    antes = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    despues = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
    vencido = pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", no_antes=antes, no_despues=despues)
    assert vencido.certificado.not_valid_before_utc == antes
    assert vencido.certificado.not_valid_after_utc == despues


def test_nombre_con_acentos(pki: PKI) -> None:
    emitido = pki.emitir("MUÑJ800101AB1", "JOSÉ MUÑOZ PEÑA", "MUPJ800101HDFXXX01")
    assert _valor(emitido.certificado, NameOID.COMMON_NAME) == "JOSÉ MUÑOZ PEÑA"
    assert _valor(emitido.certificado, NameOID.X500_UNIQUE_IDENTIFIER) == "MUÑJ800101AB1"


def test_rfc_invalido(pki: PKI) -> None:
    with pytest.raises(ValueError):
        pki.emitir("ABC", "NADIE")
    with pytest.raises(ValueError):
        pki.emitir("XIQB891116QE4", "NADIE", tipo="otro")


# -- llave privada ----------------------------------------------------------------------------------------------


def test_llave_abre_con_la_contrasena_y_corresponde(fisica: Emitido) -> None:
    llave = serialization.load_der_private_key(fisica.key_der, b"12345678a")
    assert llave.public_key().public_numbers() == fisica.certificado.public_key().public_numbers()
    with pytest.raises(ValueError):
        serialization.load_der_private_key(fisica.key_der, b"otra")


def test_contrasena_propia(pki: PKI) -> None:
    emitido = pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", password="ñandú 2024")
    assert emitido.password == "ñandú 2024"
    serialization.load_der_private_key(emitido.key_der, "ñandú 2024".encode())


def _algoritmo(key_der: bytes) -> dict[str, object]:
    raiz = asn1.leer(key_der)
    algoritmo, cifrado = raiz.hijos
    pbes2_oid, pbes2 = algoritmo.hijos
    kdf, esquema = pbes2.hijos
    kdf_oid, kdf_params = kdf.hijos
    esquema_oid, iv = esquema.hijos
    return {
        "pbes2": pbes2_oid.oid,
        "kdf": kdf_oid.oid,
        # (tag, length) of each PBKDF2 parameter: salt, iterations, and nothing else (no keyLength, no PRF).
        "kdf_params": [(n.etiqueta, len(n.contenido)) for n in kdf_params.hijos],
        "iteraciones": kdf_params.hijos[1].entero,
        "cifrado": esquema_oid.oid,
        "iv": (iv.etiqueta, len(iv.contenido)),
        "datos": cifrado.etiqueta,
    }


@requiere_sat
def test_llave_con_la_estructura_de_sat(fisica: Emitido) -> None:
    nuestra = _algoritmo(fisica.key_der)
    assert nuestra == _algoritmo((SAT / "fiel-moral-AAA010101AAA.key").read_bytes())
    assert nuestra["pbes2"] == "1.2.840.113549.1.5.13"
    assert nuestra["kdf"] == "1.2.840.113549.1.5.12"
    assert nuestra["cifrado"] == "1.2.840.113549.3.7"
    assert nuestra["iteraciones"] == 2048
    assert nuestra["kdf_params"] == [(asn1.OCTET_STRING, 8), (asn1.INTEGER, 2)]


def test_asn1_ida_y_vuelta() -> None:
    for valor in (0, 1, 127, 128, 255, 2048, 2**64 + 3):
        assert asn1.leer(asn1.entero(valor)).entero == valor
    for punteado in ("1.2.840.113549.1.5.13", "2.5.4.45", "2.999.1"):
        assert asn1.leer(asn1.oid(punteado)).oid == punteado
    largo = asn1.octetos(b"x" * 70000)
    assert asn1.leer(largo).contenido == b"x" * 70000
    with pytest.raises(ValueError):
        asn1.leer(largo[:-1])


# -- persistencia y estado --------------------------------------------------------------------------------------


def test_abrir_dos_veces_conserva_la_ac(pki: PKI, fisica: Emitido) -> None:
    otra = PKI.abrir(pki.carpeta)
    assert otra.raiz == pki.raiz
    assert otra.emisora == pki.emisora
    assert otra.respondedor == pki.respondedor
    assert otra.emisora_key.public_key().public_numbers() == pki.emisora_key.public_key().public_numbers()
    assert otra.estado(fisica.certificado.serial_number) == "good"


def test_abrir_a_la_vez_crea_una_sola_ac(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as ejecutor:
        pkis = list(ejecutor.map(lambda _: PKI.abrir(tmp_path / "nueva"), range(4)))
    assert len({p.raiz.fingerprint(p.raiz.signature_hash_algorithm) for p in pkis}) == 1
    assert len({p.respondedor.serial_number for p in pkis}) == 1
    assert PKI.abrir(tmp_path / "nueva").raiz == pkis[0].raiz


def test_dos_pkis_mismos_nombres_distintas_llaves(pki: PKI, tmp_path: Path) -> None:
    impostora = PKI.abrir(tmp_path / "impostora")
    assert impostora.raiz.subject == pki.raiz.subject
    assert impostora.emisora.subject == pki.emisora.subject
    assert impostora.emisora.public_key().public_numbers() != pki.emisora.public_key().public_numbers()
    falso = impostora.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", "XIQB891116MGRMZR05")
    assert falso.certificado.issuer == pki.emisora.subject
    with pytest.raises(Exception):
        falso.certificado.verify_directly_issued_by(pki.emisora)
    assert pki.estado(falso.certificado.serial_number) == "unknown"


def test_revocar(pki: PKI) -> None:
    emitido = pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA")
    serial = emitido.certificado.serial_number
    # A second instance stands for another process (the OCSP responder) that must see the change.
    lector = PKI.abrir(pki.carpeta)
    assert lector.estado(serial) == "good"
    pki.revocar(emitido.numero_certificado)
    assert pki.estado(serial) == "revoked"
    assert lector.estado(serial) == "revoked"
    estado, fecha = lector.consultar(serial)
    assert fecha is not None and abs(fecha - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    pki.revocar(emitido.numero_certificado)  # idempotent
    assert lector.consultar(serial)[1] == fecha
    with pytest.raises(KeyError):
        pki.revocar("30009999999999999999")
    assert pki.emitidos()[emitido.numero_certificado]["revocado_en"] == fecha.isoformat()


# -- línea de comandos ------------------------------------------------------------------------------------------


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="buzon-dev")
    registrar_cli(parser.add_subparsers(dest="comando", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    carpeta = str(tmp_path / "pki")
    assert _cli("pki", "crear", "--carpeta", carpeta) == 0
    assert str(Path(carpeta) / "ca") in capsys.readouterr().out
    assert _cli(
        "pki", "emitir", "--carpeta", carpeta, "--rfc", "AAA010101AAA", "--nombre", "EMPRESA SA DE CV",
        "--rfc-representante", "HEGT7610034S2", "--curp-representante", "HEGT761003MDFRNN09", "--dias", "30",
    ) == 0
    salida = dict(linea.split(": ", 1) for linea in capsys.readouterr().out.splitlines())
    assert salida["password"] == "12345678a"
    cert = x509.load_der_x509_certificate(Path(salida["cer"]).read_bytes())
    serialization.load_der_private_key(Path(salida["key"]).read_bytes(), b"12345678a")
    assert cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) < dt.timedelta(days=31)
    numero = salida["numero_certificado"]
    assert _cli("pki", "revocar", "--carpeta", carpeta, numero) == 0
    assert PKI.abrir(carpeta).estado(cert.serial_number) == "revoked"
    capsys.readouterr()
    assert _cli("pki", "listar", "--carpeta", carpeta) == 0
    assert numero in capsys.readouterr().out
    assert _cli("pki", "revocar", "--carpeta", carpeta, "30000000000000000000") == 1
    assert _cli("pki", "emitir", "--carpeta", carpeta, "--rfc", "X", "--nombre", "N") == 2


def test_cli_carpeta_predeterminada(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    parser = argparse.ArgumentParser()
    registrar_cli(parser.add_subparsers(dest="comando"))
    assert parser.parse_args(["pki", "crear"]).carpeta == f"{tmp_path}/pki"


def test_abrir_desde_varios_procesos_a_la_vez(tmp_path: Path) -> None:
    import subprocess
    import sys

    codigo = "import sys; from buzon_dev.pki import PKI; print(PKI.abrir(sys.argv[1]).raiz.serial_number)"
    procesos = [
        subprocess.Popen([sys.executable, "-c", codigo, str(tmp_path / "compartida")], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    salidas = {p.communicate(timeout=60)[0].strip() for p in procesos}
    assert all(p.returncode == 0 for p in procesos)
    assert len(salidas) == 1
    assert str(PKI.abrir(tmp_path / "compartida").raiz.serial_number) in salidas
