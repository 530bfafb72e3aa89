"""Acuse requests: stored once per folio, whatever the bus delivers twice."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzon_acuses.models import solicitudes
from buzon_comun.db import insercion
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import AcuseSolicitado

MENSAJE_NO_DISPONIBLE = "El acuse no existe o todavía no está disponible."


def guardar(db: Session, solicitud: AcuseSolicitado, *, ahora: datetime) -> bool:
    """Keep the request; False if that folio was already here (a redelivery)."""
    sentencia = insercion(db, solicitudes).values(
        folio=solicitud.folio, tipo=solicitud.tipo, rfc=solicitud.rfc, emitido_en=solicitud.emitido_en,
        solicitud=json.dumps(solicitud.carga(), ensure_ascii=False), recibida_en=ahora,
    ).on_conflict_do_nothing(index_elements=[solicitudes.c.folio])
    nueva = db.execute(sentencia).rowcount == 1
    db.commit()
    return nueva


def solicitud_de(db: Session, folio: str, rfc: str) -> dict:
    """The request of an acuse of this RFC; NoEncontrado for another RFC's, never saying which."""
    fila = db.execute(select(solicitudes).where(solicitudes.c.folio == folio, solicitudes.c.rfc == rfc)).first()
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_DISPONIBLE)
    return json.loads(fila.solicitud)
