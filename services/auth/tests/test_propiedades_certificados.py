"""Property tests of the certificate parser: whatever bytes arrive, only the contract's refusals come out.

The inputs are real certificates (SAT's test files and the development PKI's) mutated the way a careless or
hostile client would: bit flips, truncations, insertions, deletions, random bytes, and edits of the DER length
bytes, which is where parsers usually break. Every later check runs on whatever still parses, so a field that
parses but is odd cannot surface as an unexpected exception in a later step either.
"""
import base64
import datetime as dt

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from buzon_auth.certificados import (
    CertificadoRechazado, NombreInvalido, leer_certificado, leer_nombre, nombres_tbs, verificar_firma,
    verificar_perfil_efirma, verificar_vigencia,
)
from buzon_auth.verificacion import verificar_efirma

ARCHIVOS_SAT = ["fiel-moral-AAA010101AAA.cer", "fiel-fisica-XIQB891116QE4.cer", "fiel-moral-EKU9003173C9.cer",
                "csd-moral-AAA010101AAA.cer", "csd-fisica-XIQB891116QE4.cer", "csd-moral-JES900109Q90.cer",
                "csd-produccion-SMA0112284B2-t61.cer"]
RETO = b"reto-de-prueba-de-propiedades"

# Mutations make negative serials, which `cryptography` parses with a deprecation warning (and we refuse).
pytestmark = pytest.mark.filterwarnings("ignore:Parsed a serial number")

# Each property is bounded, so that the whole file stays a few seconds; the example database is off so that a
# run leaves no .hypothesis folder in the tree (a failure prints its example, which is what to keep as a test).
ACOTADO = settings(max_examples=300, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CODIGOS_LOCALES = {"certificado_invalido", "certificado_no_confiable", "certificado_vencido",
                   "certificado_no_vigente", "no_es_efirma", "firma_invalida"}


def ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- mutations ----------------------------------------------------------------------------------------------------

def elementos(der: bytes, inicio: int = 0, fin: int | None = None, profundidad: int = 0) -> list[tuple]:
    """(tag position, length position, content start, content end, constructed) of every element, walking into
    constructed ones."""
    fin = len(der) if fin is None else fin
    encontrados = []
    pos = inicio
    while pos + 1 < fin and profundidad < 12:
        tag, p = der[pos], pos + 1
        largo = der[p]
        p += 1
        if largo & 0x80:
            n = largo & 0x7F
            if n == 0 or n > 4 or p + n > fin:
                break
            largo = int.from_bytes(der[p:p + n], "big")
            p += n
        if p + largo > fin:
            break
        construido = bool(tag & 0x20)
        encontrados.append((pos, pos + 1, p, p + largo, construido))
        if construido:
            encontrados += elementos(der, p, p + largo, profundidad + 1)
        pos = p + largo
    return encontrados


LONGITUDES_RARAS = [b"\x00", b"\x7f", b"\x80", b"\x81\x00", b"\x81\xff", b"\x82\xff\xff", b"\x84\xff\xff\xff\xff",
                    b"\x85\x01\x00\x00\x00\x00", b"\x89" + b"\xff" * 9]
# Universal tags a field could be mislabelled with: the string types of names (UTF8, Printable, T61, IA5, BMP,
# Universal), and INTEGER, BIT STRING, OCTET STRING, NULL, OID, UTCTime, GeneralizedTime, BOOLEAN.
TAGS = [0x0C, 0x13, 0x14, 0x16, 0x1E, 0x1C, 0x02, 0x03, 0x04, 0x05, 0x06, 0x17, 0x18, 0x01, 0x30, 0x31, 0xA0, 0xA3]


@st.composite
def mutado(draw, bases: list[bytes]) -> bytes:
    datos = bytearray(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        operacion = draw(st.sampled_from(["bit", "truncar", "insertar", "borrar", "reemplazar", "longitud",
                                          "contenido", "contenido", "etiqueta"]))
        if not datos:
            datos += draw(st.binary(min_size=1, max_size=8))
            continue
        i = draw(st.integers(0, len(datos) - 1))
        if operacion == "bit":
            datos[i] ^= 1 << draw(st.integers(0, 7))
        elif operacion == "truncar":
            del datos[i:]
        elif operacion == "insertar":
            datos[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif operacion == "borrar":
            del datos[i:i + draw(st.integers(1, 64))]
        elif operacion == "reemplazar":
            trozo = draw(st.binary(min_size=1, max_size=64))
            datos[i:i + len(trozo)] = trozo
        else:
            todos = elementos(bytes(datos))
            if operacion == "contenido":
                # Inside one primitive value, lengths intact: the DER still parses and the field is odd.
                todos = [e for e in todos if not e[4] and e[3] > e[2]]
            if not todos:
                continue
            etiqueta, longitud, ini, fin, _ = draw(st.sampled_from(todos))
            if operacion == "contenido":
                j = draw(st.integers(ini, fin - 1))
                datos[j] = draw(st.sampled_from([datos[j] ^ 0x01, datos[j] ^ 0x80, 0x00, 0xFF, 0x2F, 0x20]))
            elif operacion == "etiqueta":
                datos[etiqueta] = draw(st.sampled_from(TAGS))
            elif draw(st.booleans()):
                # A length one off either way: the element overlaps its neighbour or leaves a gap.
                datos[longitud] = (datos[longitud] + draw(st.sampled_from([1, 255]))) % 256
            else:
                datos[longitud:longitud + 1] = draw(st.sampled_from(LONGITUDES_RARAS))
    return bytes(datos)


def entradas(bases: list[bytes]):
    """Mutated certificates, mostly; sometimes plain random bytes or a DER header over random bytes."""
    return st.one_of(
        mutado(bases),
        mutado(bases),
        mutado(bases),
        st.binary(max_size=2048),
        st.builds(lambda cabecera, resto: cabecera + resto,
                  st.sampled_from([b"\x30\x82\x05\xd0", b"\x30\x80", b"\x30\x84\xff\xff\xff\xff", b"\x30"]),
                  st.binary(max_size=512)),
    )


def pem(der: bytes) -> bytes:
    cuerpo = base64.encodebytes(der).replace(b"\n", b"")
    lineas = [cuerpo[i:i + 64] for i in range(0, len(cuerpo), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lineas) + b"\n-----END CERTIFICATE-----\n"


# -- the bases ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bases(sat, efirma_fisica, efirma_moral, csd_moral) -> list[bytes]:
    return [(sat / nombre).read_bytes() for nombre in ARCHIVOS_SAT] + [
        efirma_fisica.cer_der, efirma_moral.cer_der, csd_moral.cer_der]


@pytest.fixture(scope="module")
def firmas(efirma_fisica, efirma_moral, csd_moral, firmar) -> dict[bytes, bytes]:
    """A good signature over RETO for each development certificate, so that an unaltered one passes."""
    return {e.cer_der: firmar(e.key_der, RETO) for e in (efirma_fisica, efirma_moral, csd_moral)}


def rechazo_local(funcion, *args) -> None:
    """Run one check; anything but a local refusal fails the property."""
    try:
        funcion(*args)
    except CertificadoRechazado as e:
        assert e.codigo in CODIGOS_LOCALES, e.codigo
        assert e.mensaje


# -- properties ---------------------------------------------------------------------------------------------------

def test_las_mutaciones_alcanzan_los_elementos_anidados(bases):
    # The edits of lengths, tags and contents must reach the nested elements (names, extensions, the key), not
    # only the outer SEQUENCE.
    for der in bases:
        assert len(elementos(der)) > 60


def leer_y_comprobar(datos: bytes, almacen) -> None:
    try:
        cert = leer_certificado(datos)
    except CertificadoRechazado as e:
        assert e.codigo == "certificado_invalido"
        assert e.mensaje
        event("no se lee")
        return
    event("se lee")
    # It parsed: every later local step may refuse it, never fail otherwise.
    momento = ahora()
    rechazo_local(almacen.emisor_de, cert, momento)
    rechazo_local(verificar_vigencia, cert, momento)
    rechazo_local(verificar_perfil_efirma, cert)
    rechazo_local(verificar_firma, cert, RETO, b"\x00" * 256)
    rechazo_local(cert.identidad)


@ACOTADO
@given(datos=st.data())
def test_leer_certificado_solo_rechaza(bases, almacen, datos):
    leer_y_comprobar(datos.draw(entradas(bases)), almacen)


@ACOTADO
@given(datos=st.data())
def test_leer_certificado_pem_mutado_solo_rechaza(bases, almacen, datos):
    leer_y_comprobar(datos.draw(mutado([pem(d) for d in bases])), almacen)


class OcspQueNoDebeLlamarse:
    """The revocation check, reached only by a certificate whose signed part is exactly one the CA issued."""

    def __init__(self, bases: list[bytes]):
        from cryptography import x509

        self.firmados = {x509.load_der_x509_certificate(d).tbs_certificate_bytes for d in bases}
        self.llamadas = 0

    def verificar(self, cert, emisor, momento, *, fresca=False) -> bytes:
        if cert.certificado.tbs_certificate_bytes not in self.firmados:
            pytest.fail("OCSP consultado por un certificado alterado")
        self.llamadas += 1
        return b"respuesta-ocsp"


@ACOTADO
@given(datos=st.data())
def test_verificar_efirma_solo_rechaza_y_nunca_consulta_ocsp_por_basura(bases, firmas, almacen, datos):
    base = datos.draw(st.sampled_from(bases))
    der = datos.draw(entradas([base]))
    ocsp = OcspQueNoDebeLlamarse(bases)
    firma = firmas.get(base, b"\x00" * 256)
    try:
        verificacion = verificar_efirma(der, RETO, firma, ahora=ahora(), almacen=almacen, ocsp=ocsp)
    except CertificadoRechazado as e:
        assert e.codigo in CODIGOS_LOCALES, e.codigo
        assert ocsp.llamadas == 0
        event(e.codigo)
        return
    event("llega a OCSP")
    assert ocsp.llamadas == 1 and verificacion.ocsp_der == b"respuesta-ocsp"


def test_el_original_si_llega_a_ocsp(bases, firmas, almacen, efirma_fisica):
    # The property above is only worth something if an unaltered certificate does get through.
    ocsp = OcspQueNoDebeLlamarse(bases)
    verificar_efirma(efirma_fisica.cer_der, RETO, firmas[efirma_fisica.cer_der], ahora=ahora(), almacen=almacen,
                     ocsp=ocsp)
    assert ocsp.llamadas == 1


@pytest.fixture(scope="module")
def nombres(bases) -> list[bytes]:
    from cryptography import x509

    resultado = []
    for der in bases:
        emisor, sujeto = nombres_tbs(x509.load_der_x509_certificate(der).tbs_certificate_bytes)
        resultado += [emisor, sujeto]
    return resultado


@ACOTADO
@given(datos=st.data())
def test_leer_nombre_solo_lanza_nombre_invalido(nombres, datos):
    nombre = datos.draw(st.one_of(mutado(nombres), st.binary(max_size=512)))
    try:
        pares = leer_nombre(nombre)
    except NombreInvalido:
        event("no se lee")
        return
    event("se lee")
    assert all(isinstance(oid, str) and isinstance(texto, str) for oid, texto in pares)


@ACOTADO
@given(datos=st.data())
def test_nombres_tbs_solo_lanza_nombre_invalido(bases, datos):
    from cryptography import x509

    tbs = [x509.load_der_x509_certificate(d).tbs_certificate_bytes for d in bases]
    entrada = datos.draw(st.one_of(mutado(tbs), st.binary(max_size=512)))
    try:
        emisor, sujeto = nombres_tbs(entrada)
    except NombreInvalido:
        return
    assert emisor[:1] == sujeto[:1] == b"\x30"
