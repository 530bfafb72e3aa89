"""Avisos: every validated medio de contacto that covers a notification's addressee is told there is a message.

One aviso per notification per medio, whatever number of times it is asked (`registrar_avisos` runs again after
a redelivered event and adds nothing). Each is asked of notificaciones as a `CorreoSolicitado` or `SmsSolicitado`
(plantilla `aviso_notificacion`) through the outbox, in the same transaction that records it; its id is the
message's `id_mensaje`, so notificaciones never sends one twice and its delivery events find it again
(`aviso_enviado`, `aviso_fallido`).

What the request carries, and what it never does. An aviso says "Tienes un mensaje en tu Buzón IMSS" (in an SMS,
in GSM-7: "Tienes un mensaje en tu Buzon IMSS") with the date of the deposit, and the RFC and the RPs it is
addressed to, so a person with several RFCs or RPs knows which Buzón to open. Never the subject, the area, the
kind of act or the document: `datos` holds `rfc`, `registros_patronales`, `depositada_en` and nothing else, and
`referencia` is the notification's id (an opaque UUID). The texts live in notificaciones' templates;
`TEXTO_AVISO` and `TEXTO_AVISO_SMS` here are the contract they follow.

Priority. The requests are published on buzon's own exchange (`buzon.events`), not contactos': notificaciones
consumes them on queues of their own (a later session wires it), so a campaign's 100,000 avisos wait there while a
person's validation code, on contactos' queue, goes first. Avisos are not subject to the per-destination limits of
validation messages: there is exactly one per medio per notification.

Which medios cover a notification: the validated RFC-level ones (no RPs) always; one tied to some RPs, only when
the notification names one of them. A notification addressed to the RFC alone reaches the RFC-level medios only.

Left without any aviso. A pending notification whose every aviso failed, or that no medio covered, never starts its
días hábiles (they count from an aviso sent): nobody was told, so it is never deemed notified. The moment that is
known is recorded once (`sin_aviso_en`), and the caller counts it for operators (`SIN_AVISO`): the depositing
system sees the avisos' states in its query and notifies by other legal means.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import encolar
from buzon_comun.db import insercion, transaccion
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import CorreoSolicitado, SmsSolicitado
from buzon_comun.reloj import iso_mexico
from buzon_buzon.models import avisos, notificaciones, salida
from buzon_buzon.notificaciones import MENSAJE_NO_ENCONTRADA, PENDIENTE

log = logging.getLogger(__name__)

PLANTILLA = "aviso_notificacion"
TEXTO_AVISO = "Tienes un mensaje en tu Buzón IMSS"
TEXTO_AVISO_SMS = "Tienes un mensaje en tu Buzon IMSS"
CORREO, TELEFONO = "correo", "telefono"
SOLICITADO, ENVIADO, FALLIDO = "solicitado", "enviado", "fallido"
# What `aviso_fallido` found: the aviso failed, and maybe its notification was left without any aviso.
SIN_AVISO = "sin_aviso"
# Why a notification was left without any aviso (the label of buzon_buzon_notificaciones_sin_aviso_total).
AVISOS_FALLIDOS, SIN_MEDIOS = "avisos_fallidos", "sin_medios"
VALIDADO = "validado"
_DIEZ_DIGITOS = re.compile(r"(?:\+52)?([0-9]{10})")


def _destino(medio: dict) -> str | None:
    """Where the aviso goes: the address, or +52 and 10 digits; None for a value that can't be (logged)."""
    valor = medio.get("valor")
    if not isinstance(valor, str) or not valor:
        return None
    if medio.get("mecanismo") == TELEFONO:
        digitos = _DIEZ_DIGITOS.fullmatch(valor.replace(" ", ""))
        return "+52" + digitos.group(1) if digitos else None
    return valor if "@" in valor and len(valor) <= 254 else None


def cubre(medio: dict, registros_patronales: list[str]) -> bool:
    """Does a medio reach a notification's addressee? Validated, and RFC-level or tied to one of its RPs."""
    if medio.get("estado") != VALIDADO or medio.get("mecanismo") not in (CORREO, TELEFONO):
        return False
    propios = medio.get("registros_patronales") or []
    return not propios or any(rp in registros_patronales for rp in propios)


def _solicitud(aviso_id: str, mecanismo: str, destino: str, notificacion) -> CorreoSolicitado | SmsSolicitado:
    datos = {"rfc": notificacion["rfc"],
             "registros_patronales": [{"registro_patronal": rp}
                                      for rp in json.loads(notificacion["registros_patronales"])],
             "depositada_en": iso_mexico(notificacion["depositada_en"])}
    clase = CorreoSolicitado if mecanismo == CORREO else SmsSolicitado
    return clase(id_mensaje=aviso_id, para=destino, plantilla=PLANTILLA, datos=datos, referencia=notificacion["id"])


def registrar_avisos(db: Session, id_notificacion: str, medios: list[dict], *, ahora: datetime) -> dict:
    """One aviso for each medio of `medios` (contactos' list of the RFC's medios) that covers the notification,
    asked of notificaciones in the same transaction. Medios that already have their aviso are left as they are,
    so a repeat asks nothing again. Returns the avisos created now, and whether this left the notification without
    any aviso at all (no covering medio with a usable value): `{"avisos": [{"id", "medio_id", "mecanismo"}],
    "sin_aviso": bool}` (true once per notification).

    Only a pending notification gets avisos (one opened or deemed meanwhile needs none); an unknown id is 404."""
    with transaccion(db):
        notificacion = db.execute(select(
            notificaciones.c.id, notificaciones.c.rfc, notificaciones.c.registros_patronales,
            notificaciones.c.depositada_en, notificaciones.c.estado,
        ).where(notificaciones.c.id == id_notificacion)).mappings().first()
        if notificacion is None:
            raise NoEncontrado("no_encontrado", MENSAJE_NO_ENCONTRADA)
        if notificacion["estado"] != PENDIENTE:
            return {"avisos": [], "sin_aviso": False}
        rps = json.loads(notificacion["registros_patronales"])
        creados = []
        vistos = set()
        for medio in medios or []:
            medio_id = str(medio.get("id") or "")
            if not medio_id or medio_id in vistos or not cubre(medio, rps):
                continue
            vistos.add(medio_id)
            destino = _destino(medio)
            if destino is None:
                log.warning("medio %s de %s sin un destino utilizable: sin aviso", medio_id, notificacion["rfc"])
                continue
            aviso_id = str(uuid.uuid4())
            # Insert-once on (notificación, medio): two replicas handling one event never both ask.
            sentencia = insercion(db, avisos).values(
                id=aviso_id, notificacion_id=notificacion["id"], medio_id=medio_id, mecanismo=medio["mecanismo"],
                destino=destino, estado=SOLICITADO, solicitado_en=ahora,
            ).on_conflict_do_nothing(index_elements=[avisos.c.notificacion_id, avisos.c.medio_id]
                                     ).returning(avisos.c.id)
            if db.execute(sentencia).scalar_one_or_none() is None:
                continue
            encolar(db, salida, _solicitud(aviso_id, medio["mecanismo"], destino, notificacion), ahora=ahora)
            creados.append({"id": aviso_id, "medio_id": medio_id, "mecanismo": medio["mecanismo"]})
        sin_aviso = not creados and _quedo_sin_aviso(db, notificacion["id"], SIN_MEDIOS, ahora=ahora)
    if creados:
        log.info("notificación %s: %d avisos solicitados", id_notificacion, len(creados))
    return {"avisos": creados, "sin_aviso": sin_aviso}


def _quedo_sin_aviso(db: Session, id_notificacion: str, motivo: str, *, ahora: datetime) -> bool:
    """In the caller's transaction: if the pending notification has no aviso sent nor one that may still be (none,
    or every one failed), record when that was known, once. True when this call recorded it.

    The row is locked first: two avisos of one notification failing at once are settled one after the other, and
    the second sees the first's failure (a check on the avisos alone would let each see the other still pending)."""
    db.execute(select(notificaciones.c.id).where(notificaciones.c.id == id_notificacion).with_for_update())
    vivos = exists().where(avisos.c.notificacion_id == notificaciones.c.id, avisos.c.estado != FALLIDO)
    hecho = db.execute(update(notificaciones).where(
        notificaciones.c.id == id_notificacion, notificaciones.c.estado == PENDIENTE,
        notificaciones.c.aviso_enviado_en.is_(None), notificaciones.c.sin_aviso_en.is_(None), ~vivos,
    ).values(sin_aviso_en=ahora)).rowcount == 1
    if hecho:
        log.warning("notificación %s sin ningún aviso (%s): sus días hábiles no empiezan; el sistema depositante "
                    "debe notificar por otro medio legal", id_notificacion, motivo)
    return hecho


def aviso_enviado(db: Session, id_mensaje: str, enviado_en: datetime) -> bool:
    """notificaciones handed the aviso to the mail server or the SMS provider at `enviado_en`.

    The aviso becomes `enviado` (a repeat of the report changes nothing), and the notification's
    `aviso_enviado_en` becomes the earliest aviso sent: the días hábiles count from it. Once the notification is
    opened or deemed, that date stays as it was (a deemed date was computed from it). Returns whether the aviso was
    known (a message of another kind is not an aviso)."""
    if enviado_en.tzinfo is None:
        raise ValueError("enviado_en necesita una fecha con zona horaria")
    with transaccion(db):
        fila = db.execute(update(avisos).where(avisos.c.id == id_mensaje)
                          .values(estado=ENVIADO, enviado_en=enviado_en, fallido_en=None, error=None)
                          .where((avisos.c.estado != ENVIADO) | avisos.c.enviado_en.is_(None))
                          .returning(avisos.c.notificacion_id)).first()
        if fila is None:
            return db.execute(select(avisos.c.id).where(avisos.c.id == id_mensaje)).first() is not None
        db.execute(update(notificaciones).where(
            notificaciones.c.id == fila.notificacion_id,
            notificaciones.c.aviso_enviado_en.is_(None)
            | ((notificaciones.c.estado == PENDIENTE) & (notificaciones.c.aviso_enviado_en > enviado_en)),
        ).values(aviso_enviado_en=enviado_en))
    return True


def aviso_fallido(db: Session, id_mensaje: str, error: str, *, ahora: datetime) -> str | None:
    """notificaciones gave the aviso up after its last try. An aviso already sent stays sent.

    Returns None for an id that is no aviso; `SIN_AVISO` when this failure left its pending notification without
    any aviso sent or still on its way (recorded once: a repeated report finds it recorded); else `FALLIDO`."""
    with transaccion(db):
        fila = db.execute(update(avisos).where(avisos.c.id == id_mensaje, avisos.c.estado == SOLICITADO)
                          .values(estado=FALLIDO, fallido_en=ahora, error=(error or "")[:500])
                          .returning(avisos.c.notificacion_id)).first()
        if fila is not None:
            return SIN_AVISO if _quedo_sin_aviso(db, fila.notificacion_id, AVISOS_FALLIDOS, ahora=ahora) else FALLIDO
        conocido = db.execute(select(avisos.c.id).where(avisos.c.id == id_mensaje)).first() is not None
    return FALLIDO if conocido else None
