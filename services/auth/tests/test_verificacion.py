"""The whole e.firma check through `verificar_efirma`, and the order of its steps (API.md, "Session")."""
import datetime as dt
import os
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from buzon_auth.certificados import AlmacenCA, CertificadoRechazado, Identidad, leer_certificado
from buzon_auth.ocsp import ClienteOcsp
from buzon_auth.verificacion import verificar_efirma

RETO = "dGhpcyBpcyBhIHJldG8gZGUgcHJ1ZWJh".encode()


def ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def verificar(der, firma, almacen, url, datos=RETO, momento=None, rfc_esperado=None, **opciones):
    return verificar_efirma(der, datos, firma, ahora=momento or ahora(), almacen=almacen,
                            ocsp=ClienteOcsp(url, **opciones), rfc_esperado=rfc_esperado).identidad


def codigo(*args, **kwargs) -> str:
    with pytest.raises(CertificadoRechazado) as e:
        verificar(*args, **kwargs)
    assert e.value.mensaje
    return e.value.codigo


@pytest.fixture(scope="module")
def vencido(pki):
    momento = ahora()
    return pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ", "GODE561231HDFMZM07",
                      no_antes=momento - dt.timedelta(days=400), no_despues=momento - dt.timedelta(days=1))


@pytest.fixture(scope="module")
def csd_vencido(pki):
    momento = ahora()
    return pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ", tipo="csd",
                      no_antes=momento - dt.timedelta(days=400), no_despues=momento - dt.timedelta(days=1))


# -- the happy paths ----------------------------------------------------------------------------------------------

def test_efirma_fisica_valida(efirma_fisica, almacen, servidor_ocsp, firmar):
    identidad = verificar(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, servidor_ocsp.url)
    assert isinstance(identidad, Identidad)
    assert identidad.como_dict() == {
        "rfc": "GODE561231GR8", "curp": "GODE561231HDFMZM07", "nombre": "EMILIO GÓMEZ DÍAZ",
        "tipo_persona": "fisica", "rfc_representante": None,
        "numero_certificado": efirma_fisica.numero_certificado,
    }


def test_efirma_moral_valida(efirma_moral, almacen, servidor_ocsp, firmar):
    identidad = verificar(efirma_moral.cer_der, firmar(efirma_moral.key_der, RETO), almacen, servidor_ocsp.url)
    assert identidad.como_dict() == {
        "rfc": "EKU9003173C9", "curp": "XIQB891116MGRMZR05", "nombre": "ESCUELA KEMPER URGATE SA DE CV",
        "tipo_persona": "moral", "rfc_representante": "XIQB891116QE4",
        "numero_certificado": efirma_moral.numero_certificado,
    }


def test_acepta_pem(efirma_fisica, almacen, servidor_ocsp, firmar):
    from cryptography.hazmat.primitives import serialization

    pem = efirma_fisica.certificado.public_bytes(serialization.Encoding.PEM)
    assert verificar(pem, firmar(efirma_fisica.key_der, RETO), almacen, servidor_ocsp.url).rfc == "GODE561231GR8"


# -- each refusal -------------------------------------------------------------------------------------------------

def test_vencido(vencido, almacen, servidor_ocsp, firmar):
    assert codigo(vencido.cer_der, firmar(vencido.key_der, RETO), almacen, servidor_ocsp.url) == "certificado_vencido"


def test_aun_no_vigente(pki, almacen, servidor_ocsp, firmar):
    momento = ahora()
    futuro = pki.emitir("GODE561231GR8", "X", no_antes=momento + dt.timedelta(days=2),
                        no_despues=momento + dt.timedelta(days=40))
    assert codigo(futuro.cer_der, firmar(futuro.key_der, RETO), almacen, servidor_ocsp.url) == "certificado_no_vigente"


def test_revocado(pki, almacen, servidor_ocsp, firmar):
    emitido = pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ")
    firma = firmar(emitido.key_der, RETO)
    verificar(emitido.cer_der, firma, almacen, servidor_ocsp.url)
    pki.revocar(emitido.numero_certificado)
    assert codigo(emitido.cer_der, firma, almacen, servidor_ocsp.url) == "certificado_revocado"


def test_desconocido_para_ocsp(efirma_no_registrada, almacen, servidor_ocsp):
    der, llave = efirma_no_registrada
    firma = llave.sign(RETO, padding.PKCS1v15(), hashes.SHA256())
    assert codigo(der, firma, almacen, servidor_ocsp.url) == "certificado_no_confiable"


def test_csd(csd_moral, almacen, servidor_ocsp, firmar):
    assert codigo(csd_moral.cer_der, firmar(csd_moral.key_der, RETO), almacen, servidor_ocsp.url) == "no_es_efirma"


def test_ca_no_configurada(otra_pki, servidor_ocsp, firmar, efirma_fisica):
    almacen_ajeno = AlmacenCA.desde_carpeta(otra_pki.carpeta_ca)
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen_ajeno,
                  servidor_ocsp.url) == "certificado_no_confiable"


def test_ca_impostora_con_el_mismo_nombre(otra_pki, almacen, servidor_ocsp, firmar):
    impostor = otra_pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ", "GODE561231HDFMZM07")
    assert codigo(impostor.cer_der, firmar(impostor.key_der, RETO), almacen, servidor_ocsp.url) == \
        "certificado_no_confiable"


def test_firma_equivocada(efirma_fisica, efirma_moral, almacen, servidor_ocsp, firmar):
    der = efirma_fisica.cer_der
    assert codigo(der, firmar(efirma_fisica.key_der, b"otro reto"), almacen, servidor_ocsp.url) == "firma_invalida"
    assert codigo(der, firmar(efirma_moral.key_der, RETO), almacen, servidor_ocsp.url) == "firma_invalida"
    assert codigo(der, b"", almacen, servidor_ocsp.url) == "firma_invalida"
    assert codigo(der, os.urandom(256), almacen, servidor_ocsp.url) == "firma_invalida"


@pytest.mark.parametrize("basura", [
    b"", b"\x00", random.Random(7).randbytes(800), b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
], ids=["vacio", "un_byte", "aleatorio", "pem_roto"])
def test_basura(basura, almacen, ocsp_contador):
    assert codigo(basura, b"x" * 256, almacen, ocsp_contador.url) == "certificado_invalido"
    assert ocsp_contador.solicitudes == []


def test_certificado_truncado(efirma_fisica, almacen, ocsp_contador, firmar):
    der = efirma_fisica.cer_der
    assert codigo(der[:-20], firmar(efirma_fisica.key_der, RETO), almacen, ocsp_contador.url) == "certificado_invalido"
    assert ocsp_contador.solicitudes == []


def test_ocsp_caido(efirma_fisica, almacen, puerto_cerrado, firmar):
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, puerto_cerrado,
                  timeout=1) == "revocacion_no_disponible"


def test_ocsp_sin_respuesta(efirma_fisica, almacen, puerto_mudo, firmar):
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, puerto_mudo,
                  timeout=0.5) == "revocacion_no_disponible"


def test_ocsp_firmado_por_quien_no_es(efirma_fisica, almacen, otra_pki, servidor_prueba, construir_respuesta,
                                      firmar):
    s = servidor_prueba(lambda c: (200, construir_respuesta(
        c, llave=otra_pki.respondedor_key, certificado_firmante=otra_pki.respondedor)))
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, s.url) == \
        "revocacion_no_disponible"


def test_ocsp_nonce_distinto(efirma_fisica, almacen, pki, servidor_prueba, construir_respuesta, firmar):
    s = servidor_prueba(lambda c: (200, construir_respuesta(
        c, llave=pki.respondedor_key, certificado_firmante=pki.respondedor, nonce=os.urandom(16))))
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, s.url) == \
        "revocacion_no_disponible"


# -- the order ----------------------------------------------------------------------------------------------------

def test_orden_vencido_antes_que_perfil_y_firma(csd_vencido, almacen, ocsp_contador):
    # An expired CSD with a bad signature fails three checks; validity comes first.
    assert codigo(csd_vencido.cer_der, b"mala", almacen, ocsp_contador.url) == "certificado_vencido"
    assert ocsp_contador.solicitudes == []


def test_orden_cadena_antes_que_vigencia(otra_pki, almacen, ocsp_contador):
    momento = ahora()
    ajeno_vencido = otra_pki.emitir("GODE561231GR8", "X", tipo="csd", no_antes=momento - dt.timedelta(days=10),
                                    no_despues=momento - dt.timedelta(days=1))
    assert codigo(ajeno_vencido.cer_der, b"mala", almacen, ocsp_contador.url) == "certificado_no_confiable"


def test_orden_fixture_sat_no_confiable_antes_que_vencido(sat, almacen, ocsp_contador):
    der = (sat / "csd-moral-AAA010101AAA.cer").read_bytes()
    assert codigo(der, b"mala", almacen, ocsp_contador.url) == "certificado_no_confiable"


def test_orden_perfil_antes_que_firma(csd_moral, almacen, ocsp_contador):
    assert codigo(csd_moral.cer_der, b"mala", almacen, ocsp_contador.url) == "no_es_efirma"
    assert ocsp_contador.solicitudes == []


def test_orden_perfil_estricto_antes_que_firma(efirma_a_la_medida, uso_efirma, almacen, ocsp_contador):
    # Issued by the trusted CA and within its dates: only the profile is wrong, found before the signature.
    for cambios in ({"ca": True}, {"uso": None}, {"uso": uso_efirma(digital_signature=False)}):
        der, _ = efirma_a_la_medida(**cambios)
        assert codigo(der, b"mala", almacen, ocsp_contador.url) == "no_es_efirma", cambios
    assert ocsp_contador.solicitudes == []


def test_efirma_de_ca_con_firma_buena_no_es_efirma(efirma_a_la_medida, almacen, ocsp_contador):
    der, llave = efirma_a_la_medida(ca=True)
    firma = llave.sign(RETO, padding.PKCS1v15(), hashes.SHA256())
    assert codigo(der, firma, almacen, ocsp_contador.url) == "no_es_efirma"
    assert ocsp_contador.solicitudes == []


def test_orden_extension_critica_desconocida_es_lectura(efirma_a_la_medida, otra_pki, ocsp_contador):
    # Refused when parsing, before the chain: even a store that does not trust the CA answers certificado_invalido.
    from cryptography import x509

    desconocida = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    der, llave = efirma_a_la_medida(extras=[(desconocida, True)])
    firma = llave.sign(RETO, padding.PKCS1v15(), hashes.SHA256())
    almacen_ajeno = AlmacenCA.desde_carpeta(otra_pki.carpeta_ca)
    assert codigo(der, firma, almacen_ajeno, ocsp_contador.url) == "certificado_invalido"
    assert ocsp_contador.solicitudes == []


def test_firma_mala_nunca_consulta_ocsp(efirma_fisica, almacen, ocsp_contador, firmar):
    assert codigo(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, b"otro"), almacen,
                  ocsp_contador.url) == "firma_invalida"
    assert ocsp_contador.solicitudes == []


def test_revocado_con_firma_mala_es_firma_invalida(pki, almacen, ocsp_contador):
    emitido = pki.emitir("GODE561231GR8", "X")
    pki.revocar(emitido.numero_certificado)
    assert codigo(emitido.cer_der, b"mala", almacen, ocsp_contador.url) == "firma_invalida"
    assert ocsp_contador.solicitudes == []


def test_valido_consulta_ocsp_una_vez_y_usa_cache(efirma_fisica, almacen, ocsp_contador, firmar):
    cliente = ClienteOcsp(ocsp_contador.url)
    firma = firmar(efirma_fisica.key_der, RETO)
    for _ in range(3):
        verificar_efirma(efirma_fisica.cer_der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=cliente)
    assert len(ocsp_contador.solicitudes) == 1


def test_ocsp_fresca_consulta_siempre(efirma_fisica, almacen, ocsp_contador, firmar):
    cliente = ClienteOcsp(ocsp_contador.url)
    firma = firmar(efirma_fisica.key_der, RETO)
    verificar_efirma(efirma_fisica.cer_der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=cliente)
    for _ in range(2):
        verificar_efirma(efirma_fisica.cer_der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=cliente,
                         ocsp_fresca=True)
    assert len(ocsp_contador.solicitudes) == 3


def test_exige_zona_horaria(efirma_fisica, almacen, servidor_ocsp, firmar):
    with pytest.raises(ValueError):
        verificar(efirma_fisica.cer_der, firmar(efirma_fisica.key_der, RETO), almacen, servidor_ocsp.url,
                  momento=dt.datetime.now())


def test_the_signer_must_be_the_expected_rfc_and_that_is_known_before_asking_ocsp(
        efirma_fisica, almacen, firmar, ocsp_contador):
    with pytest.raises(CertificadoRechazado) as e:
        verificar_efirma(efirma_fisica.cer_der, RETO, firmar(efirma_fisica.key_der, RETO), ahora=ahora(),
                         almacen=almacen, ocsp=ClienteOcsp(ocsp_contador.url), rfc_esperado="EDE0101013A2")
    assert e.value.codigo == "certificado_ajeno"
    assert ocsp_contador.solicitudes == []


def test_the_responders_signed_answer_is_kept_as_evidence_even_from_the_cache(efirma_fisica, almacen, firmar,
                                                                             servidor_ocsp):
    from cryptography.x509 import ocsp as ocsp_x509

    cliente = ClienteOcsp(servidor_ocsp.url)
    firma = firmar(efirma_fisica.key_der, RETO)
    rfc = leer_certificado(efirma_fisica.cer_der).identidad().rfc
    primera = verificar_efirma(efirma_fisica.cer_der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=cliente,
                               rfc_esperado=rfc)
    respuesta = ocsp_x509.load_der_ocsp_response(primera.ocsp_der)
    assert respuesta.certificate_status == ocsp_x509.OCSPCertStatus.GOOD
    assert respuesta.serial_number == efirma_fisica.certificado.serial_number
    segunda = verificar_efirma(efirma_fisica.cer_der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=cliente)
    assert segunda.ocsp_der == primera.ocsp_der

