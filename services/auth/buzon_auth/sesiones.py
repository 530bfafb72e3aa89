"""Challenges and sessions: the rules of the e.firma login, free of nameko so they test without a broker.

A challenge is single use across every replica: spending it is one conditional UPDATE, committed before any
other check, so a failed attempt spends it too. Session tokens are opaque random values stored only as hashes.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from buzon_auth.models import limites, retos, salida, sesiones
from buzon_comun import limites as limitador
from buzon_comun.bandeja_salida import encolar
from buzon_comun.db import transaccion
from buzon_comun.eventos import SesionCerrada, SesionIniciada
from buzon_comun.errores import NoAutenticado

BYTES_RETO = 32  # 256 bits
BYTES_TOKEN = 32

MENSAJE_RETO_INVALIDO = "El reto no es válido: no existe, ya venció o ya se usó. Solicita uno nuevo e intenta otra vez."
MENSAJE_NO_AUTENTICADO = "Tu sesión no es válida o ya terminó. Inicia sesión con tu e.firma."


def _hash(valor: str) -> str:
    return hashlib.sha256(valor.encode("utf-8")).hexdigest()


def _aleatorio(nbytes: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Reto:
    valor: str
    expira_en: datetime


@dataclass(frozen=True)
class SesionAbierta:
    token: str
    expira_en: datetime


def limitar_retos(db: Session, cliente: str, *, ahora: datetime, por_minuto: int) -> None:
    with transaccion(db):
        limitador.contar(db, limites, f"retos:{cliente}", ahora=ahora, ventana_s=60, limite=por_minuto)


def crear_reto(db: Session, *, ahora: datetime, duracion_s: int) -> Reto:
    valor = _aleatorio(BYTES_RETO)
    expira = ahora + timedelta(seconds=duracion_s)
    with transaccion(db):
        db.execute(retos.insert().values(reto_hash=_hash(valor), creado_en=ahora, expira_en=expira))
    return Reto(valor, expira)


def consumir_reto(db: Session, valor: str, *, ahora: datetime) -> None:
    """Spend the challenge now, whatever happens next; raise reto_invalido if it can't be spent."""
    if not isinstance(valor, str) or not valor or len(valor) > 200:
        raise NoAutenticado("reto_invalido", MENSAJE_RETO_INVALIDO)
    h = _hash(valor)
    with transaccion(db):
        gastado = db.execute(
            update(retos)
            .where(retos.c.reto_hash == h, retos.c.consumido_en.is_(None))
            .values(consumido_en=ahora)
            .returning(retos.c.expira_en)
        ).scalar_one_or_none()
    if gastado is None or gastado <= ahora:
        raise NoAutenticado("reto_invalido", MENSAJE_RETO_INVALIDO)


def abrir_sesion(db: Session, identidad: dict, *, ahora: datetime, duracion_s: int) -> SesionAbierta:
    token = _aleatorio(BYTES_TOKEN)
    expira = ahora + timedelta(seconds=duracion_s)
    with transaccion(db):
        db.execute(
            sesiones.insert().values(
                token_hash=_hash(token),
                rfc=identidad["rfc"],
                rfc_representante=identidad["rfc_representante"],
                curp=identidad["curp"],
                nombre=identidad["nombre"],
                tipo_persona=identidad["tipo_persona"],
                numero_certificado=identidad["numero_certificado"],
                creada_en=ahora,
                expira_en=expira,
            )
        )
        encolar(db, salida, SesionIniciada(rfc=identidad["rfc"], tipo_persona=identidad["tipo_persona"],
                                           numero_certificado=identidad["numero_certificado"],
                                           rfc_representante=identidad["rfc_representante"]), ahora=ahora)
    return SesionAbierta(token, expira)


CAMPOS_IDENTIDAD = ("rfc", "curp", "nombre", "tipo_persona", "rfc_representante", "numero_certificado")


def _vigente(db: Session, token: str, ahora: datetime) -> dict:
    if not isinstance(token, str) or not token or len(token) > 200:
        raise NoAutenticado("no_autenticado", MENSAJE_NO_AUTENTICADO)
    fila = db.execute(
        select(sesiones).where(
            sesiones.c.token_hash == _hash(token),
            sesiones.c.cerrada_en.is_(None),
            sesiones.c.expira_en > ahora,
        )
    ).mappings().one_or_none()
    if fila is None:
        raise NoAutenticado("no_autenticado", MENSAJE_NO_AUTENTICADO)
    return {**{campo: fila[campo] for campo in CAMPOS_IDENTIDAD}, "expira_en": fila["expira_en"]}


def sesion_vigente(db: Session, token: str, *, ahora: datetime) -> dict:
    """The identity and expiry of a live session, or no_autenticado."""
    with transaccion(db):
        return _vigente(db, token, ahora)


def cerrar_sesion(db: Session, token: str, *, ahora: datetime) -> None:
    with transaccion(db):
        vigente = _vigente(db, token, ahora)
        db.execute(update(sesiones).where(sesiones.c.token_hash == _hash(token)).values(cerrada_en=ahora))
        encolar(db, salida, SesionCerrada(rfc=vigente["rfc"]), ahora=ahora)


def purgar(db: Session, *, ahora: datetime, conservar_sesiones: timedelta = timedelta(days=1)) -> None:
    """Drop expired challenges at once and sessions that ended long enough ago to be of no use.

    An expired challenge is refused whether its row exists or not (`consumir_reto` finds nothing to spend), so
    deleting it keeps single use; only the rows a flood of requests leaves behind go.
    """
    with transaccion(db):
        db.execute(delete(retos).where(retos.c.expira_en < ahora))
        db.execute(delete(sesiones).where(sesiones.c.expira_en < ahora - conservar_sesiones))
        limitador.purgar(db, limites, ahora=ahora, ventana_s=60)
