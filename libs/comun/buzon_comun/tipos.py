"""Typed identifiers shared by every service: RFC, CURP and Registro Patronal.

Each type is a `str` subclass so that it serialises, compares and prints as the plain identifier, but it can only
be built from text of the right form. Check digits are computed and only logged: real RFCs and CURPs with a wrong
check digit exist (SAT's own test RFC AAA010101AAA fails it), and a certificate signed by SAT is the authority on
who a person is.
"""
from __future__ import annotations

import datetime as _dt
import logging
import re

from buzon_comun.rechazo import Rechazo

logger = logging.getLogger(__name__)

__all__ = ["ValorInvalido", "Rfc", "Curp", "RegistroPatronal"]


class ValorInvalido(Rechazo, ValueError):
    """Text that is not of the identifier's form."""


# Only the identifiers' own letters change case: `str.upper()` would also turn look-alikes (dotless ı, long ſ)
# into the ASCII letters of another identifier.
_MAYUSCULAS = str.maketrans("abcdefghijklmnopqrstuvwxyzñ", "ABCDEFGHIJKLMNOPQRSTUVWXYZÑ")


def _normalizar(texto: object, codigo: str, nombre: str) -> str:
    if not isinstance(texto, str):
        raise ValorInvalido(codigo, f"El {nombre} debe ser texto.")
    return texto.strip().translate(_MAYUSCULAS)


def _fecha_existe(aammdd: str) -> bool:
    # Only two digits of year: 20YY is a leap year exactly when 19YY or 20YY is, except 1900, so checking the
    # 2000s accepts every date that is real in either century.
    try:
        _dt.date(2000 + int(aammdd[0:2]), int(aammdd[2:4]), int(aammdd[4:6]))
    except ValueError:
        return False
    return True


# The SAT's table for the RFC check digit: Ñ and & have their own values, and a space pads personas morales.
_VALORES_RFC = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ Ñ")}
# [0-9], never \d: \d also matches other scripts' digits (Arabic-Indic, fullwidth), which int() reads as ours.
_FORMA_RFC = re.compile(r"([A-ZÑ&]{3,4})([0-9]{6})([A-Z0-9]{3})")


def digito_verificador_rfc(rfc: str) -> str:
    """The check digit the SAT's algorithm gives for the first 11 or 12 characters of an RFC."""
    base = rfc[:-1].rjust(12)
    suma = sum(_VALORES_RFC.get(c, 0) * (13 - i) for i, c in enumerate(base))
    residuo = suma % 11
    if residuo == 0:
        return "0"
    digito = 11 - residuo
    return "A" if digito == 10 else str(digito)


class Rfc(str):
    """Registro Federal de Contribuyentes: 13 characters for a persona física, 12 for a persona moral."""

    def __new__(cls, texto: str) -> "Rfc":
        valor = _normalizar(texto, "rfc_invalido", "RFC")
        m = _FORMA_RFC.fullmatch(valor)
        if not m or len(valor) not in (12, 13):
            raise ValorInvalido(
                "rfc_invalido",
                "El RFC no tiene un formato válido: 3 letras (persona moral) o 4 (persona física), "
                "la fecha AAMMDD y una homoclave de 3 caracteres.",
            )
        if not _fecha_existe(m.group(2)):
            raise ValorInvalido("rfc_invalido", "La fecha contenida en el RFC no existe.")
        obj = super().__new__(cls, valor)
        if not obj.digito_verificador_valido:
            logger.warning("RFC %s con dígito verificador distinto al calculado (%s)", valor,
                           digito_verificador_rfc(valor))
        return obj

    @classmethod
    def parse(cls, texto: str) -> "Rfc":
        return cls(texto)

    @property
    def tipo_persona(self) -> str:
        return "moral" if len(self) == 12 else "fisica"

    @property
    def digito_verificador_valido(self) -> bool:
        return digito_verificador_rfc(self) == self[-1]


_VALORES_CURP = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ")}
_ENTIDADES = (
    "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL OC PL QT QR SP SL SR TC TS TL VZ YN ZS NE"
).split()
_FORMA_CURP = re.compile(r"[A-Z][AEIOUX][A-Z]{2}([0-9]{6})[HMX]([A-Z]{2})[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z][0-9]")


def digito_verificador_curp(curp: str) -> str:
    """The check digit RENAPO's algorithm gives for the first 17 characters of a CURP."""
    suma = sum(_VALORES_CURP.get(c, 0) * (18 - i) for i, c in enumerate(curp[:17]))
    return str((10 - suma % 10) % 10)


class Curp(str):
    """Clave Única de Registro de Población: 18 characters."""

    def __new__(cls, texto: str) -> "Curp":
        valor = _normalizar(texto, "curp_invalida", "CURP")
        m = _FORMA_CURP.fullmatch(valor)
        if not m or m.group(2) not in _ENTIDADES:
            raise ValorInvalido(
                "curp_invalida",
                "La CURP no tiene un formato válido: debe tener 18 caracteres con la estructura oficial.",
            )
        if not _fecha_existe(m.group(1)):
            raise ValorInvalido("curp_invalida", "La fecha de nacimiento contenida en la CURP no existe.")
        obj = super().__new__(cls, valor)
        if not obj.digito_verificador_valido:
            logger.warning("CURP %s con dígito verificador distinto al calculado (%s)", valor,
                           digito_verificador_curp(valor))
        return obj

    @classmethod
    def parse(cls, texto: str) -> "Curp":
        return cls(texto)

    @property
    def digito_verificador_valido(self) -> bool:
        return digito_verificador_curp(self) == self[-1]


_FORMA_RP = re.compile(r"[A-Z][0-9]{10}")


class RegistroPatronal(str):
    """Registro Patronal del IMSS: a letter and 10 digits."""

    def __new__(cls, texto: str) -> "RegistroPatronal":
        valor = _normalizar(texto, "registro_patronal_invalido", "registro patronal")
        if not _FORMA_RP.fullmatch(valor):
            raise ValorInvalido(
                "registro_patronal_invalido",
                "El registro patronal no tiene un formato válido: debe tener una letra y 10 dígitos.",
            )
        return super().__new__(cls, valor)

    @classmethod
    def parse(cls, texto: str) -> "RegistroPatronal":
        return cls(texto)
