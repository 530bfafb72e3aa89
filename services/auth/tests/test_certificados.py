import datetime as dt
import os
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from buzon_auth.certificados import (
    AlmacenCA, CertificadoRechazado, leer_certificado, leer_nombre, verificar_firma, verificar_perfil_efirma,
    verificar_vigencia,
)



def ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

FIELES = ["fiel-moral-AAA010101AAA.cer", "fiel-fisica-XIQB891116QE4.cer", "fiel-moral-EKU9003173C9.cer"]
CSDS = ["csd-moral-AAA010101AAA.cer", "csd-fisica-XIQB891116QE4.cer", "csd-moral-JES900109Q90.cer",
        "csd-produccion-SMA0112284B2-t61.cer"]


def leer(sat, nombre):
    return leer_certificado((sat / nombre).read_bytes())


def codigo(funcion, *args, **kwargs) -> str:
    with pytest.raises(CertificadoRechazado) as e:
        funcion(*args, **kwargs)
    assert e.value.mensaje
    return e.value.codigo


# -- real SAT files -----------------------------------------------------------------------------------------------

def test_identidad_moral_sat(sat):
    identidad = leer(sat, "fiel-moral-AAA010101AAA.cer").identidad()
    assert identidad.rfc == "AAA010101AAA"
    assert identidad.rfc_representante == "HEGT7610034S2"
    assert identidad.curp == "HEGT761003MDFRNN09"
    assert identidad.tipo_persona == "moral"
    assert identidad.nombre == "ACCEM SERVICIOS EMPRESARIALES SC"
    assert identidad.numero_certificado == "30001000000300023685"
    assert identidad.como_dict() == {
        "rfc": "AAA010101AAA", "curp": "HEGT761003MDFRNN09", "nombre": "ACCEM SERVICIOS EMPRESARIALES SC",
        "tipo_persona": "moral", "rfc_representante": "HEGT7610034S2", "numero_certificado": "30001000000300023685",
    }


def test_identidad_fisica_sat(sat):
    identidad = leer(sat, "fiel-fisica-XIQB891116QE4.cer").identidad()
    assert identidad.rfc == "XIQB891116QE4"
    assert identidad.rfc_representante is None
    assert identidad.curp == "XIQB891116MGRMZR05"
    assert identidad.tipo_persona == "fisica"
    assert identidad.nombre == "BERENICE XIMO QUEZADA"


@pytest.mark.parametrize("nombre", FIELES + CSDS)
def test_numero_certificado_es_de_20_digitos(sat, nombre):
    numero = leer(sat, nombre).identidad().numero_certificado
    assert len(numero) == 20 and numero.isdigit()


def test_sujeto_t61_latin1(sat):
    cert = leer(sat, "csd-produccion-SMA0112284B2-t61.cer")
    with pytest.raises(Exception):
        cert.certificado.subject  # the reason for the DER walk: cryptography refuses this name
    identidad = cert.identidad()
    assert "COMPAÑIA" in identidad.nombre
    assert identidad.rfc == "SMA0112284B2"
    assert identidad.tipo_persona == "moral"
    assert ("2.5.4.11", "COMPAÑIA SANTA MARIA SA DE CV") in cert.sujeto


def test_sujeto_coincide_con_cryptography(sat):
    cert = leer(sat, "fiel-fisica-XIQB891116QE4.cer")
    esperado = tuple((a.oid.dotted_string, a.value) for a in cert.certificado.subject)
    assert cert.sujeto == esperado
    assert cert.sujeto_der == cert.certificado.subject.public_bytes()
    assert cert.emisor_der == cert.certificado.issuer.public_bytes()


@pytest.mark.parametrize("nombre", FIELES)
def test_fieles_tienen_perfil_efirma(sat, nombre):
    verificar_perfil_efirma(leer(sat, nombre))


@pytest.mark.parametrize("nombre", CSDS)
def test_csd_no_es_efirma(sat, nombre):
    assert codigo(verificar_perfil_efirma, leer(sat, nombre)) == "no_es_efirma"


@pytest.mark.parametrize("nombre", FIELES + CSDS)
def test_fixtures_no_confiables_ante_ca_de_desarrollo(sat, almacen, nombre):
    assert codigo(almacen.emisor_de, leer(sat, nombre)) == "certificado_no_confiable"


@pytest.mark.parametrize("nombre", FIELES + CSDS)
def test_fixtures_vencidos_hoy(sat, nombre):
    assert codigo(verificar_vigencia, leer(sat, nombre), ahora()) == "certificado_vencido"


def test_fixture_vigente_en_su_fecha(sat):
    cert = leer(sat, "fiel-fisica-XIQB891116QE4.cer")
    verificar_vigencia(cert, dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))
    assert codigo(verificar_vigencia, cert, dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc)) == "certificado_no_vigente"


@pytest.mark.parametrize("base", ["fiel-moral-AAA010101AAA", "fiel-fisica-XIQB891116QE4", "fiel-moral-EKU9003173C9"])
def test_firma_con_la_key_de_sat(sat, base, firmar):
    cert = leer(sat, base + ".cer")
    firma = firmar((sat / (base + ".key")).read_bytes(), "reto-de-prueba".encode())
    verificar_firma(cert, b"reto-de-prueba", firma)
    assert codigo(verificar_firma, cert, b"reto-de-prueba!", firma) == "firma_invalida"
    alterada = bytes([firma[0] ^ 1]) + firma[1:]
    assert codigo(verificar_firma, cert, b"reto-de-prueba", alterada) == "firma_invalida"


def test_firma_con_otra_llave(sat, firmar):
    cert = leer(sat, "fiel-fisica-XIQB891116QE4.cer")
    firma_ajena = firmar((sat / "fiel-moral-AAA010101AAA.key").read_bytes(), b"reto")
    assert codigo(verificar_firma, cert, b"reto", firma_ajena) == "firma_invalida"
    assert codigo(verificar_firma, cert, b"reto", b"") == "firma_invalida"
    assert codigo(verificar_firma, cert, b"reto", os.urandom(256)) == "firma_invalida"


def test_pem_aceptado(sat):
    der = (sat / "fiel-fisica-XIQB891116QE4.cer").read_bytes()
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    assert leer_certificado(pem).der == der


# -- garbage ------------------------------------------------------------------------------------------------------

def _basura(sat):
    der = (sat / "fiel-fisica-XIQB891116QE4.cer").read_bytes()
    llave = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem_llave = llave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return {
        "vacio": b"",
        "aleatorio": random.Random(1).randbytes(1500),
        "ceros": b"\x00" * 64,
        "pem_de_llave": pem_llave,
        "key_de_sat": (sat / "fiel-fisica-XIQB891116QE4.key").read_bytes(),
        "truncado": der[: len(der) // 2],
        "un_byte_menos": der[:-1],
        "con_cola": der + b"\x00",
        "secuencia_vacia": b"\x30\x00",
        "longitud_indefinida": b"\x30\x80" + der[4:] + b"\x00\x00",
        "pem_truncado": pem[:200],
        "dos_pem": pem + pem,
        "texto": "no es bytes",
        "none": None,
    }


def test_basura_es_certificado_invalido(sat):
    for nombre, datos in _basura(sat).items():
        with pytest.raises(CertificadoRechazado) as e:
            leer_certificado(datos)
        assert e.value.codigo == "certificado_invalido", nombre


def test_nombre_der_mal_formado():
    from buzon_auth.certificados import NombreInvalido

    for malo in [b"", b"\x31\x00", b"\x30\x05\x31\x03\x30\x01\x06", b"\x30\x84\xff\xff\xff\xff",
                 b"\x30\x04\x31\x02\x30\x00"]:
        with pytest.raises(NombreInvalido):
            leer_nombre(malo)


def test_nombre_tipos_de_cadena():
    def atv(oid_der, tag, valor):
        seq = oid_der + bytes([tag, len(valor)]) + valor
        s = b"\x30" + bytes([len(seq)]) + seq
        return b"\x31" + bytes([len(s)]) + s

    cn = b"\x06\x03\x55\x04\x03"
    cuerpo = (atv(cn, 0x0C, "Ñandú".encode()) + atv(cn, 0x14, "Ñandú".encode("latin-1"))
              + atv(cn, 0x1E, "Ñandú".encode("utf-16-be")) + atv(cn, 0x1C, "Ñandú".encode("utf-32-be"))
              + atv(cn, 0x13, b"Nandu") + atv(cn, 0x16, b"a@b.mx"))
    nombre = b"\x30" + bytes([len(cuerpo)]) + cuerpo
    assert [v for _, v in leer_nombre(nombre)] == ["Ñandú"] * 4 + ["Nandu", "a@b.mx"]


# -- development PKI: identity and profile ------------------------------------------------------------------------

def test_identidad_pki_fisica(efirma_fisica):
    identidad = leer_certificado(efirma_fisica.cer_der).identidad()
    assert identidad.rfc == "GODE561231GR8"
    assert identidad.curp == "GODE561231HDFMZM07"
    assert identidad.nombre == "EMILIO GÓMEZ DÍAZ"
    assert identidad.tipo_persona == "fisica"
    assert identidad.rfc_representante is None
    assert identidad.numero_certificado == efirma_fisica.numero_certificado


def test_identidad_pki_moral(efirma_moral):
    identidad = leer_certificado(efirma_moral.cer_der).identidad()
    assert (identidad.rfc, identidad.rfc_representante, identidad.curp, identidad.tipo_persona) == (
        "EKU9003173C9", "XIQB891116QE4", "XIQB891116MGRMZR05", "moral")


def test_perfil_pki(efirma_fisica, csd_moral):
    verificar_perfil_efirma(leer_certificado(efirma_fisica.cer_der))
    assert codigo(verificar_perfil_efirma, leer_certificado(csd_moral.cer_der)) == "no_es_efirma"


def _certificado(sujeto: x509.Name, emisor: x509.Name, llave_publica, llave_firma, *, ca: bool,
                 serial: int | None = None, no_antes=None, no_despues=None, eku=None) -> x509.Certificate:
    momento = ahora()
    b = (x509.CertificateBuilder().subject_name(sujeto).issuer_name(emisor).public_key(llave_publica)
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(no_antes or momento - dt.timedelta(days=1))
         .not_valid_after(no_despues or momento + dt.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(llave_firma, hashes.SHA256())


def test_sin_rfc_es_certificado_invalido(pki):
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificado(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SIN RFC")]), pki.emisora.subject,
                        llave.public_key(), pki.emisora_key, ca=False, serial=int.from_bytes(b"3" * 20, "big"))
    leido = leer_certificado(cert.public_bytes(serialization.Encoding.DER))
    assert codigo(leido.identidad) == "certificado_invalido"


def test_rfc_mal_formado_es_certificado_invalido(pki):
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sujeto = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "X"),
                        x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "NO-ES-RFC")])
    cert = _certificado(sujeto, pki.emisora.subject, llave.public_key(), pki.emisora_key, ca=False,
                        serial=int.from_bytes(b"3" * 20, "big"))
    assert codigo(leer_certificado(cert.public_bytes(serialization.Encoding.DER)).identidad) == "certificado_invalido"


# -- chain --------------------------------------------------------------------------------------------------------

def test_cadena_de_la_pki(almacen, pki, efirma_fisica):
    emisor = almacen.emisor_de(leer_certificado(efirma_fisica.cer_der), ahora=ahora())
    assert emisor.public_bytes(serialization.Encoding.DER) == pki.emisora.public_bytes(serialization.Encoding.DER)


def test_ca_ajena_no_confiable(otra_pki, efirma_fisica):
    almacen_ajeno = AlmacenCA.desde_carpeta(otra_pki.carpeta_ca)
    assert codigo(almacen_ajeno.emisor_de, leer_certificado(efirma_fisica.cer_der)) == "certificado_no_confiable"


def test_impostor_con_el_mismo_nombre(pki, otra_pki, almacen):
    # Same issuer name, byte for byte, but signed with the impostor's key.
    impostor = otra_pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ", "GODE561231HDFMZM07")
    cert = leer_certificado(impostor.cer_der)
    assert cert.emisor_der == pki.emisora.subject.public_bytes()
    assert codigo(almacen.emisor_de, cert) == "certificado_no_confiable"


def test_carpeta_con_raiz_legitima_y_emisora_impostora(tmp_path, pki, otra_pki, efirma_fisica):
    der = serialization.Encoding.DER
    (tmp_path / "raiz.cer").write_bytes(pki.raiz.public_bytes(der))
    (tmp_path / "emisora.cer").write_bytes(otra_pki.emisora.public_bytes(der))
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    assert codigo(almacen.emisor_de, leer_certificado(efirma_fisica.cer_der)) == "certificado_no_confiable"


def test_emisora_impostora_firmada_por_raiz_ajena_no_pasa(tmp_path, pki, otra_pki, efirma_fisica):
    # The impostor's issuing CA carries our issuing CA's name and key but hangs from another root: when the folder
    # holds a root of that name, the chain must verify up to it.
    der = serialization.Encoding.DER
    falsa = _certificado(pki.emisora.subject, pki.raiz.subject, pki.emisora.public_key(), otra_pki.raiz_key, ca=True)
    (tmp_path / "raiz.cer").write_bytes(pki.raiz.public_bytes(der))
    (tmp_path / "emisora.cer").write_bytes(falsa.public_bytes(der))
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    assert codigo(almacen.emisor_de, leer_certificado(efirma_fisica.cer_der)) == "certificado_no_confiable"


def test_dos_emisoras_con_el_mismo_nombre(tmp_path, pki, otra_pki, efirma_fisica):
    der = serialization.Encoding.DER
    for i, p in enumerate([otra_pki, pki]):
        (tmp_path / f"raiz{i}.cer").write_bytes(p.raiz.public_bytes(der))
        (tmp_path / f"emisora{i}.cer").write_bytes(p.emisora.public_bytes(der))
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    emisor = almacen.emisor_de(leer_certificado(efirma_fisica.cer_der))
    assert emisor.public_key().public_numbers() == pki.emisora.public_key().public_numbers()


def test_carpeta_tolerante(tmp_path, pki, efirma_fisica, caplog):
    # PEM with any extension, a README, a subfolder: the certificates load, the rest is logged and skipped.
    (tmp_path / "raiz.crt").write_bytes(pki.raiz.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "emisora").write_bytes(pki.emisora.public_bytes(serialization.Encoding.DER))
    (tmp_path / "LEEME.txt").write_text("certificados del SAT")
    (tmp_path / "sub").mkdir()
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    assert len(almacen) == 2
    assert "LEEME.txt" in caplog.text
    almacen.emisor_de(leer_certificado(efirma_fisica.cer_der))


def test_sola_la_emisora_basta(tmp_path, pki, efirma_fisica):
    (tmp_path / "emisora.cer").write_bytes(pki.emisora.public_bytes(serialization.Encoding.DER))
    AlmacenCA.desde_carpeta(tmp_path).emisor_de(leer_certificado(efirma_fisica.cer_der))


def test_sola_la_raiz_no_basta(tmp_path, pki, efirma_fisica):
    (tmp_path / "raiz.cer").write_bytes(pki.raiz.public_bytes(serialization.Encoding.DER))
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    assert codigo(almacen.emisor_de, leer_certificado(efirma_fisica.cer_der)) == "certificado_no_confiable"


def test_carpeta_inexistente(tmp_path):
    with pytest.raises(FileNotFoundError):
        AlmacenCA.desde_carpeta(tmp_path / "no-existe")


def test_certificado_que_no_es_ca_no_emite(tmp_path, pki, efirma_fisica):
    # An end-entity e.firma cannot act as a CA even if someone drops it in the folder.
    llave_usuario = serialization.load_der_private_key(efirma_fisica.key_der, b"12345678a")
    hijo = _certificado(x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "GODE561231GR8")]),
                        efirma_fisica.certificado.subject, llave_usuario.public_key(), llave_usuario, ca=False)
    (tmp_path / "usuario.cer").write_bytes(efirma_fisica.cer_der)
    almacen = AlmacenCA.desde_carpeta(tmp_path)
    assert len(almacen) == 0
    assert codigo(almacen.emisor_de, leer_certificado(hijo.public_bytes(serialization.Encoding.DER))) == \
        "certificado_no_confiable"


def _pki_con_intermedia(tmp_path, no_antes, no_despues):
    llave_raiz = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    llave_inter = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    llave_final = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n_raiz = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RAIZ PRUEBA")])
    n_inter = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "INTERMEDIA PRUEBA")])
    raiz = _certificado(n_raiz, n_raiz, llave_raiz.public_key(), llave_raiz, ca=True,
                        no_despues=ahora() + dt.timedelta(days=3650))
    inter = _certificado(n_inter, n_raiz, llave_inter.public_key(), llave_raiz, ca=True,
                         no_antes=no_antes, no_despues=no_despues)
    final = _certificado(x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, "GODE561231GR8")]),
                         n_inter, llave_final.public_key(), llave_inter, ca=False,
                         serial=int.from_bytes(b"30001000000400000001", "big"))
    (tmp_path / "raiz.cer").write_bytes(raiz.public_bytes(serialization.Encoding.DER))
    (tmp_path / "inter.cer").write_bytes(inter.public_bytes(serialization.Encoding.DER))
    return AlmacenCA.desde_carpeta(tmp_path), leer_certificado(final.public_bytes(serialization.Encoding.DER))


def test_intermedia_vencida_no_confiable(tmp_path):
    almacen, cert = _pki_con_intermedia(tmp_path, ahora() - dt.timedelta(days=60), ahora() - dt.timedelta(days=1))
    assert codigo(almacen.emisor_de, cert, ahora=ahora()) == "certificado_no_confiable"
    # The same chain was fine while the intermediate was valid.
    almacen.emisor_de(cert, ahora=ahora() - dt.timedelta(days=30))


def test_intermedia_aun_no_vigente_no_confiable(tmp_path):
    almacen, cert = _pki_con_intermedia(tmp_path, ahora() + dt.timedelta(days=1), ahora() + dt.timedelta(days=60))
    assert codigo(almacen.emisor_de, cert, ahora=ahora()) == "certificado_no_confiable"


# -- validity -----------------------------------------------------------------------------------------------------

def test_vigencia(pki):
    momento = ahora()
    vencido = pki.emitir("GODE561231GR8", "X", no_antes=momento - dt.timedelta(days=30),
                         no_despues=momento - dt.timedelta(seconds=5))
    futuro = pki.emitir("GODE561231GR8", "X", no_antes=momento + dt.timedelta(days=1),
                        no_despues=momento + dt.timedelta(days=30))
    assert codigo(verificar_vigencia, leer_certificado(vencido.cer_der), momento) == "certificado_vencido"
    assert codigo(verificar_vigencia, leer_certificado(futuro.cer_der), momento) == "certificado_no_vigente"
    verificar_vigencia(leer_certificado(futuro.cer_der), momento + dt.timedelta(days=2))


def test_vigencia_exige_zona_horaria(efirma_fisica):
    with pytest.raises(ValueError):
        verificar_vigencia(leer_certificado(efirma_fisica.cer_der), dt.datetime.now())


# -- stricter profile and structure ------------------------------------------------------------------------------

OID_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
# Same length as sha256WithRSAEncryption's OID, so the surgery below keeps every DER length.
OIDS_DEBILES = {
    "sha1": (bytes.fromhex("06092a864886f70d010105"), hashes.SHA1()),
    "md5": (bytes.fromhex("06092a864886f70d010104"), hashes.MD5()),
}


def firmado_con(der: bytes, debil: str, llave_emisora) -> bytes:
    """The same certificate re-signed by its CA with a weak hash (cryptography refuses to build one)."""
    oid, algoritmo = OIDS_DEBILES[debil]
    assert der.count(OID_SHA256_RSA) == 2  # the TBS's signature field and the outer signatureAlgorithm
    cambiado = der.replace(OID_SHA256_RSA, oid)
    tbs = x509.load_der_x509_certificate(cambiado).tbs_certificate_bytes
    firma = llave_emisora.sign(tbs, padding.PKCS1v15(), algoritmo)
    assert len(firma) == 256 and cambiado.endswith(x509.load_der_x509_certificate(der).signature)
    return cambiado[:-256] + firma


def test_a_la_medida_sin_cambios_es_efirma(almacen, efirma_a_la_medida):
    # The baseline of the tests below: each differs from this one in one thing only.
    cert = leer_certificado(efirma_a_la_medida()[0])
    almacen.emisor_de(cert)
    verificar_perfil_efirma(cert)


def test_efirma_que_es_ca_no_es_efirma(efirma_a_la_medida):
    cert = leer_certificado(efirma_a_la_medida(ca=True)[0])
    assert codigo(verificar_perfil_efirma, cert) == "no_es_efirma"


@pytest.mark.parametrize("uso", [None, "sin_firma_digital", "solo_cifrado"])
def test_sin_uso_de_firma_digital_no_es_efirma(efirma_a_la_medida, uso_efirma, uso):
    usos = {None: None, "sin_firma_digital": uso_efirma(digital_signature=False),
            "solo_cifrado": uso_efirma(digital_signature=False, content_commitment=False, key_encipherment=True)}
    cert = leer_certificado(efirma_a_la_medida(uso=usos[uso])[0])
    assert codigo(verificar_perfil_efirma, cert) == "no_es_efirma"


def test_extension_critica_desconocida_es_certificado_invalido(efirma_a_la_medida):
    desconocida = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    assert codigo(leer_certificado, efirma_a_la_medida(extras=[(desconocida, True)])[0]) == "certificado_invalido"
    # Not critical, the same extension may be ignored, as RFC 5280 allows.
    verificar_perfil_efirma(leer_certificado(efirma_a_la_medida(extras=[(desconocida, False)])[0]))


def test_extensiones_conocidas_pueden_ser_criticas(pki, efirma_a_la_medida):
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    conocidas = [
        x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier("2.16.484.101.10.316.2.1"), None)]),
        x509.SubjectAlternativeName([x509.RFC822Name("persona@example.mx")]),
        x509.IssuerAlternativeName([x509.RFC822Name("ac@example.mx")]),
        x509.SubjectKeyIdentifier.from_public_key(llave.public_key()),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.emisora.public_key()),
        x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.example.mx/ac.crl")], None, None, None)]),
        x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.example.mx/"))]),
        x509.UnrecognizedExtension(x509.ObjectIdentifier("2.16.840.1.113730.1.1"), bytes.fromhex("030205a0")),
    ]
    der, _ = efirma_a_la_medida(extras=[(e, True) for e in conocidas])
    verificar_perfil_efirma(leer_certificado(der))


@pytest.mark.parametrize("debil", sorted(OIDS_DEBILES))
def test_firmado_con_hash_debil_es_certificado_invalido(pki, efirma_a_la_medida, debil):
    der = firmado_con(efirma_a_la_medida()[0], debil, pki.emisora_key)
    cert = x509.load_der_x509_certificate(der)
    assert cert.signature_hash_algorithm.name == debil
    # The CA did sign it: only the hash is wrong.
    pki.emisora.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                    cert.signature_hash_algorithm)
    assert codigo(leer_certificado, der) == "certificado_invalido"


@pytest.mark.filterwarnings("ignore:Parsed a serial number")
def test_numero_de_serie_negativo_es_certificado_invalido(efirma_fisica):
    # SAT's serial is the ASCII of 20 digits; with the top bit set the INTEGER is negative, which RFC 5280 forbids.
    der = efirma_fisica.cer_der
    serie = efirma_fisica.certificado.serial_number.to_bytes(20, "big")
    assert der.count(b"\x02\x14" + serie) == 1
    negativo = der.replace(b"\x02\x14" + serie, b"\x02\x14" + bytes([serie[0] | 0x80]) + serie[1:])
    assert codigo(leer_certificado, negativo) == "certificado_invalido"


@pytest.mark.parametrize("nombre", FIELES + CSDS)
def test_fixtures_sat_pasan_las_comprobaciones_nuevas(sat, nombre):
    # Every SAT file parses (sha256, only known extensions) and is a non-CA with digitalSignature; which of
    # them is an e.firma is still decided by OU and extendedKeyUsage alone.
    cert = leer(sat, nombre)
    assert cert.certificado.signature_hash_algorithm.name == "sha256"
    assert not cert.certificado.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.certificado.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    if nombre in FIELES:
        verificar_perfil_efirma(cert)
    else:
        assert codigo(verificar_perfil_efirma, cert) == "no_es_efirma"
