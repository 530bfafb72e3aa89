"""The syntax of what people type: mechanism, email address, mobile number and the RPs asked for.

Plain functions that raise `ReglaIncumplida` with the contract's codes, so the order of checks stays in one
place (`medios.registrar`) and these test without a database.
"""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from buzon_comun.errores import ReglaIncumplida, SolicitudInvalida

MECANISMOS = ("correo", "telefono")
TODOS = "*"
# API.md's cap: far above the RPs any employer has, low enough that no list stalls the service.
MAXIMO_REGISTROS_PEDIDOS = 1000

# People write numbers as "55 1234-5678", "(55) 1234 5678" or "+52 55…"; separators carry no meaning.
_SEPARADORES = re.compile(r"[\s\-().]")
# Mexican numbers never start with 0 or 1 (those were the old long-distance and mobile prefixes).
_TELEFONO = re.compile(r"(?:\+?52)?([2-9][0-9]{9})", re.ASCII)


def mecanismo(texto: object) -> str:
    if texto not in MECANISMOS:
        raise ReglaIncumplida("mecanismo_invalido",
                              "El mecanismo de comunicación debe ser «correo» (correo electrónico) o «telefono» "
                              "(número celular).")
    return texto


def correo(texto: object) -> str:
    """The address in one canonical form (ASCII, lower case), so the same address never counts twice."""
    if not isinstance(texto, str) or not texto.strip():
        raise _correo_invalido()
    try:
        # Internationalised local parts need SMTPUTF8 on every server on the way: refused rather than lost.
        resultado = validate_email(texto.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise _correo_invalido() from None
    return resultado.ascii_email.lower()


def _correo_invalido() -> ReglaIncumplida:
    return ReglaIncumplida("correo_invalido",
                           "La dirección de correo electrónico no es válida. Revísala e intenta de nuevo "
                           "(ejemplo: nombre@dominio.com.mx).")


def telefono(texto: object) -> str:
    """Ten digits, from what a person typed with or without separators and the +52 country code."""
    if isinstance(texto, str):
        m = _TELEFONO.fullmatch(_SEPARADORES.sub("", texto))
        if m:
            return m.group(1)
    raise ReglaIncumplida("telefono_invalido",
                          "El número celular no es válido: debe tener 10 dígitos (puedes anteponer +52).")


def valor(mecanismo_: str, texto: object) -> str:
    return correo(texto) if mecanismo_ == "correo" else telefono(texto)


def destino_sms(telefono_: str) -> str:
    return "+52" + telefono_


def registros_pedidos(pedidos: object) -> list[str] | None:
    """The RPs as asked: [] for RFC-level, None for "all of them", else the texts in order without repeats.

    Each text is checked against the padrón later; here only the shape of the list matters.
    """
    if pedidos is None:
        return []
    if not isinstance(pedidos, list) or not all(isinstance(p, str) for p in pedidos):
        raise SolicitudInvalida("solicitud_invalida",
                                "«registros_patronales» debe ser una lista de registros patronales o [\"*\"].")
    if len(pedidos) > MAXIMO_REGISTROS_PEDIDOS:
        raise ReglaIncumplida("registro_patronal_ajeno",
                              f"Puedes registrar un medio de contacto para {MAXIMO_REGISTROS_PEDIDOS} Registros "
                              "Patronales a la vez como máximo; para todos los tuyos, usa [\"*\"].")
    if pedidos == [TODOS]:
        return None
    # A dict keeps the first of each in order and finds repeats in constant time: linear in the list.
    return list(dict.fromkeys(p.strip().upper() for p in pedidos))
