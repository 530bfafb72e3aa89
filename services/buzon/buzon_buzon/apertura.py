"""Opening a notification with a signed acuse de recibo, and deemed notification (notificación tácita).

The person's way (`acuse_recibo` → the caller verifies the e.firma with auth over `por_firmar`'s cadena →
`abrir`): the acuse de recibo is a cadena naming the notification, the RFC, the moment and the document's digest,
the same on every ask for `VIGENCIA_RECIBO`, stored so that the signature is checked against exactly what was
offered. Opening turns the notification `abierta` at that moment and asks acuses for the acuse de notificación
(tipo `notificacion`, a folio NOT-…) in the same transaction as `notificacion_abierta`. The acuse's código de
verificación is minted here and sent with the request (acuses keeps it): the opening answers it at once, and the
lists carry it, without waiting for acuses to read the request.

The timer's way (`declarar_tacitas`): pending notifications whose aviso was sent before
`calendario.limite_de_avisos_vencidos(ahora)` turn `tacita`, notified at their deemed moment
(`calendario.momento_tacito`, never the moment the timer ran), with `notificacion_tacita` and their acuse.

The race between them is settled by the notification's row lock: the sweep takes rows `FOR UPDATE SKIP LOCKED`
(two sweeps never take the same row, and neither waits for an opening in progress), an opening takes its row
`FOR UPDATE` (it waits for a sweep holding it, then finds it `tacita`). And an opening checks the deadline itself:
a notification already past it is deemed there and then (409 `ya_notificada`), so nobody can open, and re-date,
one that is deemed even when the timer has not run yet.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import encolar
from buzon_comun.codigos import nuevo_codigo
from buzon_comun.db import insercion, transaccion
from buzon_comun.errores import Conflicto, NoEncontrado, Prohibido, ReglaIncumplida, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado, NotificacionAbierta, NotificacionTacita
from buzon_comun.folios import siguiente_folio
from buzon_comun.reloj import iso_mexico
from buzon_buzon.habiles import Calendario
from buzon_buzon.models import folios, notificaciones, recibos, salida
from buzon_buzon.notificaciones import ABIERTA, MENSAJE_NO_ENCONTRADA, PENDIENTE, TACITA, _id_valido

log = logging.getLogger(__name__)

# Enough to read it and find the e.firma's files, as the activation's Solicitud.
VIGENCIA_RECIBO = timedelta(minutes=30)
VERSION_CADENA = "1.0"
TRAMITE = "ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS"
TIPO_ACUSE = "notificacion"
APERTURA, FORMA_TACITA = "apertura", "tacita"
CAMPOS_TITULAR = ("rfc", "nombre", "curp", "rfc_representante", "tipo_persona")
# How many a sweep deems in one transaction (each one asks two events and a folio).
LOTE_TACITAS = 100

MENSAJE_YA_NOTIFICADA = "Esta notificación ya surtió efectos: ya fue abierta o se tuvo por notificada."
MENSAJE_SIN_RECIBO = ("Antes de firmar, consulta el acuse de recibo de esta notificación: no hay uno vigente. "
                      "Consúltalo de nuevo y firma la cadena original que se te entregue.")


def _campo(valor: object) -> str:
    # The separator inside a value would make two cadenas read alike (the id and RFC never carry one).
    return " ".join(str(valor).replace("|", "/").split())


def cadena_acuse_recibo(notificacion: dict, rfc: str, momento: datetime) -> str:
    """The acuse de recibo to sign:
    `||1.0|ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS|<id>|<RFC>|<momento ISO, Mexico City>|<SHA-256 of the PDF>||`.

    It names the notification, the RFC and the moment it was offered, and binds the document by its digest: the
    signature covers exactly the act that is released after it."""
    campos = (VERSION_CADENA, TRAMITE, notificacion["id"], rfc, iso_mexico(momento), notificacion["documento_sha256"])
    return "||" + "|".join(_campo(c) for c in campos) + "||"


def _bloquear(db: Session, id_notificacion: object, rfc: str):
    """The RFC's notification, its row locked until the transaction ends (waits for a sweep holding it)."""
    ident = _id_valido(id_notificacion)
    fila = None
    if ident is not None:
        fila = db.execute(select(
            notificaciones.c.id, notificaciones.c.sistema, notificaciones.c.referencia, notificaciones.c.rfc,
            notificaciones.c.registros_patronales, notificaciones.c.asunto, notificaciones.c.area,
            notificaciones.c.tipo_acto, notificaciones.c.documento_sha256, notificaciones.c.estado,
            notificaciones.c.depositada_en, notificaciones.c.aviso_enviado_en, notificaciones.c.titular,
        ).where(notificaciones.c.id == ident, notificaciones.c.rfc == rfc).with_for_update()).mappings().first()
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_ENCONTRADA)
    return fila


def _vencida(fila, calendario: Calendario, ahora: datetime) -> bool:
    return fila["aviso_enviado_en"] is not None and calendario.vencida(fila["aviso_enviado_en"], ahora)


def _datos_acuse(fila, forma: str, **extra) -> dict:
    return {"forma": forma, "notificacion_id": fila["id"], "sistema": fila["sistema"],
            "asunto": fila["asunto"], "area": fila["area"], "tipo_acto": fila["tipo_acto"],
            "registros_patronales": json.loads(fila["registros_patronales"]),
            "depositada_en": iso_mexico(fila["depositada_en"]),
            "aviso_enviado_en": iso_mexico(fila["aviso_enviado_en"]) if fila["aviso_enviado_en"] else None,
            "documento_sha256": fila["documento_sha256"], **extra}


def _titular_tacita(fila) -> dict:
    """The addressee kept at the deposit (only their RFC for deposits made before it was kept)."""
    guardado = json.loads(fila["titular"]) if fila["titular"] else {}
    return {campo: (fila["rfc"] if campo == "rfc" else guardado.get(campo)) for campo in CAMPOS_TITULAR}


def _tener_por_notificada(db: Session, fila, calendario: Calendario, *, ahora: datetime) -> str:
    """In the caller's transaction, with the row locked: deemed notified at its deemed moment, announced and its
    acuse asked. Returns the folio."""
    momento = calendario.momento_tacito(fila["aviso_enviado_en"])
    folio = siguiente_folio(db, folios, TIPO_ACUSE, ahora=momento)
    codigo = nuevo_codigo()
    hecho = db.execute(update(notificaciones).where(notificaciones.c.id == fila["id"],
                                                    notificaciones.c.estado == PENDIENTE)
                       .values(estado=TACITA, notificada_en=momento, folio_acuse=folio,
                               codigo_verificacion=codigo)).rowcount
    if not hecho:
        raise RuntimeError(f"la notificación {fila['id']} dejó de estar pendiente con su fila bloqueada")
    notificada_en = iso_mexico(momento)
    encolar(db, salida, NotificacionTacita(
        id=fila["id"], sistema=fila["sistema"], referencia=fila["referencia"], rfc=fila["rfc"],
        aviso_enviado_en=iso_mexico(fila["aviso_enviado_en"]), notificada_en=notificada_en, folio_acuse=folio),
        ahora=ahora)
    # The acuse states the deemed date and names the addressee as activated (nobody signed this one).
    encolar(db, salida, AcuseSolicitado(
        folio=folio, tipo=TIPO_ACUSE, rfc=fila["rfc"], emitido_en=notificada_en, titular=_titular_tacita(fila),
        datos=_datos_acuse(fila, FORMA_TACITA, notificada_en=notificada_en), codigo_verificacion=codigo),
        ahora=ahora)
    db.execute(delete(recibos).where(recibos.c.notificacion_id == fila["id"]))
    return folio


# -- the person's opening ---------------------------------------------------------------------------------------

def acuse_recibo(db: Session, rfc: str, id_notificacion: object, *, calendario: Calendario,
                 ahora: datetime) -> dict:
    """`GET …/acuse-recibo`: the cadena to sign to open it, the same while it lives. 404 for another RFC's;
    409 `ya_notificada` once abierta or tacita, or past its deadline (then it is deemed here)."""
    with transaccion(db):
        fila = _bloquear(db, id_notificacion, rfc)
        if fila["estado"] == PENDIENTE and _vencida(fila, calendario, ahora):
            _tener_por_notificada(db, fila, calendario, ahora=ahora)
            fila = None
        elif fila["estado"] == PENDIENTE:
            vigente = db.execute(select(recibos.c.cadena).where(
                recibos.c.notificacion_id == fila["id"], recibos.c.rfc == rfc, recibos.c.expira_en > ahora)
            ).scalar_one_or_none()
            if vigente is None:
                vigente = cadena_acuse_recibo(dict(fila), rfc, ahora)
                valores = dict(notificacion_id=fila["id"], rfc=rfc, cadena=vigente, emitida_en=ahora,
                               expira_en=ahora + VIGENCIA_RECIBO)
                sentencia = insercion(db, recibos).values(**valores)
                db.execute(sentencia.on_conflict_do_update(
                    index_elements=[recibos.c.notificacion_id],
                    set_={k: sentencia.excluded[k] for k in valores if k != "notificacion_id"}))
    if fila is None or fila["estado"] != PENDIENTE:
        raise Conflicto("ya_notificada", MENSAJE_YA_NOTIFICADA)
    return {"cadena_original": vigente}


def por_firmar(db: Session, rfc: str, id_notificacion: object, *, ahora: datetime) -> str:
    """The live cadena the caller has auth verify the signature over (before `abrir`, outside its transaction).
    404 for another RFC's; 409 `ya_notificada` if made; 422 `firma_invalida` when none was offered or it lapsed."""
    with transaccion(db):
        ident = _id_valido(id_notificacion)
        fila = db.execute(select(notificaciones.c.estado, recibos.c.cadena, recibos.c.expira_en)
                          .select_from(notificaciones.outerjoin(recibos, (recibos.c.notificacion_id
                                                                         == notificaciones.c.id)
                                                                & (recibos.c.rfc == rfc)))
                          .where(notificaciones.c.id == ident, notificaciones.c.rfc == rfc)
                          ).mappings().first() if ident else None
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_ENCONTRADA)
    if fila["estado"] != PENDIENTE:
        raise Conflicto("ya_notificada", MENSAJE_YA_NOTIFICADA)
    if fila["cadena"] is None or fila["expira_en"] <= ahora:
        raise ReglaIncumplida("firma_invalida", MENSAJE_SIN_RECIBO)
    return fila["cadena"]


def _requerido(valor: object, campo: str) -> str:
    if not isinstance(valor, str) or not valor:
        raise SolicitudInvalida("solicitud_invalida", f"El campo «{campo}» es obligatorio y debe ser texto.")
    return valor


def _momento(texto: object, defecto: datetime) -> datetime:
    try:
        momento = datetime.fromisoformat(texto) if isinstance(texto, str) else defecto
    except ValueError:
        return defecto
    return momento if momento.tzinfo is not None else defecto


def abrir(db: Session, rfc: str, id_notificacion: object, *, cadena: str, certificado: object, firma: object,
          verificacion: dict, calendario: Calendario, ahora: datetime) -> dict:
    """Open a pending notification whose acuse de recibo `cadena` (from `por_firmar`) the caller had auth verify
    (`verificacion`: auth.verificar_efirma's answer). In one transaction, with the row locked: it turns `abierta`,
    notified now, with its evidence and a folio; `notificacion_abierta` and the acuse's request are enqueued.

    404 for another RFC's; 409 `ya_notificada` when abierta or tacita, and when its deadline passed (it is deemed
    then, committed, before the refusal); 422 `firma_invalida` when the cadena signed is no longer the one offered
    (it lapsed and another was issued); 403 `certificado_ajeno` if the verified signer is another RFC.

    Answers `{"estado": "abierta", "notificada_en", "folio_acuse", "codigo_verificacion"}`."""
    certificado = _requerido(certificado, "certificado")
    firma = _requerido(firma, "firma")
    if not isinstance(verificacion, dict) or verificacion.get("rfc") != rfc:
        # auth already refuses another RFC's certificate; this guards the record against a contract slip.
        raise Prohibido("certificado_ajeno", "El certificado no corresponde al RFC de la sesión.")
    notificada_en = iso_mexico(ahora)
    with transaccion(db):
        fila = _bloquear(db, id_notificacion, rfc)
        if fila["estado"] != PENDIENTE:
            respuesta = None
        elif _vencida(fila, calendario, ahora):
            _tener_por_notificada(db, fila, calendario, ahora=ahora)
            respuesta = None
        else:
            ofrecida = db.execute(select(recibos.c.cadena).where(
                recibos.c.notificacion_id == fila["id"], recibos.c.rfc == rfc, recibos.c.expira_en > ahora)
            ).scalar_one_or_none()
            if ofrecida is None or ofrecida != cadena:
                raise ReglaIncumplida("firma_invalida", MENSAJE_SIN_RECIBO)
            folio = siguiente_folio(db, folios, TIPO_ACUSE, ahora=ahora)
            codigo = nuevo_codigo()
            db.execute(update(notificaciones).where(notificaciones.c.id == fila["id"]).values(
                estado=ABIERTA, notificada_en=ahora, folio_acuse=folio, codigo_verificacion=codigo,
                cadena_recibo=cadena, firma_recibo=firma,
                certificado_recibo=certificado, numero_certificado=verificacion.get("numero_certificado") or "",
                ocsp_recibo=verificacion.get("ocsp") or "",
                verificado_en=_momento(verificacion.get("verificado_en"), ahora)))
            db.execute(delete(recibos).where(recibos.c.notificacion_id == fila["id"]))
            encolar(db, salida, NotificacionAbierta(
                id=fila["id"], sistema=fila["sistema"], referencia=fila["referencia"], rfc=rfc,
                notificada_en=notificada_en, folio_acuse=folio), ahora=ahora)
            encolar(db, salida, AcuseSolicitado(
                folio=folio, tipo=TIPO_ACUSE, rfc=rfc, emitido_en=notificada_en,
                titular={campo: verificacion.get(campo) for campo in CAMPOS_TITULAR},
                datos=_datos_acuse(fila, APERTURA, notificada_en=notificada_en, cadena_original=cadena, firma=firma,
                                   numero_certificado=verificacion.get("numero_certificado")),
                codigo_verificacion=codigo), ahora=ahora)
            respuesta = {"estado": ABIERTA, "notificada_en": notificada_en, "folio_acuse": folio,
                         "codigo_verificacion": codigo}
    if respuesta is None:
        raise Conflicto("ya_notificada", MENSAJE_YA_NOTIFICADA)
    log.info("notificación %s abierta por %s con folio %s", fila["id"], rfc, respuesta["folio_acuse"])
    return respuesta


# -- the timer: deemed notification -----------------------------------------------------------------------------

def elegir_vencidas(db: Session, calendario: Calendario, ahora: datetime, lote: int, **filtros) -> list:
    """In the caller's transaction: up to `lote` pending notifications already deemed by `ahora` (only those whose
    columns equal `filtros`, e.g. `rfc=`), oldest aviso first, their rows locked; rows another sweep or an opening
    holds are skipped, never waited for."""
    consulta = (select(notificaciones.c.id, notificaciones.c.sistema, notificaciones.c.referencia,
                       notificaciones.c.rfc, notificaciones.c.registros_patronales, notificaciones.c.asunto,
                       notificaciones.c.area, notificaciones.c.tipo_acto, notificaciones.c.documento_sha256,
                       notificaciones.c.estado, notificaciones.c.depositada_en, notificaciones.c.aviso_enviado_en,
                       notificaciones.c.titular)
                .where(notificaciones.c.estado == PENDIENTE,
                       notificaciones.c.aviso_enviado_en < calendario.limite_de_avisos_vencidos(ahora),
                       *[notificaciones.c[campo] == valor for campo, valor in filtros.items()])
                .order_by(notificaciones.c.aviso_enviado_en, notificaciones.c.id)
                .limit(lote))
    if db.bind.dialect.name == "postgresql":
        consulta = consulta.with_for_update(skip_locked=True)
    return db.execute(consulta).mappings().all()


def declarar_tacitas(db: Session, calendario: Calendario, ahora: datetime, lote: int = LOTE_TACITAS,
                     **filtros) -> int:
    """One sweep of the timer: deem notified up to `lote` pending notifications past their deadline, each at its
    deemed moment, in one transaction. Returns how many; the timer calls it again while it returns `lote`.
    Safe with other sweeps (other replicas) and openings at the same time. With `filtros` (`rfc=`, `id=`), only
    those: what a person's or a system's view deems before it reads, instead of waiting for the timer."""
    with transaccion(db):
        filas = elegir_vencidas(db, calendario, ahora, lote, **filtros)
        for fila in filas:
            _tener_por_notificada(db, fila, calendario, ahora=ahora)
    if filas:
        log.info("%d notificaciones tenidas por notificadas", len(filas))
    return len(filas)
