"""The padrón of Registros Patronales (RFC → RPs with razón social): the Institute's data, imported from a CSV.

The import is an upsert by RP, so running it again (every start of every replica) changes nothing, and a row
corrected in a later file replaces the old one. RPs absent from a later file are kept: losing an RP would
orphan contact means registered for it, and the padrón file is not a statement of removals.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzon_comun.db import insercion, transaccion
from buzon_comun.tipos import RegistroPatronal, Rfc, ValorInvalido
from buzon_contactos.models import padron

log = logging.getLogger(__name__)

COLUMNAS = ("rfc", "registro_patronal", "razon_social")
LOTE = 1000


@dataclass(frozen=True)
class ResultadoImportacion:
    importados: int
    rechazados: int


def importar_csv(db: Session, ruta: str | Path, *, ahora: datetime) -> ResultadoImportacion:
    """Upsert every good row of the CSV; log and skip the bad ones. A file without the columns imports nothing."""
    importados = rechazados = 0
    # utf-8-sig: spreadsheets often save the CSV with a byte-order mark before the header.
    with open(ruta, encoding="utf-8-sig", newline="") as archivo, transaccion(db):
        lector = csv.DictReader(archivo)
        faltan = [c for c in COLUMNAS if c not in (lector.fieldnames or [])]
        if faltan:
            log.error("el padrón %s no tiene las columnas %s: no se importó nada", ruta, ", ".join(faltan))
            return ResultadoImportacion(0, 0)
        lote: dict[str, dict] = {}
        for fila in lector:
            try:
                registro = _fila(fila)
            except ValorInvalido as rechazo:
                rechazados += 1
                log.warning("padrón %s, línea %s descartada: %s", ruta, lector.line_num, rechazo.mensaje)
                continue
            # A repeated RP inside one batch would make the upsert touch a row twice: the last one wins.
            lote[registro["registro_patronal"]] = registro
            if len(lote) >= LOTE:
                importados += _guardar(db, list(lote.values()), ahora)
                lote = {}
        if lote:
            importados += _guardar(db, list(lote.values()), ahora)
    return ResultadoImportacion(importados, rechazados)


def _fila(fila: dict) -> dict:
    razon = (fila.get("razon_social") or "").strip()
    if not razon:
        raise ValorInvalido("razon_social_invalida", "La razón social está vacía.")
    if len(razon) > 300:
        raise ValorInvalido("razon_social_invalida", "La razón social tiene más de 300 caracteres.")
    return {
        "rfc": str(Rfc.parse(fila.get("rfc") or "")),
        "registro_patronal": str(RegistroPatronal.parse(fila.get("registro_patronal") or "")),
        "razon_social": razon,
    }


def _guardar(db: Session, filas: list[dict], ahora: datetime) -> int:
    sentencia = insercion(db, padron).values([{**f, "actualizado_en": ahora} for f in filas])
    sentencia = sentencia.on_conflict_do_update(
        index_elements=[padron.c.registro_patronal],
        set_={"rfc": sentencia.excluded.rfc, "razon_social": sentencia.excluded.razon_social,
              "actualizado_en": sentencia.excluded.actualizado_en},
    )
    db.execute(sentencia)
    return len(filas)


def registros_de(db: Session, rfc: str) -> list[dict]:
    """The RFC's RPs, sorted, as the public contract shows them."""
    filas = db.execute(
        select(padron.c.registro_patronal, padron.c.razon_social)
        .where(padron.c.rfc == rfc)
        .order_by(padron.c.registro_patronal)
    ).all()
    return [{"registro_patronal": f.registro_patronal, "razon_social": f.razon_social} for f in filas]


def consultar(db: Session, rfc: str) -> list[dict]:
    """`registros_de` as a unit of work of its own (for the RPCs that only ask)."""
    with transaccion(db):
        return registros_de(db, rfc)
