"""The whole e.firma check, in the contract's order (API.md, "Session").

Every local check runs before the revocation query, the only remote one, so that a forged or careless request
never costs a call to SAT's responder.
"""
from __future__ import annotations

from datetime import datetime

from .certificados import (
    AlmacenCA, CertificadoRechazado, Identidad, leer_certificado, verificar_firma, verificar_perfil_efirma,
    verificar_vigencia,
)
from .ocsp import ClienteOcsp

__all__ = ["verificar_efirma", "CertificadoRechazado", "Identidad"]


def verificar_efirma(der: bytes, datos: bytes, firma: bytes, *, ahora: datetime, almacen: AlmacenCA,
                     ocsp: ClienteOcsp) -> Identidad:
    """The identity of a valid, trusted, unrevoked e.firma whose key signed `datos`; else `CertificadoRechazado`."""
    if ahora.tzinfo is None:
        raise ValueError("ahora debe tener zona horaria")
    cert = leer_certificado(der)
    emisor = almacen.emisor_de(cert, ahora=ahora)
    verificar_vigencia(cert, ahora)
    verificar_perfil_efirma(cert)
    verificar_firma(cert, datos, firma)
    # Read before the remote call: a SAT-signed certificate with no usable RFC must not reach the responder either.
    identidad = cert.identidad()
    ocsp.verificar(cert, emisor, ahora)
    return identidad
