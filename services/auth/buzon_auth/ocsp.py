"""OCSP client (RFC 6960 over HTTP POST) for SAT's responder, with a cache of "good" answers.

Fails closed: any answer that cannot be trusted is `revocacion_no_disponible`, never an acceptance.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

import requests
from cryptography import x509
from prometheus_client import Counter
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from buzon_comun.config import Config

from .certificados import (
    CertificadoRechazado, CertificadoSat, nombres_tbs, clave_publica_bits, verificar_firma_emitida,
)

logger = logging.getLogger(__name__)

CONSULTAS = Counter("buzon_auth_ocsp_consultas_total",
                    "Questions to SAT's OCSP responder (the cache's answers are not counted), by outcome: vigente, "
                    "certificado_revocado, certificado_no_confiable (unknown to SAT), revocacion_no_disponible (no "
                    "answer, an error or an answer that could not be trusted).",
                    ["resultado"])

__all__ = ["ClienteOcsp"]

# Clocks of the responder and ours drift; a few minutes is what OCSP clients customarily allow.
_DESFASE = timedelta(minutes=5)
# How long a "good" without nextUpdate is reused: short, so that a revocation is seen soon.
_VIGENCIA_SIN_NEXT_UPDATE = timedelta(minutes=5)


def _no_disponible(detalle: str) -> CertificadoRechazado:
    logger.warning("OCSP no disponible o respuesta no confiable: %s", detalle)
    return CertificadoRechazado(
        "revocacion_no_disponible",
        "No fue posible confirmar con el SAT que el certificado no está revocado. Intenta más tarde.",
    )


def _verificar_firma_respuesta(respuesta: ocsp.OCSPResponse, clave) -> bool:
    try:
        datos, firma = respuesta.tbs_response_bytes, respuesta.signature
        if isinstance(clave, rsa.RSAPublicKey):
            clave.verify(firma, datos, padding.PKCS1v15(), respuesta.signature_hash_algorithm)
        elif isinstance(clave, ec.EllipticCurvePublicKey):
            clave.verify(firma, datos, ec.ECDSA(respuesta.signature_hash_algorithm))
        elif isinstance(clave, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            clave.verify(firma, datos)
        else:
            return False
        return True
    except Exception:
        return False


def _es_respondedor_delegado(candidato: x509.Certificate, emisor: x509.Certificate, emisor_sujeto_der: bytes,
                              ahora: datetime) -> bool:
    """A responder certificate that the CA itself issued for OCSP signing (RFC 6960 §4.2.2.2)."""
    try:
        emisor_del_candidato, _ = nombres_tbs(candidato.tbs_certificate_bytes)
        if emisor_del_candidato != emisor_sujeto_der:
            return False
        if not verificar_firma_emitida(candidato, emisor.public_key()):
            return False
        eku = candidato.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            return False
        return candidato.not_valid_before_utc - _DESFASE <= ahora <= candidato.not_valid_after_utc + _DESFASE
    except Exception:
        return False


class ClienteOcsp:
    def __init__(self, url: str, timeout: float = 5.0, cache_max: int = 10000,
                 cache_vigencia_max: timedelta | None = None):
        """`cache_vigencia_max`, when given, caps how long a "good" is reused even if nextUpdate is later."""
        self.url = url
        self.timeout = timeout
        self.cache_max = cache_max
        self.cache_vigencia_max = cache_vigencia_max
        self._cache: OrderedDict[bytes, tuple[datetime, bytes]] = OrderedDict()
        # No I/O ever happens while holding it, so a plain lock cannot stall other (green) threads.
        self._candado = threading.Lock()

    @classmethod
    def desde_config(cls, config: Config) -> "ClienteOcsp":
        """The client of BUZON_OCSP_URL: a good answer is reused at most BUZON_OCSP_CACHE_MAX_S (0: never)."""
        return cls(config.ocsp_url, timeout=config.ocsp_timeout_s,
                   cache_vigencia_max=timedelta(seconds=config.ocsp_cache_max_s))

    # -- cache ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _llave(cert: CertificadoSat) -> bytes:
        # The whole certificate, never issuer + serial: a forged certificate can copy both.
        return hashlib.sha256(cert.der).digest()

    def _en_cache(self, llave: bytes, ahora: datetime) -> bytes | None:
        """The cached "good" response for this certificate, if still within its time."""
        with self._candado:
            guardada = self._cache.get(llave)
            if guardada is None:
                return None
            hasta, respuesta_der = guardada
            if ahora >= hasta:
                del self._cache[llave]
                return None
            self._cache.move_to_end(llave)
            return respuesta_der

    def _guardar(self, llave: bytes, hasta: datetime, respuesta_der: bytes) -> None:
        if self.cache_max <= 0:
            return
        with self._candado:
            self._cache[llave] = (hasta, respuesta_der)
            self._cache.move_to_end(llave)
            while len(self._cache) > self.cache_max:
                self._cache.popitem(last=False)

    def _olvidar(self, llave: bytes) -> None:
        with self._candado:
            self._cache.pop(llave, None)

    def limpiar_cache(self) -> None:
        with self._candado:
            self._cache.clear()

    # -- check ---------------------------------------------------------------------------------------------------

    def verificar(self, cert: CertificadoSat, emisor: x509.Certificate, ahora: datetime, *,
                  fresca: bool = False) -> bytes:
        """The responder's signed GOOD answer (DER), kept as evidence; `CertificadoRechazado` otherwise.

        `fresca` asks the responder whatever the cache holds (a legal act must rest on the status at its moment);
        the fresh answer still refreshes the cache for later logins.
        """
        if ahora.tzinfo is None:
            raise ValueError("ahora debe tener zona horaria")
        llave = self._llave(cert)
        if not fresca:
            guardada = self._en_cache(llave, ahora)
            if guardada is not None:
                return guardada
        try:
            hasta, respuesta_der = self._consultar(cert, emisor, ahora)
        except CertificadoRechazado as rechazo:
            CONSULTAS.labels(rechazo.codigo).inc()
            if rechazo.codigo != "revocacion_no_disponible":
                # SAT now says it is not good (revoked, unknown): no "good" cached earlier may outlive that.
                self._olvidar(llave)
            raise
        CONSULTAS.labels("vigente").inc()
        if hasta > ahora:  # a zero `cache_vigencia_max` keeps nothing
            self._guardar(llave, hasta, respuesta_der)
        return respuesta_der

    def _consultar(self, cert: CertificadoSat, emisor: x509.Certificate, ahora: datetime) -> tuple[datetime, bytes]:
        try:
            # The issuer's name hash comes from the raw bytes of the certificate's issuer, which equal the CA's
            # subject; `emisor.subject` is never decoded (SAT names may hold Latin-1 T61String).
            _, emisor_sujeto_der = nombres_tbs(emisor.tbs_certificate_bytes)
            clave_emisor = clave_publica_bits(emisor)
        except Exception as e:
            raise _no_disponible(f"no se pudo leer la CA emisora: {e}") from None
        serie = cert.certificado.serial_number
        nonce = os.urandom(16)
        solicitud = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(
                hashlib.sha1(emisor_sujeto_der).digest(), hashlib.sha1(clave_emisor).digest(), serie, hashes.SHA1()
            )
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        from cryptography.hazmat.primitives import serialization

        cuerpo = solicitud.public_bytes(serialization.Encoding.DER)
        try:
            r = requests.post(
                self.url,
                data=cuerpo,
                headers={
                    "Content-Type": "application/ocsp-request",
                    "Accept": "application/ocsp-response",
                    # Some responders serve one connection at a time: never keep it open.
                    "Connection": "close",
                },
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise _no_disponible(f"{type(e).__name__}: {e}") from None
        if r.status_code != 200:
            raise _no_disponible(f"HTTP {r.status_code}")
        try:
            respuesta = ocsp.load_der_ocsp_response(r.content)
        except Exception as e:
            raise _no_disponible(f"respuesta ilegible: {e}") from None

        try:
            return self._evaluar(respuesta, cert, emisor, emisor_sujeto_der, clave_emisor, nonce, ahora), r.content
        except CertificadoRechazado:
            raise
        except Exception as e:
            raise _no_disponible(f"respuesta mal formada: {type(e).__name__}: {e}") from None

    def _evaluar(self, respuesta: ocsp.OCSPResponse, cert: CertificadoSat, emisor: x509.Certificate,
                 emisor_sujeto_der: bytes, clave_emisor: bytes, nonce: bytes, ahora: datetime) -> datetime:
        if respuesta.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise _no_disponible(f"estado {respuesta.response_status.name}")

        if not _verificar_firma_respuesta(respuesta, emisor.public_key()):
            delegados = [c for c in respuesta.certificates
                         if _es_respondedor_delegado(c, emisor, emisor_sujeto_der, ahora)]
            if not any(_verificar_firma_respuesta(respuesta, c.public_key()) for c in delegados):
                raise _no_disponible("firma de la respuesta no es de la CA ni de un respondedor que ella emitió")

        try:
            eco = respuesta.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            raise _no_disponible("la respuesta no devuelve el nonce") from None
        if eco != nonce:
            raise _no_disponible("nonce distinto al enviado")

        serie = cert.certificado.serial_number
        unica = None
        for r in respuesta.responses:
            if r.serial_number != serie:
                continue
            algoritmo = r.hash_algorithm
            esperado_nombre = hashlib.new(algoritmo.name, emisor_sujeto_der).digest()
            esperado_clave = hashlib.new(algoritmo.name, clave_emisor).digest()
            if r.issuer_name_hash == esperado_nombre and r.issuer_key_hash == esperado_clave:
                unica = r
                break
        if unica is None:
            raise _no_disponible("ninguna respuesta corresponde al certificado consultado (CertID)")

        if unica.this_update_utc > ahora + _DESFASE:
            raise _no_disponible("thisUpdate en el futuro")
        siguiente = unica.next_update_utc
        if siguiente is not None and siguiente < ahora - _DESFASE:
            raise _no_disponible("respuesta caducada (nextUpdate pasado)")

        estado = unica.certificate_status
        if estado == ocsp.OCSPCertStatus.REVOKED:
            raise CertificadoRechazado("certificado_revocado", "El certificado fue revocado por el SAT.")
        if estado != ocsp.OCSPCertStatus.GOOD:
            raise CertificadoRechazado(
                "certificado_no_confiable", "El SAT no reconoce el certificado como emitido por él."
            )

        hasta = siguiente if siguiente is not None and siguiente > ahora else ahora + _VIGENCIA_SIN_NEXT_UPDATE
        if self.cache_vigencia_max is not None:
            hasta = min(hasta, ahora + self.cache_vigencia_max)
        return hasta
