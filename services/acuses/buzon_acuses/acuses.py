"""Issuing acuses and serving them: an acuse is issued when its request arrives (cadena, seal, code and every
value printed on it, fixed and stored at once, without rendering) and rendered to PDF on its first download (then
stored: every later download serves those bytes). Most acuses are never downloaded, and a render holds a CPU about
100 ms, so rendering only what someone asks for is most of the CPU an activation costs. The public verification
asks for the acuse's código de verificación and limits each client's failures.

Free of nameko and eventlet: the PDF renderer is passed in (`renderizar(folio, plantilla, contexto) -> bytes`), so
these rules run the same in a test, in the service (a process pool) or in a one-off script.
"""
from __future__ import annotations

import base64
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from buzon_acuses import documento, reintentos as modulo_reintentos
from buzon_acuses.ajustes import Ajustes
from buzon_acuses.cadena import cadena_original
from buzon_acuses.models import acuses, limites, solicitudes
from buzon_acuses.procesos import FallaDeRender
from buzon_acuses.reintentos import EMITIDO, SIN_CAMBIO, Reintentos
from buzon_acuses.sello import Sello
from buzon_acuses.solicitudes import MAXIMO_FOLIO, MAXIMO_RFC, MENSAJE_NO_DISPONIBLE, codigo_de, insertar
from buzon_comun import limites as limitador
from buzon_comun.db import insercion, transaccion
from buzon_comun.errores import DemasiadasSolicitudes, NoEncontrado, ServicioNoDisponible, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado
from buzon_comun.reloj import Reloj
from buzon_comun.textos import es_texto_valido

log = logging.getLogger(__name__)

# A sweep takes at most this many requests; whatever is still due waits for the next one (30 s later), so a stop
# of the service never waits on a long sweep.
MAXIMO_POR_BARRIDO = 100


# A renderer: (folio, template version, stored values) -> the PDF's bytes; raises FallaDeRender when it gives none.
Renderizar = Callable[[str, str, dict], bytes]
MENSAJE_GENERANDO = "El acuse se está generando. Intenta de nuevo en unos segundos."

FALLAS_AL_DESCARGAR = Counter(
    "buzon_acuses_fallas_descarga",
    "Renders on a first download that gave no PDF, by cause: plazo (past the time limit), proceso (its process "
    "died), error (the render raised), detenido (the renderer was stopping), sin_renderizador (no renderer "
    "answered in time). The caller got 503 and tries again.",
    ["motivo"],
)


@dataclass(frozen=True)
class Emision:
    """What issuing needs besides the database: the Institute's seal, the address the QR leads to, the clock, the
    schedule of retries and how the values printed on the acuse are made (`documento.contexto`)."""

    sello: Sello
    public_url: str
    reloj: Reloj = field(default_factory=Reloj)
    reintentos: Reintentos = field(default_factory=Reintentos)
    reserva: timedelta = field(default_factory=lambda: Ajustes().reserva)
    contexto: Callable[..., dict] = documento.contexto


def emitido(db: Session, folio: str) -> bool:
    return db.execute(select(acuses.c.folio).where(acuses.c.folio == folio)).first() is not None


def emitir(db: Session, folio: str, *, sello: Sello, public_url: str, ahora: datetime,
           contexto: Callable[..., dict] = documento.contexto) -> bool:
    """Issue the acuse of a stored request: its cadena, its seal and every value printed on it, with the current
    template version, written once (no PDF yet: it is rendered on the first download). False if it was already
    issued (or never asked).

    Once stored, an acuse never changes: if another process issued the same folio meanwhile, its row stays and
    this one's is dropped (ON CONFLICT DO NOTHING), so what anyone downloads or verifies is the first one.
    """
    with transaccion(db):
        fila = db.execute(select(solicitudes.c.solicitud, solicitudes.c.codigo_verificacion,
                                 acuses.c.folio.label("emitido"))
                          .select_from(solicitudes.outerjoin(acuses, acuses.c.folio == solicitudes.c.folio))
                          .where(solicitudes.c.folio == folio)).first()
    if fila is None or fila.emitido is not None:
        return False
    sentencia = _insercion_acuse(db, json.loads(fila.solicitud), fila.codigo_verificacion, sello=sello,
                                 public_url=public_url, contexto=contexto)
    with transaccion(db):
        nuevo = db.execute(sentencia).rowcount == 1
        # Issued (here or by another process): nothing left for the sweep, and no longer parked.
        db.execute(update(solicitudes).where(solicitudes.c.folio == folio)
                   .values(proximo_intento=None, estancada_en=None))
    return nuevo


def intentar(db: Session, folio: str, emision: Emision) -> str:
    """One try at issuing `folio`. A failure of the document or the seal counts against the request and schedules
    its next try, or parks it (`reintentos`). Database errors propagate: they are the database's fault, not the
    request's, and nothing was counted.

    Returns EMITIDO, SIN_CAMBIO (already issued), REINTENTO or ESTANCADO."""
    try:
        nuevo = emitir(db, folio, sello=emision.sello, public_url=emision.public_url, ahora=emision.reloj.ahora(),
                       contexto=emision.contexto)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever breaks this request must not break the caller's others
        # The document or the seal failed on this request; the traceback says where.
        log.exception("falló el documento del acuse %s", folio)
        return modulo_reintentos.registrar_falla(db, folio, motivo="error", detalle=f"{type(exc).__name__}: {exc}",
                                                 ahora=emision.reloj.ahora(), reintentos=emision.reintentos)
    if nuevo:
        log.info("acuse emitido: %s", folio)
    return EMITIDO if nuevo else SIN_CAMBIO


def atender(db: Session, solicitud: AcuseSolicitado, emision: Emision) -> str:
    """A request from the bus, in one transaction: the request is stored (with its código de verificación: the
    requester's, or a new one) and, if it is new, its acuse is issued with it; if that transaction fails, nothing
    is stored and the consumer tries the event again. A document that can't be made leaves the request stored and its failure recorded, scheduled
    for a retry like any other. A redelivery (the request is there already) goes `_atender_de_nuevo`."""
    ahora = emision.reloj.ahora()
    codigo = codigo_de(solicitud)
    falla = None
    with transaccion(db):
        nueva = insertar(db, solicitud, ahora=ahora, codigo=codigo, proximo_intento=ahora + emision.reserva)
        if nueva:
            try:
                _emitir_nueva(db, solicitud, codigo, emision)
            except SQLAlchemyError:
                raise
            except Exception as exc:  # noqa: BLE001 - recorded against the request once it is stored
                falla = exc
    if not nueva:
        return _atender_de_nuevo(db, solicitud, emision)
    if falla is not None:
        log.error("falló el documento del acuse %s", solicitud.folio, exc_info=falla)
        return modulo_reintentos.registrar_falla(db, solicitud.folio, motivo="error",
                                                 detalle=f"{type(falla).__name__}: {falla}", ahora=ahora,
                                                 reintentos=emision.reintentos)
    log.info("acuse emitido: %s %s", solicitud.tipo, solicitud.folio)
    return EMITIDO


def _emitir_nueva(db: Session, solicitud: AcuseSolicitado, codigo: str, emision: Emision) -> None:
    """In the caller's transaction, which just stored the request with `codigo`: its acuse (CPU only, no wait: the
    seal is local), made from the request as stored and read back (JSON), as a retry would make it."""
    carga = json.loads(json.dumps(solicitud.carga(), ensure_ascii=False))
    db.execute(_insercion_acuse(db, carga, codigo, sello=emision.sello, public_url=emision.public_url,
                                contexto=emision.contexto))
    db.execute(update(solicitudes).where(solicitudes.c.folio == solicitud.folio).values(proximo_intento=None))


def _insercion_acuse(db: Session, solicitud: dict, codigo: str, *, sello: Sello, public_url: str,
                     contexto: Callable[..., dict]):
    """The INSERT of a request's acuse (once: ON CONFLICT DO NOTHING): its cadena, its seal and every value
    printed on it, with the current template version. Raises if the document or the seal can't be made."""
    cadena = cadena_original(solicitud)
    sellado = sello.sellar(cadena)
    valores = contexto(solicitud, cadena=cadena, sello=sellado, public_url=public_url, codigo=codigo,
                       certificado_sello=sello.numero_certificado)
    return insercion(db, acuses).values(
        folio=solicitud["folio"], tipo=solicitud["tipo"], rfc=solicitud["rfc"], emitido_en=solicitud["emitido_en"],
        cadena_original=cadena, sello=sellado, codigo_verificacion=codigo,
        plantilla=documento.PLANTILLA_VIGENTE, contexto=json.dumps(valores, ensure_ascii=False),
    ).on_conflict_do_nothing(index_elements=[acuses.c.folio])


def _atender_de_nuevo(db: Session, solicitud: AcuseSolicitado, emision: Emision) -> str:
    """A redelivered request is tried again only if it never failed: one already issued, parked or waiting for its
    retry is left to the sweep's schedule."""
    with transaccion(db):
        fila = db.execute(select(solicitudes.c.intentos, solicitudes.c.estancada_en)
                          .where(solicitudes.c.folio == solicitud.folio)).one()
    if fila.intentos or fila.estancada_en is not None:
        return SIN_CAMBIO
    return intentar(db, solicitud.folio, emision)


def pendientes(db: Session, *, ahora: datetime, limite: int = 20) -> list[str]:
    """Folios of requests due for a try and still without their acuse, the one due longest ago first."""
    with transaccion(db):
        return list(db.execute(
            select(solicitudes.c.folio)
            .select_from(solicitudes.outerjoin(acuses, acuses.c.folio == solicitudes.c.folio))
            .where(acuses.c.folio.is_(None), solicitudes.c.proximo_intento <= ahora)
            .order_by(solicitudes.c.proximo_intento, solicitudes.c.folio)
            .limit(limite)
        ).scalars().all())


def emitir_pendientes(db: Session, emision: Emision, *, limite: int = MAXIMO_POR_BARRIDO) -> int:
    """Issue what is due: requests left behind (a crash, a stop) and those whose retry has come.

    One at a time, the one due longest ago first, each reserved before it is rendered (replicas may sweep
    together). A request that fails again is rescheduled further ahead, so it does not come back in this sweep
    and the ones behind it are not held back; parked ones are never taken."""
    emitidos = 0
    for _ in range(limite):
        folio = modulo_reintentos.reclamar(db, ahora=emision.reloj.ahora(), reserva=emision.reserva)
        if folio is None:
            break
        emitidos += intentar(db, folio, emision) == EMITIDO
    return emitidos


def pdf_de(db: Session, folio: str, rfc: str, *, renderizar: Renderizar, ahora: datetime) -> bytes:
    """The PDF of an acuse of this RFC: the stored bytes, or on its first download rendered from what was fixed
    when it was issued and stored, once (if another process stored it meanwhile, its bytes are the ones served).
    Unknown, another RFC's and not yet issued look the same (NoEncontrado). A render that gives no PDF (its time
    limit, a crashed process, the renderer stopping, no renderer answering) is ServicioNoDisponible: nothing was stored, the caller tries
    again."""
    if not es_texto_valido(folio, MAXIMO_FOLIO) or not es_texto_valido(rfc, MAXIMO_RFC):
        raise NoEncontrado("no_encontrado", MENSAJE_NO_DISPONIBLE)
    with transaccion(db):
        fila = db.execute(select(acuses.c.pdf, acuses.c.plantilla, acuses.c.contexto)
                          .where(acuses.c.folio == folio, acuses.c.rfc == rfc)).first()
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_DISPONIBLE)
    if fila.pdf is not None:
        return bytes(fila.pdf)
    # No transaction (nor pooled connection) stays open through the render.
    try:
        pdf = renderizar(folio, fila.plantilla, json.loads(fila.contexto))
    except FallaDeRender as exc:
        FALLAS_AL_DESCARGAR.labels(exc.motivo).inc()
        log.warning("el acuse %s no se pudo generar al descargarlo (%s); quien lo pidió lo intentará de nuevo",
                    folio, exc.motivo)
        raise ServicioNoDisponible("servicio_no_disponible", MENSAJE_GENERANDO, {"reintentar_en_s": 2}) from None
    with transaccion(db):
        db.execute(update(acuses).where(acuses.c.folio == folio, acuses.c.pdf.is_(None))
                   .values(pdf=pdf, renderizado_en=ahora))
        guardado = db.execute(select(acuses.c.pdf).where(acuses.c.folio == folio)).scalar_one()
    if guardado == pdf:
        log.info("acuse %s generado en su primera descarga", folio)
    return bytes(guardado)


def pdf_base64(db: Session, folio: str, rfc: str, *, renderizar: Renderizar, ahora: datetime) -> str:
    return base64.b64encode(pdf_de(db, folio, rfc, renderizar=renderizar, ahora=ahora)).decode("ascii")


# One answer for an unknown folio, a missing code and a wrong one: which folios exist is not for the public to learn.
MENSAJE_VERIFICACION = ("No encontramos un acuse con ese folio y código de verificación. Revisa los dos datos "
                        "impresos en el acuse.")
MENSAJE_DEMASIADAS = "Hiciste demasiados intentos de verificación fallidos. Espera un minuto e intenta de nuevo."
VENTANA_LIMITE_S = 60
# Codes are 16 characters; a little room for what a person might paste, and no more than that reaches a comparison.
MAXIMO_CODIGO = 64
MAXIMO_CLIENTE = 180
# Compared when the folio is unknown, so that path does the same work as a wrong code.
_CODIGO_AUSENTE = b"\0" * 16


def _clave(cliente: str) -> str:
    return f"verificacion:{cliente}"


def _fallo(db: Session, cliente: str, *, ahora: datetime, limite: int) -> NoEncontrado:
    """Count a failed verification; the answer to give (NoEncontrado, or 429 if a parallel failure went first)."""
    try:
        with transaccion(db):
            limitador.contar(db, limites, _clave(cliente), ahora=ahora, ventana_s=VENTANA_LIMITE_S, limite=limite)
    except DemasiadasSolicitudes:
        raise DemasiadasSolicitudes(mensaje=MENSAJE_DEMASIADAS) from None
    return NoEncontrado("no_encontrado", MENSAJE_VERIFICACION)


def verificacion(db: Session, folio: str, codigo: str, cliente: str, *, sello: Sello, ahora: datetime,
                 limite: int) -> dict:
    """Public: what an acuse certifies, and whether its seal verifies now with the Institute's certificate.

    Only with the acuse's código de verificación (compared in constant time, in any letter case). Every failure
    counts against `cliente` (the gateway's opaque key of the caller's address); once `limite` failures are
    counted in the current minute, that client gets DemasiadasSolicitudes for every verification of the minute,
    right code or not, so guessing stops there.
    """
    if not es_texto_valido(cliente, MAXIMO_CLIENTE) or not cliente.strip():
        # The gateway always names the caller; without one there is nothing to count failures against.
        raise SolicitudInvalida("solicitud_invalida", "Falta identificar al cliente de la verificación.")
    with transaccion(db):
        fallidas = limitador.contados(db, limites, _clave(cliente), ahora=ahora, ventana_s=VENTANA_LIMITE_S)
    if fallidas >= limite:
        raise DemasiadasSolicitudes(mensaje=MENSAJE_DEMASIADAS)
    if not (es_texto_valido(folio, MAXIMO_FOLIO) and folio and es_texto_valido(codigo, MAXIMO_CODIGO)
            and codigo.strip()):
        raise _fallo(db, cliente, ahora=ahora, limite=limite)
    with transaccion(db):
        fila = db.execute(select(acuses.c.folio, acuses.c.tipo, acuses.c.rfc, acuses.c.emitido_en,
                                 acuses.c.cadena_original, acuses.c.sello, acuses.c.codigo_verificacion)
                          .where(acuses.c.folio == folio)).first()
    esperado = fila.codigo_verificacion.encode("ascii") if fila is not None else _CODIGO_AUSENTE
    coincide = hmac.compare_digest(esperado, codigo.strip().upper().encode("utf-8"))
    if fila is None or not coincide:
        raise _fallo(db, cliente, ahora=ahora, limite=limite)
    return {
        "folio": fila.folio,
        "tipo": fila.tipo,
        "rfc": fila.rfc,
        "emitido_en": fila.emitido_en,
        "cadena_original": fila.cadena_original,
        "sello_valido": sello.verificar(fila.cadena_original, fila.sello),
    }


def purgar_limites(db: Session, *, ahora: datetime) -> None:
    """Drop the counts of minutes gone by: they block nobody any more."""
    with transaccion(db):
        limitador.purgar(db, limites, ahora=ahora, ventana_s=VENTANA_LIMITE_S)
