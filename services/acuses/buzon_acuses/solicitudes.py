"""Acuse requests: stored once per folio, whatever the bus delivers twice, each with its código de verificación."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzon_acuses.ajustes import Ajustes
from buzon_acuses.models import solicitudes
from buzon_comun.codigos import es_codigo, nuevo_codigo
from buzon_comun.db import insercion, transaccion
from buzon_comun.errores import NoEncontrado, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado
from buzon_comun.textos import es_texto_valido

log = logging.getLogger(__name__)

MENSAJE_NO_DISPONIBLE = "El acuse no existe o todavía no está disponible."

MAXIMO_FOLIO = 40
MAXIMO_RFC = 13
# The owner's screens ask for the codes of the acuses they list (a handful per medio); a bound keeps one call from
# becoming a scan.
MAXIMO_FOLIOS_POR_CONSULTA = 100


def codigo_de(solicitud: AcuseSolicitado) -> str:
    """The request's código de verificación: the one its requester minted (buzon answers it at once), else a fresh
    one. A code of another form is a requester's slip: a fresh one replaces it (logged), so no weak code is kept."""
    if solicitud.codigo_verificacion is None:
        return nuevo_codigo()
    if es_codigo(solicitud.codigo_verificacion):
        return solicitud.codigo_verificacion
    log.error("la solicitud de acuse %s trae un código de verificación mal formado: se emite con otro",
              solicitud.folio)
    return nuevo_codigo()


def guardar(db: Session, solicitud: AcuseSolicitado, *, ahora: datetime, reserva: timedelta | None = None) -> bool:
    """Keep the request with a new código de verificación; False if that folio was already here (a redelivery,
    which keeps the first request and its first code: the code may already be printed on the acuse).

    The handler that stores it tries it at once; the sweep takes it only if it is still without its acuse once
    `reserva` (the render's time limit and a margin) has passed: a crash, a stop, a failure."""
    with transaccion(db):
        return insertar(db, solicitud, ahora=ahora, codigo=codigo_de(solicitud),
                        proximo_intento=ahora + (reserva if reserva is not None else Ajustes().reserva))


def _sin_codigo(carga: dict) -> dict:
    # The code is kept in its own column, once: the request's text never holds the secret.
    return {campo: valor for campo, valor in carga.items() if campo != "codigo_verificacion"}


def insertar(db: Session, solicitud: AcuseSolicitado, *, ahora: datetime, codigo: str,
             proximo_intento: datetime | None) -> bool:
    """`guardar`'s INSERT, in the caller's transaction (None as `proximo_intento`: issued in that transaction)."""
    sentencia = insercion(db, solicitudes).values(
        folio=solicitud.folio, tipo=solicitud.tipo, rfc=solicitud.rfc, emitido_en=solicitud.emitido_en,
        solicitud=json.dumps(_sin_codigo(solicitud.carga()), ensure_ascii=False), recibida_en=ahora,
        codigo_verificacion=codigo, intentos=0, proximo_intento=proximo_intento,
    ).on_conflict_do_nothing(index_elements=[solicitudes.c.folio])
    return db.execute(sentencia).rowcount == 1


def solicitud_de(db: Session, folio: str, rfc: str) -> dict:
    """The request of an acuse of this RFC; NoEncontrado for another RFC's, never saying which."""
    fila = db.execute(select(solicitudes).where(solicitudes.c.folio == folio, solicitudes.c.rfc == rfc)).first()
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_DISPONIBLE)
    return json.loads(fila.solicitud)


def codigos(db: Session, rfc: str, folios: list) -> dict:
    """{"codigos": {folio: code}} for the folios of this RFC; another RFC's or unknown folios are simply absent.

    Read from the requests, so an acuse still being rendered already has its code."""
    if not es_texto_valido(rfc, MAXIMO_RFC) or not rfc:
        raise SolicitudInvalida("solicitud_invalida", "El RFC no es válido.")
    if not isinstance(folios, (list, tuple)) or len(folios) > MAXIMO_FOLIOS_POR_CONSULTA:
        raise SolicitudInvalida(
            "solicitud_invalida", f"Puedes consultar a lo más {MAXIMO_FOLIOS_POR_CONSULTA} folios a la vez.")
    # A value that can't be a folio can't be one of this RFC's either: it is left out like an unknown one.
    validos = {f for f in folios if es_texto_valido(f, MAXIMO_FOLIO) and f}
    if not validos:
        return {"codigos": {}}
    with transaccion(db):
        filas = db.execute(select(solicitudes.c.folio, solicitudes.c.codigo_verificacion)
                           .where(solicitudes.c.rfc == rfc, solicitudes.c.folio.in_(validos))).all()
    return {"codigos": {fila.folio: fila.codigo_verificacion for fila in filas}}
