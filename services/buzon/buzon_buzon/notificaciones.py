"""Depositing notifications and reading them, free of nameko so it tests without a broker.

Every function takes a SQLAlchemy session and, where time matters, the moment `ahora`; what other services know
(whether the RFC's Buzón is active, its Registros Patronales) is passed in by the caller, which asks them before
and outside any transaction here.

- `leer_deposito(cuerpo, confianza)`: the depositing system's JSON parsed at the edge into a `Deposito` (typed RFC
  and RPs, bounded texts, the PDF decoded and its signature verified by `confianza`: `firma_documento`), or the
  contract's refusal.
- `turno(db, sistema, *, ahora, limite)`: a system's deposits get evenly spaced turns, one every 1/limite s
  (BUZON_DEPOSITOS_POR_SEGUNDO), asked before the body is read: the seconds a deposit waits for its own, or 429
  when that would be more than ESPERA_MAXIMA_DEPOSITO_S.
- `depositar(db, sistema, deposito, …)`: records it once per (system, referencia) and announces
  `notificacion_depositada` through the outbox in the same transaction; a repeat gets the first answer.
- `consultar(db, sistema, id, *, calendario)`: the depositing system's view (its own deposits only).
- `listar`, `pendientes`, `obtener`, `documento`: the addressee's view (their RFC's only).
- `plazo(fila, calendario)`: a pending notification's deadline in those views (`abrir_hasta`, `tacita_el`),
  from `Calendario.plazo` of its aviso.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import encolar
from buzon_comun.db import transaccion
from buzon_comun import limites as limitador
from buzon_comun.errores import Conflicto, DemasiadasSolicitudes, NoEncontrado, ReglaIncumplida, SolicitudInvalida
from buzon_comun.eventos import NotificacionDepositada
from buzon_comun.idempotencia import huella
from buzon_comun.reloj import ZONA_MEXICO, iso_mexico
from buzon_comun.textos import es_texto_valido
from buzon_comun.tipos import RegistroPatronal, Rfc, ValorInvalido
from buzon_buzon.firma_documento import MENSAJE_NO_PDF, Firmante
from buzon_buzon.habiles import Calendario
from buzon_buzon.models import avisos, notificaciones, ritmos, salida

log = logging.getLogger(__name__)

PENDIENTE, ABIERTA, TACITA = "pendiente", "abierta", "tacita"

# The largest document accepted: 5 MiB of PDF (about 6.7 MiB of base64 in the request). An act of the Institute
# is a few pages; larger files would weigh on the bus and the database of a 100,000-deposit campaign.
MAXIMO_DOCUMENTO = 5 * 1024 * 1024
# The base64 text of a document of MAXIMO_DOCUMENTO bytes, padding included: longer text is refused undecoded.
MAXIMO_DOCUMENTO_BASE64 = 4 * -(-MAXIMO_DOCUMENTO // 3)
MAGIA_PDF = b"%PDF-"
MAXIMO_ASUNTO = 200
MAXIMO_AREA = 200
MAXIMO_TIPO_ACTO = 100
MAXIMO_REFERENCIA = 100
MAXIMO_SISTEMA = 50
# More RPs than any patrón has in the padrón (the largest have a few dozen).
MAXIMO_REGISTROS = 100

MENSAJE_INACTIVO = ("El Buzón IMSS de este RFC no está activo: no puede recibir notificaciones. Notifica por otro "
                    "medio legal.")
MENSAJE_RP_AJENO = "Los registros patronales {rps} no pertenecen al RFC destinatario."
MENSAJE_DEMASIADO_GRANDE = f"El documento excede el tamaño máximo permitido ({MAXIMO_DOCUMENTO // (1024 * 1024)} MiB)."
MENSAJE_REFERENCIA_REPETIDA = ("Esa referencia ya se usó para otra notificación de este sistema. Usa una referencia "
                               "nueva para cada notificación y repite la misma solo al reintentar el mismo depósito.")
MENSAJE_DEMASIADOS_DEPOSITOS = ("Demasiados depósitos de este sistema por segundo: envía menos a la vez y reintenta el "
                                "mismo en un momento (la misma referencia no lo duplica).")
# How long a deposit may wait for its turn, held by the gateway: a system has at most BUZON_DEPOSITOS_POR_SEGUNDO
# deposits waiting at once (each holds one of a gateway's BUZON_GATEWAY_MAX_WORKERS); more get 429.
ESPERA_MAXIMA_DEPOSITO_S = 1.0
MENSAJE_NO_ENCONTRADA = "No existe esa notificación."
MENSAJE_SIN_ABRIR = "Abre la notificación (firma el acuse de recibo) para consultar su documento."


# -- the deposit, parsed at the edge ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deposito:
    """What a depositing system asked, checked: nothing downstream parses it again."""

    rfc: Rfc
    registros_patronales: tuple[RegistroPatronal, ...]
    asunto: str
    area: str
    tipo_acto: str
    referencia: str
    documento: bytes
    # Who signed the document, as `confianza.verificar` found (not part of the fingerprint: the document is).
    firmante: Firmante

    @property
    def documento_sha256(self) -> str:
        return hashlib.sha256(self.documento).hexdigest()

    def huella(self) -> str:
        """The fingerprint of what was asked (the document by its digest): equal deposits hash alike."""
        return huella({"rfc": self.rfc, "registros_patronales": list(self.registros_patronales),
                       "asunto": self.asunto, "area": self.area, "tipo_acto": self.tipo_acto,
                       "documento_sha256": self.documento_sha256})


def _invalida(mensaje: str) -> SolicitudInvalida:
    return SolicitudInvalida("solicitud_invalida", mensaje)


def _texto(cuerpo: dict, campo: str, maximo: int) -> str:
    valor = cuerpo.get(campo)
    if not es_texto_valido(valor, 10 * maximo) or not valor.strip() or len(valor.strip()) > maximo:
        raise _invalida(f"El campo «{campo}» es obligatorio: texto de 1 a {maximo} caracteres.")
    # Runs of whitespace (a newline pasted from a letter) would show as one space anyway.
    return " ".join(valor.split())


def _documento(valor: object) -> bytes:
    if not isinstance(valor, str) or not valor:
        raise ReglaIncumplida("documento_invalido", MENSAJE_NO_PDF)
    if len(valor) > MAXIMO_DOCUMENTO_BASE64:
        raise ReglaIncumplida("documento_demasiado_grande", MENSAJE_DEMASIADO_GRANDE)
    try:
        contenido = base64.b64decode(valor, validate=True)
    except (binascii.Error, ValueError):
        raise ReglaIncumplida("documento_invalido", MENSAJE_NO_PDF) from None
    if len(contenido) > MAXIMO_DOCUMENTO:
        raise ReglaIncumplida("documento_demasiado_grande", MENSAJE_DEMASIADO_GRANDE)
    if not contenido.startswith(MAGIA_PDF):
        raise ReglaIncumplida("documento_invalido", MENSAJE_NO_PDF)
    return contenido


def leer_deposito(cuerpo: object, confianza) -> Deposito:
    """The request of `POST /api/v1/notificaciones`, parsed: 400 `solicitud_invalida` (or the identifier's own
    code, `rfc_invalido`, `registro_patronal_invalido`) for its shape; 422 `documento_invalido` (not base64 of a
    PDF) and `documento_demasiado_grande` (over MAXIMO_DOCUMENTO; the gateway's body limit answers 413 first for
    anything clearly larger); then the document's signature, last (the costliest check), by
    `confianza.verificar(pdf) -> Firmante` (`firma_documento.Confianza`): 422 `documento_sin_firma` and
    `firma_documento_invalida`."""
    if not isinstance(cuerpo, dict):
        raise _invalida("El cuerpo debe ser un objeto JSON.")
    try:
        rfc = Rfc(cuerpo.get("rfc"))
        crudos = cuerpo.get("registros_patronales")
        if crudos is None:
            crudos = []
        if not isinstance(crudos, list) or len(crudos) > MAXIMO_REGISTROS:
            raise _invalida(f"«registros_patronales» debe ser una lista de hasta {MAXIMO_REGISTROS} registros.")
        registros = tuple(dict.fromkeys(RegistroPatronal(rp) for rp in crudos))
    except ValorInvalido as exc:
        raise SolicitudInvalida(exc.codigo, exc.mensaje) from None
    referencia = cuerpo.get("referencia")
    if not es_texto_valido(referencia, MAXIMO_REFERENCIA) or not referencia.strip():
        raise _invalida(f"El campo «referencia» es obligatorio: texto de 1 a {MAXIMO_REFERENCIA} caracteres.")
    asunto = _texto(cuerpo, "asunto", MAXIMO_ASUNTO)
    area = _texto(cuerpo, "area", MAXIMO_AREA)
    tipo_acto = _texto(cuerpo, "tipo_acto", MAXIMO_TIPO_ACTO)
    documento = _documento(cuerpo.get("documento"))
    return Deposito(rfc=rfc, registros_patronales=registros, asunto=asunto, area=area, tipo_acto=tipo_acto,
                    referencia=referencia, documento=documento, firmante=confianza.verificar(documento))


def sistema_valido(sistema: object) -> str:
    """The depositing system's name as the caller resolved it from its key (trusted; only its form is guarded)."""
    if not es_texto_valido(sistema, MAXIMO_SISTEMA) or not sistema.strip():
        raise _invalida("El sistema depositante no es válido.")
    return sistema


# -- admission: the deposits per system, evenly spaced turns -----------------------------------------------------

def turno(db: Session, sistema: str, *, ahora: datetime, limite: int) -> float:
    """The next turn of `sistema`'s deposits, in a transaction of its own, asked by the gateway before it reads the
    body: one every 1/`limite` s, evenly spaced, never a second's worth at once (a burst takes the CPU that a person
    registering a phone needs: docs/rendimiento.md, the campaign). Returns the seconds the deposit waits for its
    turn (the gateway holds it that long, then sends it): a system's concurrent deposits get distinct turns, so a
    system that sends them as fast as it is answered is paced, not refused. A turn more than
    ESPERA_MAXIMA_DEPOSITO_S away: 429 `demasiadas_solicitudes` with `reintentar_en_s`, the fraction of a second
    until one would be given (the gateway's Retry-After rounds it up). A campaign thus takes at most the share of
    the system's CPU operators sized for (docs/capacidad.md); every replica gives turns from the same row."""
    sistema = sistema_valido(sistema)
    try:
        with transaccion(db):
            return limitador.turno(db, ritmos, f"depositos:{sistema}", ahora=ahora, intervalo_s=1 / limite,
                                   espera_maxima_s=ESPERA_MAXIMA_DEPOSITO_S)
    except DemasiadasSolicitudes as exceso:
        raise DemasiadasSolicitudes(mensaje=MENSAJE_DEMASIADOS_DEPOSITOS, extra=exceso.extra) from None


# -- depositar --------------------------------------------------------------------------------------------------

def _respuesta_deposito(fila) -> dict:
    # The first answer, whatever happened since: the deposit's own state and time.
    return {"id": fila["id"], "estado": PENDIENTE, "depositada_en": iso_mexico(fila["depositada_en"])}


def _previo(db: Session, sistema: str, deposito: Deposito) -> dict | None:
    fila = db.execute(select(notificaciones.c.id, notificaciones.c.huella, notificaciones.c.depositada_en).where(
        notificaciones.c.sistema == sistema, notificaciones.c.referencia == deposito.referencia)).mappings().first()
    if fila is None:
        return None
    if fila["huella"] != deposito.huella():
        raise Conflicto("idempotencia_conflicto", MENSAJE_REFERENCIA_REPETIDA)
    return _respuesta_deposito(fila)


def _titular_del_acuse(titular: dict, rfc: str) -> dict:
    """Whom a deemed notification's acuse names: the RFC's name as activated. Only the addressee: a persona
    moral's CURP and representative are of whoever signed its activation, not of this act."""
    fisica = titular.get("tipo_persona") == "fisica"
    return {"rfc": rfc, "nombre": titular.get("nombre"), "curp": titular.get("curp") if fisica else None,
            "rfc_representante": None, "tipo_persona": titular.get("tipo_persona")}


def depositar(db: Session, sistema: str, deposito: Deposito, *, titular: dict | None,
              registros_del_rfc: object, ahora: datetime) -> dict:
    """Record the notification once per (system, referencia) and announce it, in one transaction.

    `titular` is who activated the RFC's Buzón as activacion names them (None: not active). The same system and
    referencia again (a retry after a timeout, a redelivered RPC): the first answer, checked before anything else,
    so a repeat never depends on the Buzón's state since; with another content, 409 `idempotencia_conflicto`. Else
    409 `buzon_inactivo` when the RFC's Buzón is inactive, and 422 `registro_patronal_ajeno` for RPs outside
    `registros_del_rfc` (the RFC's RPs in the padrón). The titular is kept: a deemed notification's acuse names
    them."""
    sistema = sistema_valido(sistema)
    with transaccion(db):
        previo = _previo(db, sistema, deposito)
    if previo is not None:
        return previo
    if titular is None:
        raise Conflicto("buzon_inactivo", MENSAJE_INACTIVO)
    propios = {str(rp) for rp in registros_del_rfc or ()}
    ajenos = [rp for rp in deposito.registros_patronales if rp not in propios]
    if ajenos:
        raise ReglaIncumplida("registro_patronal_ajeno", MENSAJE_RP_AJENO.format(rps=", ".join(ajenos)),
                              {"registros_patronales": ajenos})
    id_notificacion = str(uuid.uuid4())
    rps = list(deposito.registros_patronales)
    try:
        with transaccion(db):
            db.execute(notificaciones.insert().values(
                id=id_notificacion, sistema=sistema, referencia=deposito.referencia, huella=deposito.huella(),
                rfc=deposito.rfc, registros_patronales=json.dumps(rps), asunto=deposito.asunto, area=deposito.area,
                tipo_acto=deposito.tipo_acto, titular=json.dumps(_titular_del_acuse(titular, deposito.rfc),
                                                                 ensure_ascii=False),
                documento=deposito.documento, documento_ref=None,
                documento_sha256=deposito.documento_sha256, documento_bytes=len(deposito.documento),
                firmante_serie=deposito.firmante.serie, firmante_sujeto=deposito.firmante.sujeto,
                estado=PENDIENTE, depositada_en=ahora,
            ))
            encolar(db, salida, NotificacionDepositada(
                id=id_notificacion, sistema=sistema, referencia=deposito.referencia, rfc=deposito.rfc,
                registros_patronales=rps, depositada_en=iso_mexico(ahora)), ahora=ahora)
    except IntegrityError:
        # Another replica recorded the same (system, referencia) first: its answer is this one's.
        with transaccion(db):
            previo = _previo(db, sistema, deposito)
        if previo is None:
            raise
        return previo
    log.info("notificación %s depositada por %s para %s", id_notificacion, sistema, deposito.rfc)
    return {"id": id_notificacion, "estado": PENDIENTE, "depositada_en": iso_mexico(ahora)}


# -- reading ----------------------------------------------------------------------------------------------------

def _iso(momento: datetime | None) -> str | None:
    return iso_mexico(momento) if momento is not None else None


def _id_valido(id_notificacion: object) -> str | None:
    """An id of the form the service gives (a UUID), else None: any other text is simply not found."""
    if not isinstance(id_notificacion, str):
        return None
    try:
        return str(uuid.UUID(id_notificacion)) if len(id_notificacion) == 36 else None
    except ValueError:
        return None


def _de(db: Session, id_notificacion: object, **filtros):
    ident = _id_valido(id_notificacion)
    fila = None
    if ident is not None:
        consulta = select(*[c for c in notificaciones.c if c.name != "documento"]).where(
            notificaciones.c.id == ident, *[notificaciones.c[k] == v for k, v in filtros.items()])
        fila = db.execute(consulta).mappings().first()
    if fila is None:
        # Another system's or another RFC's notification is as absent as one that never existed.
        raise NoEncontrado("no_encontrado", MENSAJE_NO_ENCONTRADA)
    return fila


# The last moment of a día hábil, as `abrir_hasta` gives it: the whole day counts (second precision, as every time).
_FIN_DEL_DIA = time(23, 59, 59)


def plazo(fila, calendario: Calendario) -> dict:
    """By when a notification can be opened: `abrir_hasta`, the end of the last día hábil to open it (Mexico City,
    ISO with offset), and `tacita_el`, the día hábil it will be deemed notified on if it isn't (ISO date), both from
    `calendario.plazo` of its aviso. Both null unless it is pendiente with an aviso sent: before the aviso its días
    hábiles haven't started, and once abierta or tacita it has no deadline left (its `notificada_en` says when)."""
    if fila["estado"] != PENDIENTE or fila["aviso_enviado_en"] is None:
        return {"abrir_hasta": None, "tacita_el": None}
    dias = calendario.plazo(fila["aviso_enviado_en"])
    return {"abrir_hasta": iso_mexico(datetime.combine(dias.abrir_hasta, _FIN_DEL_DIA, ZONA_MEXICO)),
            "tacita_el": dias.tacita_el.isoformat()}


def consultar(db: Session, sistema: str, id_notificacion: object, *, calendario: Calendario) -> dict:
    """`GET /api/v1/notificaciones/{id}` for the system that deposited it (another system's id: 404), with its
    deadline while pending (`plazo`)."""
    with transaccion(db):
        fila = _de(db, id_notificacion, sistema=sistema_valido(sistema))
        lista = db.execute(select(avisos.c.mecanismo, avisos.c.estado).where(avisos.c.notificacion_id == fila["id"])
                           .order_by(avisos.c.solicitado_en, avisos.c.mecanismo, avisos.c.id)).mappings().all()
    return {
        "id": fila["id"], "rfc": fila["rfc"], "estado": fila["estado"],
        "depositada_en": iso_mexico(fila["depositada_en"]), "aviso_enviado_en": _iso(fila["aviso_enviado_en"]),
        **plazo(fila, calendario),
        "avisos": [{"mecanismo": a["mecanismo"], "estado": a["estado"]} for a in lista],
        "notificada_en": _iso(fila["notificada_en"]), "folio_acuse": fila["folio_acuse"],
        "codigo_verificacion": fila["codigo_verificacion"],
    }


def _para_persona(fila, calendario: Calendario) -> dict:
    return {"id": fila["id"], "asunto": fila["asunto"], "area": fila["area"], "tipo_acto": fila["tipo_acto"],
            "estado": fila["estado"], "depositada_en": iso_mexico(fila["depositada_en"]),
            "aviso_enviado_en": _iso(fila["aviso_enviado_en"]), **plazo(fila, calendario),
            "notificada_en": _iso(fila["notificada_en"]), "folio_acuse": fila["folio_acuse"],
            "codigo_verificacion": fila["codigo_verificacion"]}


def listar(db: Session, rfc: str, *, calendario: Calendario) -> dict:
    """`GET /api/v1/buzon/notificaciones`: the RFC's notifications, newest first, each pending one with its
    deadline (`plazo`)."""
    consulta = (select(notificaciones.c.id, notificaciones.c.asunto, notificaciones.c.area, notificaciones.c.tipo_acto,
                       notificaciones.c.estado, notificaciones.c.depositada_en, notificaciones.c.aviso_enviado_en,
                       notificaciones.c.notificada_en, notificaciones.c.folio_acuse,
                       notificaciones.c.codigo_verificacion)
                .where(notificaciones.c.rfc == rfc)
                .order_by(notificaciones.c.depositada_en.desc(), notificaciones.c.id.desc()))
    with transaccion(db):
        filas = db.execute(consulta).mappings().all()
    return {"notificaciones": [_para_persona(f, calendario) for f in filas]}


def pendientes(db: Session, rfc: str) -> int:
    """How many of the RFC's notifications wait to be opened (the count on the Buzón's main screen)."""
    with transaccion(db):
        return db.execute(select(func.count()).select_from(notificaciones).where(
            notificaciones.c.rfc == rfc, notificaciones.c.estado == PENDIENTE)).scalar_one()


def obtener(db: Session, rfc: str, id_notificacion: object, *, calendario: Calendario) -> dict:
    """One of the RFC's notifications (another RFC's: 404), with the RPs it names and its deadline (`plazo`)."""
    with transaccion(db):
        fila = _de(db, id_notificacion, rfc=rfc)
    return {**_para_persona(fila, calendario), "registros_patronales": json.loads(fila["registros_patronales"])}


def documento(db: Session, rfc: str, id_notificacion: object) -> bytes:
    """The PDF, once the notification is made (abierta or tacita); before, 409 `notificacion_sin_abrir`."""
    with transaccion(db):
        fila = _de(db, id_notificacion, rfc=rfc)
        contenido = db.execute(select(notificaciones.c.documento).where(notificaciones.c.id == fila["id"])
                               ).scalar_one()
    if fila["estado"] == PENDIENTE:
        raise Conflicto("notificacion_sin_abrir", MENSAJE_SIN_ABRIR)
    return contenido
