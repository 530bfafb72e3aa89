import datetime as dt
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from prometheus_client import REGISTRY

from buzon_auth.certificados import CertificadoRechazado, leer_certificado
from buzon_auth.ocsp import ClienteOcsp
from buzon_comun.config import Config
from buzon_dev.ocsp import responder


def ahora() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def codigo(cliente, cert, emisor, momento=None) -> str:
    with pytest.raises(CertificadoRechazado) as e:
        cliente.verificar(cert, emisor, momento or ahora())
    assert e.value.mensaje
    return e.value.codigo


def codigo_fresca(cliente, cert, emisor) -> str:
    with pytest.raises(CertificadoRechazado) as e:
        cliente.verificar(cert, emisor, ahora(), fresca=True)
    return e.value.codigo


@pytest.fixture
def cert(efirma_fisica):
    return leer_certificado(efirma_fisica.cer_der)


# -- with the development responder -------------------------------------------------------------------------------

def test_good(servidor_ocsp, pki, cert):
    ClienteOcsp(servidor_ocsp.url).verificar(cert, pki.emisora, ahora())


def test_revocado(servidor_ocsp, pki):
    emitido = pki.emitir("GODE561231GR8", "EMILIO GÓMEZ DÍAZ")
    cert = leer_certificado(emitido.cer_der)
    cliente = ClienteOcsp(servidor_ocsp.url)
    cliente.verificar(cert, pki.emisora, ahora())
    pki.revocar(emitido.numero_certificado)
    cliente.limpiar_cache()
    assert codigo(cliente, cert, pki.emisora) == "certificado_revocado"


def test_desconocido_para_el_respondedor(servidor_ocsp, pki, efirma_no_registrada):
    # Signed with the CA's key, but the responder has no record of it: SAT does not know it as its own.
    cert = leer_certificado(efirma_no_registrada[0])
    assert codigo(ClienteOcsp(servidor_ocsp.url), cert, pki.emisora) == "certificado_no_confiable"


def test_respondedor_de_otra_pki(servidor_ocsp, otra_pki):
    # The configured responder serves another CA: its answers, good or not, say nothing about this one.
    ajeno = leer_certificado(otra_pki.emitir("GODE561231GR8", "X").cer_der)
    assert codigo(ClienteOcsp(servidor_ocsp.url), ajeno, otra_pki.emisora) == "revocacion_no_disponible"


def test_puerto_cerrado(puerto_cerrado, pki, cert):
    assert codigo(ClienteOcsp(puerto_cerrado, timeout=1), cert, pki.emisora) == "revocacion_no_disponible"


def test_timeout(puerto_mudo, pki, cert):
    inicio = time.monotonic()
    assert codigo(ClienteOcsp(puerto_mudo, timeout=0.5), cert, pki.emisora) == "revocacion_no_disponible"
    assert time.monotonic() - inicio < 5


def test_cada_consulta_se_cuenta_por_su_resultado(servidor_ocsp, puerto_cerrado, pki, cert):
    def contadas(resultado: str) -> float:
        return REGISTRY.get_sample_value("buzon_auth_ocsp_consultas_total", {"resultado": resultado}) or 0.0

    antes = {r: contadas(r) for r in ("vigente", "revocacion_no_disponible")}
    cliente = ClienteOcsp(servidor_ocsp.url)
    cliente.verificar(cert, pki.emisora, ahora())
    cliente.verificar(cert, pki.emisora, ahora())  # from the cache: SAT was not asked
    codigo(ClienteOcsp(puerto_cerrado, timeout=1), cert, pki.emisora)
    assert {r: contadas(r) - antes[r] for r in antes} == {"vigente": 1, "revocacion_no_disponible": 1}


# -- the cache ----------------------------------------------------------------------------------------------------

def test_good_se_guarda_en_cache(ocsp_contador, pki, cert):
    cliente = ClienteOcsp(ocsp_contador.url)
    momento = ahora()
    cliente.verificar(cert, pki.emisora, momento)
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=30))
    assert len(ocsp_contador.solicitudes) == 1
    # The development responder's nextUpdate is one hour away: past it, the cache asks again.
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=61))
    assert len(ocsp_contador.solicitudes) == 2


def test_revocado_no_se_guarda(ocsp_contador, pki):
    emitido = pki.emitir("GODE561231GR8", "X")
    pki.revocar(emitido.numero_certificado)
    cert = leer_certificado(emitido.cer_der)
    cliente = ClienteOcsp(ocsp_contador.url)
    assert codigo(cliente, cert, pki.emisora) == "certificado_revocado"
    assert codigo(cliente, cert, pki.emisora) == "certificado_revocado"
    assert len(ocsp_contador.solicitudes) == 2


def test_desconocido_no_se_guarda(ocsp_contador, pki, efirma_no_registrada):
    cert = leer_certificado(efirma_no_registrada[0])
    cliente = ClienteOcsp(ocsp_contador.url)
    assert codigo(cliente, cert, pki.emisora) == "certificado_no_confiable"
    assert codigo(cliente, cert, pki.emisora) == "certificado_no_confiable"
    assert len(ocsp_contador.solicitudes) == 2


def test_cache_por_certificado_completo_no_por_serie(ocsp_contador, pki, cert):
    # A forged certificate copying issuer and serial of a cached one must not ride on its cache entry.
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    copia = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "COPIA")]))
             .issuer_name(pki.emisora.subject).public_key(llave.public_key())
             .serial_number(cert.certificado.serial_number)
             .not_valid_before(ahora() - dt.timedelta(days=1)).not_valid_after(ahora() + dt.timedelta(days=1))
             .sign(llave, hashes.SHA256()))
    falso = leer_certificado(copia.public_bytes(serialization.Encoding.DER))
    cliente = ClienteOcsp(ocsp_contador.url)
    cliente.verificar(cert, pki.emisora, ahora())
    cliente.verificar(falso, pki.emisora, ahora())
    assert len(ocsp_contador.solicitudes) == 2


def test_cache_acotada(ocsp_contador, pki, efirma_fisica, efirma_moral):
    a, b = leer_certificado(efirma_fisica.cer_der), leer_certificado(efirma_moral.cer_der)
    cliente = ClienteOcsp(ocsp_contador.url, cache_max=1)
    cliente.verificar(a, pki.emisora, ahora())
    cliente.verificar(b, pki.emisora, ahora())
    cliente.verificar(b, pki.emisora, ahora())
    assert len(ocsp_contador.solicitudes) == 2
    cliente.verificar(a, pki.emisora, ahora())  # evicted by b
    assert len(ocsp_contador.solicitudes) == 3


def test_cache_sin_next_update_dura_poco(servidor_prueba, construir_respuesta, pki, cert):
    s = servidor_prueba(lambda c: (200, construir_respuesta(
        c, llave=pki.respondedor_key, certificado_firmante=pki.respondedor, next_update=None)))
    cliente = ClienteOcsp(s.url)
    momento = ahora()
    cliente.verificar(cert, pki.emisora, momento)
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=1))
    assert len(s.solicitudes) == 1
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=10))
    assert len(s.solicitudes) == 2


def test_cache_vigencia_maxima(ocsp_contador, pki, cert):
    cliente = ClienteOcsp(ocsp_contador.url, cache_vigencia_max=dt.timedelta(minutes=2))
    momento = ahora()
    cliente.verificar(cert, pki.emisora, momento)
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=3))
    assert len(ocsp_contador.solicitudes) == 2


def _desde_config(url: str, **variables) -> ClienteOcsp:
    return ClienteOcsp.desde_config(Config.desde_entorno({"BUZON_OCSP_URL": url, **variables}))


@pytest.mark.parametrize("variables,limite_s", [({"BUZON_OCSP_CACHE_MAX_S": "120"}, 120), ({}, 300)])
def test_cache_acotada_por_configuracion_aunque_next_update_sea_despues(ocsp_contador, pki, cert, variables,
                                                                        limite_s):
    # The development responder's nextUpdate is an hour away; BUZON_OCSP_CACHE_MAX_S (default 300) wins.
    cliente = _desde_config(ocsp_contador.url, **variables)
    momento = ahora()
    cliente.verificar(cert, pki.emisora, momento)
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(seconds=limite_s - 1))
    assert len(ocsp_contador.solicitudes) == 1
    cliente.verificar(cert, pki.emisora, momento + dt.timedelta(seconds=limite_s + 1))
    assert len(ocsp_contador.solicitudes) == 2


def test_cache_cero_no_guarda_nada(ocsp_contador, pki, cert):
    cliente = _desde_config(ocsp_contador.url, BUZON_OCSP_CACHE_MAX_S="0")
    momento = ahora()
    for _ in range(3):
        cliente.verificar(cert, pki.emisora, momento)
    assert len(ocsp_contador.solicitudes) == 3
    assert len(cliente._cache) == 0


def test_respuesta_fresca_no_lee_la_cache_pero_la_renueva(ocsp_contador, pki, cert):
    cliente = ClienteOcsp(ocsp_contador.url)
    momento = ahora()
    primera = cliente.verificar(cert, pki.emisora, momento)
    fresca = cliente.verificar(cert, pki.emisora, momento, fresca=True)
    assert len(ocsp_contador.solicitudes) == 2
    assert fresca != primera  # a new answer (its own nonce), not the cached one
    assert cliente.verificar(cert, pki.emisora, momento + dt.timedelta(minutes=1)) == fresca
    assert len(ocsp_contador.solicitudes) == 2


def test_revocado_entre_dos_consultas_lo_ve_la_fresca_y_borra_el_good_guardado(ocsp_contador, pki):
    emitido = pki.emitir("GODE561231GR8", "X")
    cert = leer_certificado(emitido.cer_der)
    cliente = ClienteOcsp(ocsp_contador.url)
    cliente.verificar(cert, pki.emisora, ahora())
    pki.revocar(emitido.numero_certificado)
    cliente.verificar(cert, pki.emisora, ahora())  # within the cache's time a login still rides on the good
    assert len(ocsp_contador.solicitudes) == 1
    assert codigo_fresca(cliente, cert, pki.emisora) == "certificado_revocado"
    # Once SAT said revoked, the cached good is gone: the next login asks and is refused too.
    assert codigo(cliente, cert, pki.emisora) == "certificado_revocado"
    assert len(ocsp_contador.solicitudes) == 3


def test_fresca_sin_respondedor_no_borra_el_good_guardado(servidor_prueba, pki, cert):
    caido = {"si": False}
    s = servidor_prueba(lambda c: (503, b"") if caido["si"] else (200, responder(pki, c)[0]))
    cliente = ClienteOcsp(s.url)
    cliente.verificar(cert, pki.emisora, ahora())
    caido["si"] = True
    assert codigo_fresca(cliente, cert, pki.emisora) == "revocacion_no_disponible"
    cliente.verificar(cert, pki.emisora, ahora())
    assert len(s.solicitudes) == 2


def test_cache_con_hilos(ocsp_contador, pki, efirma_fisica, efirma_moral):
    certs = [leer_certificado(efirma_fisica.cer_der), leer_certificado(efirma_moral.cer_der)]
    cliente = ClienteOcsp(ocsp_contador.url, cache_max=1)
    errores = []

    def trabajo(i):
        try:
            for _ in range(5):
                cliente.verificar(certs[i % 2], pki.emisora, ahora())
        except Exception as e:  # pragma: no cover - reported below
            errores.append(e)

    hilos = [threading.Thread(target=trabajo, args=(i,)) for i in range(6)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join()
    assert errores == []
    assert len(cliente._cache) <= 1


# -- responses the client must not trust --------------------------------------------------------------------------

def _con(servidor_prueba, pki, construir_respuesta, **opciones):
    opciones.setdefault("llave", pki.respondedor_key)
    opciones.setdefault("certificado_firmante", pki.respondedor)
    return servidor_prueba(lambda c: (200, construir_respuesta(c, **opciones)))


def test_firmada_por_la_ca_misma(servidor_prueba, construir_respuesta, pki, cert):
    s = _con(servidor_prueba, pki, construir_respuesta, llave=pki.emisora_key, certificado_firmante=pki.emisora)
    ClienteOcsp(s.url).verificar(cert, pki.emisora, ahora())


def test_certid_sha256(servidor_prueba, construir_respuesta, pki, cert):
    s = _con(servidor_prueba, pki, construir_respuesta, algoritmo=hashes.SHA256(), emisor=pki.emisora)
    ClienteOcsp(s.url).verificar(cert, pki.emisora, ahora())


def test_respondedor_de_la_ca_impostora(servidor_prueba, construir_respuesta, pki, otra_pki, cert):
    # Same names everywhere, OCSPSigning EKU, but issued by a CA key that isn't ours.
    s = _con(servidor_prueba, pki, construir_respuesta, llave=otra_pki.respondedor_key,
             certificado_firmante=otra_pki.respondedor)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_firmada_por_llave_cualquiera(servidor_prueba, construir_respuesta, pki, cert):
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nombre = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Respondedor falso")])
    propio = (x509.CertificateBuilder().subject_name(nombre).issuer_name(nombre).public_key(llave.public_key())
              .serial_number(1).not_valid_before(ahora() - dt.timedelta(days=1))
              .not_valid_after(ahora() + dt.timedelta(days=1))
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
              .sign(llave, hashes.SHA256()))
    s = _con(servidor_prueba, pki, construir_respuesta, llave=llave, certificado_firmante=propio)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def _respondedor_emitido_por_la_ca(pki, eku, no_despues=None, nombre_emisor=None):
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Otro respondedor")]))
         .issuer_name(nombre_emisor or pki.emisora.subject).public_key(llave.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(ahora() - dt.timedelta(days=2))
         .not_valid_after(no_despues or ahora() + dt.timedelta(days=1)))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return llave, b.sign(pki.emisora_key, hashes.SHA256())


def test_respondedor_sin_eku_ocsp(servidor_prueba, construir_respuesta, pki, cert):
    for eku in (None, [ExtendedKeyUsageOID.CLIENT_AUTH]):
        llave, respondedor = _respondedor_emitido_por_la_ca(pki, eku)
        s = _con(servidor_prueba, pki, construir_respuesta, llave=llave, certificado_firmante=respondedor)
        assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_respondedor_delegado_sin_extras_se_acepta(servidor_prueba, construir_respuesta, pki, cert):
    # No key identifiers, KeyUsage or ocsp-nocheck: only the CA's signature and the OCSPSigning EKU are asked for.
    llave, respondedor = _respondedor_emitido_por_la_ca(pki, [ExtendedKeyUsageOID.OCSP_SIGNING])
    s = _con(servidor_prueba, pki, construir_respuesta, llave=llave, certificado_firmante=respondedor)
    ClienteOcsp(s.url).verificar(cert, pki.emisora, ahora())


def test_respondedor_que_nombra_otro_emisor(servidor_prueba, construir_respuesta, pki, cert):
    # The CA's key signed it, but under another name: not a certificate "issued by the CA" in RFC 6960's sense.
    llave, respondedor = _respondedor_emitido_por_la_ca(
        pki, [ExtendedKeyUsageOID.OCSP_SIGNING], nombre_emisor=pki.raiz.subject)
    s = _con(servidor_prueba, pki, construir_respuesta, llave=llave, certificado_firmante=respondedor)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_respondedor_vencido(servidor_prueba, construir_respuesta, pki, cert):
    llave, respondedor = _respondedor_emitido_por_la_ca(
        pki, [ExtendedKeyUsageOID.OCSP_SIGNING], no_despues=ahora() - dt.timedelta(days=1))
    s = _con(servidor_prueba, pki, construir_respuesta, llave=llave, certificado_firmante=respondedor)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


@pytest.mark.parametrize("nonce", [None, b"\x00" * 16, b"otro"])
def test_nonce(servidor_prueba, construir_respuesta, pki, cert, nonce):
    s = _con(servidor_prueba, pki, construir_respuesta, nonce=nonce)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_nonce_distinto_en_cada_solicitud(ocsp_contador, pki, cert):
    cliente = ClienteOcsp(ocsp_contador.url, cache_max=0)
    cliente.verificar(cert, pki.emisora, ahora())
    cliente.verificar(cert, pki.emisora, ahora())
    nonces = [ocsp.load_der_ocsp_request(s).extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
              for s in ocsp_contador.solicitudes]
    assert len(nonces) == 2 and nonces[0] != nonces[1] and len(nonces[0]) >= 16


def test_certid_de_otro_certificado(servidor_prueba, construir_respuesta, pki, cert):
    s = _con(servidor_prueba, pki, construir_respuesta, serial=cert.certificado.serial_number + 1)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_certid_de_otra_ca(servidor_prueba, construir_respuesta, pki, otra_pki, cert):
    # Same name as our issuing CA, other key: the issuerKeyHash differs.
    s = _con(servidor_prueba, pki, construir_respuesta, algoritmo=hashes.SHA1(), emisor=otra_pki.emisora)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_this_update_en_el_futuro(servidor_prueba, construir_respuesta, pki, cert):
    futuro = ahora().replace(microsecond=0) + dt.timedelta(hours=1)
    s = _con(servidor_prueba, pki, construir_respuesta, this_update=futuro, next_update=futuro + dt.timedelta(hours=1))
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_next_update_pasado(servidor_prueba, construir_respuesta, pki, cert):
    pasado = ahora().replace(microsecond=0) - dt.timedelta(hours=2)
    s = _con(servidor_prueba, pki, construir_respuesta, this_update=pasado, next_update=pasado + dt.timedelta(hours=1))
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


@pytest.mark.parametrize("estado", [ocsp.OCSPResponseStatus.TRY_LATER, ocsp.OCSPResponseStatus.INTERNAL_ERROR,
                                    ocsp.OCSPResponseStatus.UNAUTHORIZED])
def test_estado_no_exitoso(servidor_prueba, pki, cert, estado):
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(estado).public_bytes(serialization.Encoding.DER)
    s = servidor_prueba(lambda c: (200, der))
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


@pytest.mark.parametrize("respuesta", [(500, b""), (404, b"no"), (200, b""), (200, b"basura"), (302, b"")])
def test_http_o_cuerpo_malos(servidor_prueba, pki, cert, respuesta):
    s = servidor_prueba(lambda c: respuesta)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_respuesta_buena_pero_error_http(servidor_prueba, pki, cert):
    # A correct OCSP body under an HTTP error status is not an answer to trust.
    s = servidor_prueba(lambda c: (503, responder(pki, c)[0]))
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "revocacion_no_disponible"


def test_desconocido_firmado_bien(servidor_prueba, construir_respuesta, pki, cert):
    s = _con(servidor_prueba, pki, construir_respuesta, estado=ocsp.OCSPCertStatus.UNKNOWN)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "certificado_no_confiable"


def test_revocado_firmado_bien(servidor_prueba, construir_respuesta, pki, cert):
    s = _con(servidor_prueba, pki, construir_respuesta, estado=ocsp.OCSPCertStatus.REVOKED)
    assert codigo(ClienteOcsp(s.url), cert, pki.emisora) == "certificado_revocado"


def test_solicitud_bien_formada(ocsp_contador, pki, cert):
    ClienteOcsp(ocsp_contador.url).verificar(cert, pki.emisora, ahora())
    solicitud = ocsp.load_der_ocsp_request(ocsp_contador.solicitudes[0])
    assert solicitud.serial_number == cert.certificado.serial_number
    assert isinstance(solicitud.hash_algorithm, hashes.SHA1)
    h = hashes.Hash(hashes.SHA1())
    h.update(pki.emisora.subject.public_bytes())
    assert solicitud.issuer_name_hash == h.finalize()


def test_exige_zona_horaria(servidor_ocsp, pki, cert):
    with pytest.raises(ValueError):
        ClienteOcsp(servidor_ocsp.url).verificar(cert, pki.emisora, dt.datetime.now())
