"""The steps that ask other services before the rules here act: plain functions over the callers' RPC proxies
(`activacion`, `contactos`, `auth`), so they test without a broker. Nothing here holds a transaction while another
service answers: each rule opens its own."""
from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client import Counter
from sqlalchemy.orm import Session

from buzon_comun.errores import DemasiadasSolicitudes
from buzon_comun.eventos import MensajeEnviado, MensajeFallido, NotificacionDepositada
from buzon_buzon import apertura, avisos, notificaciones
from buzon_buzon.habiles import Calendario

log = logging.getLogger(__name__)

# Deposits and openings are counted per entrypoint (buzon_llamadas_total, with their refusals); these are the rest.
AVISOS = Counter("buzon_buzon_avisos_total",
                 "Avisos of notifications: asked of notificaciones (solicitado), then reported enviado or fallido.",
                 ["estado"])
TACITAS = Counter("buzon_buzon_tacitas_total", "Notifications deemed notified by the timer or before a view of them "
                  "(notificación tácita).")
LIMITADOS = Counter("buzon_buzon_depositos_limitados_total",
                    "Deposits refused with 429: their system's next turn (one every 1/BUZON_DEPOSITOS_POR_SEGUNDO s) "
                    "was more than a second away, its deposits waiting already.",
                    ["sistema"])
SIN_AVISO = Counter("buzon_buzon_notificaciones_sin_aviso_total",
                    "Pending notifications left without any aviso, so their días hábiles never start: every aviso "
                    "failed (avisos_fallidos) or no validated medio covered the addressee (sin_medios).",
                    ["motivo"])


def turno(db: Session, sistema: str, *, ahora: datetime, limite: int) -> float:
    """A deposit's turn, asked by the gateway before it reads the body (a system's deposits one every 1/`limite` s,
    evenly spaced): the seconds the gateway holds it, or 429 (counted) when a system has more waiting than it may,
    which costs no body read, parsed, sent over the bus or verified."""
    try:
        return notificaciones.turno(db, sistema, ahora=ahora, limite=limite)
    except DemasiadasSolicitudes:
        LIMITADOS.labels(sistema).inc()
        raise


def depositar(db: Session, sistema: str, cuerpo: object, *, confianza, activacion, contactos,
              ahora: datetime) -> dict:
    """`POST /api/v1/notificaciones`, once its turn came (`turno`): parsed, the document's signature verified by
    `confianza` (400/422 before asking anyone), then activacion says who activated the RFC's Buzón (None:
    inactive) and contactos' padrón gives its RPs (only when the deposit names some)."""
    deposito = notificaciones.leer_deposito(cuerpo, confianza)
    titular = activacion.titular(deposito.rfc)
    registros: list[str] = []
    if deposito.registros_patronales:
        registros = [r["registro_patronal"] for r in contactos.padron(deposito.rfc)["registros_patronales"]]
    return notificaciones.depositar(db, sistema, deposito, titular=titular, registros_del_rfc=registros, ahora=ahora)


def registrar_avisos(db: Session, depositada: NotificacionDepositada, *, contactos, ahora: datetime) -> dict:
    """On `notificacion_depositada`: the RFC's medios from contactos, then one aviso per covering validated one."""
    medios = contactos.listar({"rfc": depositada.rfc})["medios"]
    creados = avisos.registrar_avisos(db, depositada.id, medios, ahora=ahora)
    AVISOS.labels("solicitado").inc(len(creados["avisos"]))
    if creados["sin_aviso"]:
        SIN_AVISO.labels(avisos.SIN_MEDIOS).inc()
    return creados


def mensaje_enviado(db: Session, enviado: MensajeEnviado) -> bool:
    """notificaciones' report of a sent message: only avisos (plantilla aviso_notificacion) concern this service."""
    if enviado.plantilla != avisos.PLANTILLA:
        return False
    conocido = avisos.aviso_enviado(db, enviado.id_mensaje, datetime.fromisoformat(enviado.enviado_en))
    if conocido:
        AVISOS.labels("enviado").inc()
    return conocido


def mensaje_fallido(db: Session, fallido: MensajeFallido, *, ahora: datetime) -> bool:
    if fallido.plantilla != avisos.PLANTILLA:
        return False
    resultado = avisos.aviso_fallido(db, fallido.id_mensaje, fallido.error, ahora=ahora)
    if resultado is not None:
        AVISOS.labels("fallido").inc()
    if resultado == avisos.SIN_AVISO:
        SIN_AVISO.labels(avisos.AVISOS_FALLIDOS).inc()
    return resultado is not None


def abrir(db: Session, rfc: str, id_notificacion: object, certificado: object, firma: object, *, auth,
          calendario: Calendario, ahora: datetime) -> dict:
    """The opening: the live acuse de recibo, auth verifies the e.firma over it (outside any transaction; its
    refusals are the activation's), then the rule records it."""
    cadena = apertura.por_firmar(db, rfc, id_notificacion, ahora=ahora)
    certificado = apertura._requerido(certificado, "certificado")
    firma = apertura._requerido(firma, "firma")
    verificacion = auth.verificar_efirma(certificado, cadena, firma, rfc)
    return apertura.abrir(db, rfc, id_notificacion, cadena=cadena, certificado=certificado, firma=firma,
                          verificacion=verificacion, calendario=calendario, ahora=ahora)


def declarar_tacitas(db: Session, calendario: Calendario, ahora: datetime, lote: int = apertura.LOTE_TACITAS,
                     **filtros) -> int:
    """The timer: sweeps until a batch comes back short. With `filtros` (`rfc=`, `id=`, `sistema=`), before a view:
    the timer runs every minute, and a list must not show as pendiente what can no longer be opened."""
    total = 0
    while True:
        hechas = apertura.declarar_tacitas(db, calendario, ahora, lote, **filtros)
        TACITAS.inc(hechas)
        total += hechas
        if hechas < lote:
            return total


def al_dia(db: Session, calendario: Calendario, ahora: datetime, **filtros) -> int:
    """Before a view (the person's list, count, notification or document by `rfc=`; a system's query by `id=` and
    `sistema=`): what it shows that is already past its deadline is deemed now, with its folio, code and acuse, as
    the timer would within a minute; no view shows as pendiente one that can no longer be opened. When there is
    nothing to deem (nearly always) it costs one indexed query."""
    if "id" in filtros:
        filtros["id"] = notificaciones._id_valido(filtros["id"])
        if filtros["id"] is None:
            return 0  # not an id this service gives: the view answers 404
    return declarar_tacitas(db, calendario, ahora, **filtros)
