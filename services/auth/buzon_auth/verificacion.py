"""The whole e.firma check, in the contract's order (API.md, "Session").

Every local check runs before the revocation query, the only remote one, so that a forged or careless request
never costs a call to SAT's responder.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .certificados import (
    AlmacenCA, CertificadoRechazado, Identidad, leer_certificado, verificar_firma, verificar_perfil_efirma,
    verificar_vigencia,
)
from .ocsp import ClienteOcsp

__all__ = ["verificar_efirma", "Verificacion", "CertificadoRechazado", "Identidad"]


@dataclass(frozen=True)
class Verificacion:
    identidad: Identidad
    ocsp_der: bytes     # the responder's signed answer that vouched for the certificate: evidence to keep


def verificar_efirma(der: bytes, datos: bytes, firma: bytes, *, ahora: datetime, almacen: AlmacenCA,
                     ocsp: ClienteOcsp, rfc_esperado: str | None = None,
                     ocsp_fresca: bool = False) -> Verificacion:
    """A valid, trusted, unrevoked e.firma whose key signed `datos`; else `CertificadoRechazado`.

    With `rfc_esperado` (the activation: the signer must be the session's RFC), another RFC's certificate is
    `certificado_ajeno`, found before the remote check. With `ocsp_fresca` the revocation status is asked of the
    responder even when a cached answer is still within its time."""
    if ahora.tzinfo is None:
        raise ValueError("ahora debe tener zona horaria")
    cert = leer_certificado(der)
    emisor = almacen.emisor_de(cert, ahora=ahora)
    verificar_vigencia(cert, ahora)
    verificar_perfil_efirma(cert)
    verificar_firma(cert, datos, firma)
    # Read before the remote call: a SAT-signed certificate with no usable RFC must not reach the responder either.
    identidad = cert.identidad()
    if rfc_esperado is not None and identidad.rfc != rfc_esperado:
        raise CertificadoRechazado("certificado_ajeno", "El certificado pertenece a otro RFC, no al de tu sesión.")
    return Verificacion(identidad, ocsp.verificar(cert, emisor, ahora, fresca=ocsp_fresca))
