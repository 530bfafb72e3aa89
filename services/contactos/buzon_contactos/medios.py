"""Contact means: registration, validation, expiry and deletion, free of nameko so they test without a broker.

Every function takes a SQLAlchemy session and the moment `ahora`; each change and the events that announce it
(acuse, message, life cycle) are committed together through the outbox. Everything a person asks is scoped to
the RFC of their session: another RFC's medio is "no encontrado", never "ajeno".

States: pendiente → validado; pendiente → baja_vencimiento (the window lapsed); pendiente | validado → baja.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
import zlib
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.orm import Session

from buzon_comun import limites as limitador
from buzon_comun.bandeja_salida import encolar
from buzon_comun.config import Config
from buzon_comun.db import transaccion
from buzon_comun.errores import (
    Bloqueado,
    Conflicto,
    DemasiadasSolicitudes,
    NoEncontrado,
    ReglaIncumplida,
    SolicitudInvalida,
    Vencido,
)
from buzon_comun.eventos import (
    AcuseSolicitado,
    BuzonActivado,
    CorreoSolicitado,
    MedioDadoDeBaja,
    MedioValidado,
    MensajeEnviado,
    SmsSolicitado,
)
from buzon_comun.folios import siguiente_folio
from buzon_comun.reloj import iso_mexico
from buzon_comun import idempotencia as idempotente
from buzon_contactos import valores
from buzon_contactos.models import (
    buzones_activos, folios, idempotencia, limites, medio_registros_patronales as mrp, medios, padron, salida,
)
from buzon_contactos.padron import registros_de

log = logging.getLogger(__name__)

PENDIENTE, VALIDADO, BAJA_VENCIMIENTO, BAJA = "pendiente", "validado", "baja_vencimiento", "baja"
ACTIVOS = (PENDIENTE, VALIDADO)
CAMPOS_TITULAR = ("rfc", "nombre", "curp", "rfc_representante", "tipo_persona")
BYTES_TOKEN = 32  # 256 bits, above the 128 the rules ask for
VENTANA_LIMITES_S = 3600

# Per scope (the RFC itself, or each RP): how many active medios of each mechanism.
LIMITES = {
    "correo": (5, "limite_correos",
               "Ya tienes registrados 5 correos electrónicos para este ámbito, el máximo permitido. "
               "Elimina uno antes de registrar otro."),
    "telefono": (1, "limite_telefonos",
                 "Ya tienes registrado un número celular para este ámbito, el máximo permitido. "
                 "Elimínalo antes de registrar otro."),
}

MENSAJE_NO_ENCONTRADO = "El medio de contacto no existe."
MENSAJE_TOKEN_INVALIDO = ("El enlace de validación no es válido: no existe, el medio de contacto fue eliminado o "
                          "pediste que te reenviáramos el correo (solo vale el enlace del correo más reciente).")
# No figure of hours here: the window is BUZON_VENTANA_VALIDACION_S, and the messages that state it get it from there.
MENSAJE_VENCIDA = ("El plazo para validar el medio de contacto venció y fue dado de baja por vencimiento. "
                   "Regístralo de nuevo.")
MENSAJE_YA_VALIDADO = "El medio de contacto ya estaba validado."
MENSAJE_REENVIO_VALIDADO = "El medio de contacto ya está validado: no hace falta reenviar el enlace ni el código."
MENSAJE_REENVIO_BAJA = {
    BAJA: "El medio de contacto fue dado de baja: regístralo de nuevo para recibir otro enlace o código.",
    BAJA_VENCIMIENTO: ("El plazo para validar el medio de contacto venció y fue dado de baja por vencimiento: "
                       "regístralo de nuevo para recibir otro enlace o código."),
}
MENSAJE_LIMITE_DESTINO = ("Ya enviamos {limite} mensajes a este destino en la última hora, el máximo permitido. "
                          "Espera un rato e intenta de nuevo.")
MENSAJE_LIMITE_REGISTROS = ("Hiciste demasiados intentos de registro en la última hora. Espera un rato e intenta "
                            "de nuevo.")
AVISO_REQUISITOS = ("Tu Buzón IMSS está activo y ya no cuenta con {faltan} validado para tu RFC. Registra y valida "
                    "uno nuevo para seguir recibiendo los avisos de tu Buzón IMSS.")
# The notices a medio's change sends to the owner's other validated medios (notificaciones' templates).
AVISO_REGISTRADO, AVISO_ELIMINADO, AVISO_VENCIDO = (
    "aviso_medio_registrado", "aviso_medio_eliminado", "aviso_medio_vencido")
_CODIGO = re.compile(r"[0-9]{5}", re.ASCII)
_FORMA_RFC = re.compile(r"[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}")


# -- helpers ----------------------------------------------------------------------------------------------------

def _hash(texto: str) -> str:
    return hashlib.sha256(texto.encode("utf-8")).hexdigest()


def _hash_codigo(secreto: bytes, medio_id: str, codigo: str) -> str:
    """Keyed with the server's secret: with only 100,000 codes, a bare hash in a copy of the table would give
    every code back at once. The medio's id makes the same code of two medios hash apart."""
    return hmac.new(secreto, f"{medio_id}:{codigo}".encode("utf-8"), hashlib.sha256).hexdigest()


# Codes stored before the hash was keyed (migration 0003 marks them); they lapse within the validation window.
PREFIJO_SIN_LLAVE = "sha256:"


def _codigo_coincide(guardado: str | None, secreto: bytes, medio_id: str, codigo: str) -> bool:
    if not guardado:
        return False
    if guardado.startswith(PREFIJO_SIN_LLAVE):
        esperado = PREFIJO_SIN_LLAVE + _hash(f"{medio_id}:{codigo}")
    else:
        esperado = _hash_codigo(secreto, medio_id, codigo)
    return hmac.compare_digest(esperado, guardado)


def _token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(BYTES_TOKEN)).rstrip(b"=").decode("ascii")


def _codigo() -> str:
    return f"{secrets.randbelow(100000):05d}"


def rfc_de(titular: object) -> str:
    """The RFC of the session's identity.

    Trusted (auth parsed it from a SAT certificate), so only its form is guarded here: parsing it again would
    log the check-digit warning of some real RFCs on every call.
    """
    rfc = titular.get("rfc") if isinstance(titular, dict) else None
    if not isinstance(rfc, str) or not _FORMA_RFC.fullmatch(rfc):
        raise SolicitudInvalida("solicitud_invalida", "La identidad de la sesión no es válida.")
    return rfc


def _identidad(titular: dict) -> dict:
    return {**{campo: titular.get(campo) for campo in CAMPOS_TITULAR}, "rfc": rfc_de(titular)}


def _bloquear_rfc(db: Session, rfc: str) -> None:
    """Serialise registrations of one RFC across replicas, so two at once can't both fit in the last slot."""
    if db.bind.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"contactos:{rfc}".encode())})


def _rps(db: Session, ids: list[str]) -> dict[str, list[str]]:
    resultado: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        filas = db.execute(
            select(mrp.c.medio_id, mrp.c.registro_patronal)
            .where(mrp.c.medio_id.in_(ids))
            .order_by(mrp.c.registro_patronal)
        ).all()
        for f in filas:
            resultado[f.medio_id].append(f.registro_patronal)
    return resultado


def _como_dict(fila, rps: list[str]) -> dict:
    return {
        "id": fila["id"],
        "mecanismo": fila["mecanismo"],
        "valor": fila["valor"],
        "estado": fila["estado"],
        "folio": fila["folio"],
        "registrado_en": iso_mexico(fila["registrado_en"]),
        "vence_en": iso_mexico(fila["vence_en"]),
        "validado_en": iso_mexico(fila["validado_en"]) if fila["validado_en"] else None,
        "baja_en": iso_mexico(fila["baja_en"]) if fila["baja_en"] else None,
        "registros_patronales": list(rps),
        "acuses": {"registro": fila["folio"], "validacion": fila["folio_validacion"], "baja": fila["folio_baja"]},
    }


def _cargar(db: Session, medio_id: object, *, rfc: str | None = None, bloquear: bool = False):
    if not isinstance(medio_id, str) or not medio_id or len(medio_id) > 36:
        return None
    consulta = select(medios).where(medios.c.id == medio_id)
    if rfc is not None:
        consulta = consulta.where(medios.c.rfc == rfc)
    if bloquear:
        consulta = consulta.with_for_update()
    return db.execute(consulta).mappings().one_or_none()


def _medio(db: Session, medio_id: str) -> dict:
    fila = _cargar(db, medio_id)
    return _como_dict(fila, _rps(db, [medio_id])[medio_id])


def _no_encontrado() -> NoEncontrado:
    return NoEncontrado("no_encontrado", MENSAJE_NO_ENCONTRADO)


def _datos_acuse(db: Session, fila, estado: str, rps: list[str]) -> dict:
    """What an acuse of a medio prints: the medio, its state and its RPs, each with its razón social."""
    return {"medio_id": fila["id"], "mecanismo": fila["mecanismo"], "valor": fila["valor"], "estado": estado,
            "registros_patronales": _con_razon_social(db, rps)}


def _con_razon_social(db: Session, rps: list[str]) -> list[dict]:
    razones = _razones_sociales(db, rps)
    return [{"registro_patronal": rp, "razon_social": razones.get(rp)} for rp in rps]


# -- what messages say about whom -------------------------------------------------------------------------------

def _razones_sociales(db: Session, rps: list[str]) -> dict[str, str]:
    if not rps:
        return {}
    filas = db.execute(select(padron.c.registro_patronal, padron.c.razon_social)
                       .where(padron.c.registro_patronal.in_(rps))).all()
    return {f.registro_patronal: f.razon_social for f in filas}


def _datos_titular(db: Session, rfc: str, nombre: str | None, rps: list[str]) -> dict:
    """Whom an email is about: the RFC, its name or razón social and, for an RP-level medio, each RP with its
    razón social (a person with several RFCs or RPs must tell which one a message means)."""
    return {"rfc": rfc, "nombre": nombre, "registros_patronales": _con_razon_social(db, rps)}


def _nombre_guardado(titular_json: str | None) -> str | None:
    try:
        return json.loads(titular_json or "{}").get("nombre")
    except (TypeError, ValueError, AttributeError):
        return None


def _destinatarios(db: Session, rfcs: set[str]) -> dict[str, list]:
    """Each RFC's validated medios (id, mecanismo, valor), oldest first: who the notices of a change go to."""
    resultado: dict[str, list] = {rfc: [] for rfc in rfcs}
    if rfcs:
        filas = db.execute(
            select(medios.c.rfc, medios.c.id, medios.c.mecanismo, medios.c.valor)
            .where(medios.c.rfc.in_(sorted(rfcs)), medios.c.estado == VALIDADO)
            .order_by(medios.c.registrado_en, medios.c.id)
        ).all()
        for f in filas:
            resultado[f.rfc].append(f)
    return resultado


def _avisar(db: Session, plantilla: str, afectado: dict, destinatarios: list, *, ahora: datetime) -> int:
    """A notice of a medio's change (registered, deleted, lapsed) to every other validated medio of its owner, in
    the caller's transaction: once per destination, whatever scopes it is registered for. Someone holding the
    e.firma could otherwise redirect the Institute's avisos without the owner noticing.

    Not counted towards the per-destination limit of validation messages: a notice nobody asked for must never
    use up the room a person needs for their own code. Each is sent once: the change that causes it happens once
    (under a row lock, or claimed by one UPDATE), and notificaciones drops a repeated `id_mensaje`.
    """
    vistos = set()
    for destino in destinatarios:
        if destino.id == afectado["medio_id"] or (destino.mecanismo, destino.valor) in vistos:
            continue
        vistos.add((destino.mecanismo, destino.valor))
        if destino.mecanismo == "correo":
            mensaje = CorreoSolicitado(id_mensaje=str(uuid.uuid4()), para=destino.valor, plantilla=plantilla,
                                       datos=afectado, referencia=afectado["medio_id"])
        else:
            mensaje = SmsSolicitado(id_mensaje=str(uuid.uuid4()), para=valores.destino_sms(destino.valor),
                                    plantilla=plantilla, datos=afectado, referencia=afectado["medio_id"])
        encolar(db, salida, mensaje, ahora=ahora)
    return len(vistos)


def _afectado(db: Session, fila, rps: list[str], *, ahora: datetime, nombre: str | None) -> dict:
    """What a notice says about the medio that changed: `fila` is its row (a mapping of its columns)."""
    return {"medio_id": fila["id"], "mecanismo": fila["mecanismo"], "valor": fila["valor"],
            "momento": iso_mexico(ahora), **_datos_titular(db, fila["rfc"], nombre, rps)}


# -- expiry -----------------------------------------------------------------------------------------------------

def _vencer(db: Session, *, ahora: datetime, rfc: str | None = None) -> list[str]:
    """Move lapsed pendientes to baja_vencimiento in the caller's transaction, each with its event and the notice
    to its owner's other validated medios.

    One UPDATE … RETURNING: when replicas race, each row is claimed (and announced) by exactly one of them.
    """
    sentencia = (
        update(medios)
        .where(medios.c.estado == PENDIENTE, medios.c.vence_en <= ahora)
        .values(estado=BAJA_VENCIMIENTO, baja_en=ahora, codigo_hash=None)
        .returning(medios.c.id, medios.c.rfc, medios.c.mecanismo, medios.c.valor, medios.c.titular)
    )
    if rfc is not None:
        sentencia = sentencia.where(medios.c.rfc == rfc)
    filas = db.execute(sentencia).mappings().all()
    if not filas:
        return []
    rps = _rps(db, [f["id"] for f in filas])
    destinatarios = _destinatarios(db, {f["rfc"] for f in filas})
    for f in filas:
        encolar(db, salida, MedioDadoDeBaja(rfc=f["rfc"], medio_id=f["id"], mecanismo=f["mecanismo"],
                                            estado=BAJA_VENCIMIENTO, registros_patronales=rps[f["id"]]), ahora=ahora)
        _avisar(db, AVISO_VENCIDO, _afectado(db, f, rps[f["id"]], ahora=ahora, nombre=_nombre_guardado(f["titular"])),
                destinatarios[f["rfc"]], ahora=ahora)
    return [f["id"] for f in filas]


def vencer_pendientes(db: Session, *, ahora: datetime) -> int:
    """The sweep: every lapsed pendiente of every RFC. Returns how many lapsed."""
    with transaccion(db):
        vencidos = _vencer(db, ahora=ahora)
    if vencidos:
        log.info("%d medios de contacto dados de baja por vencimiento", len(vencidos))
    return len(vencidos)


def purgar_limites(db: Session, *, ahora: datetime) -> None:
    """Drop the counters of windows that ended: they count nothing any more and would pile up."""
    with transaccion(db):
        limitador.purgar(db, limites, ahora=ahora, ventana_s=VENTANA_LIMITES_S)


def purgar_idempotencia(db: Session, *, ahora: datetime) -> int:
    """Drop the registrations' keys older than their promise (24 hours)."""
    return idempotente.purgar(db, idempotencia, ahora=ahora)


def registrar_envio(db: Session, evento: MensajeEnviado, *, ahora: datetime, ventana_s: int) -> bool:
    """The SMS with the code left: the phone's window now runs from that moment (the guide: from its reception).

    Only the message that carried the medio's current code counts, and only its first report, so a redelivered
    event changes nothing. Returns whether the window moved.
    """
    if evento.plantilla != "codigo_sms":
        return False
    try:
        enviado = datetime.fromisoformat(evento.enviado_en)
    except (TypeError, ValueError):
        log.warning("mensaje_enviado %s con fecha ilegible %r", evento.id_mensaje, evento.enviado_en)
        return False
    if enviado.tzinfo is None:
        log.warning("mensaje_enviado %s sin zona horaria en %r", evento.id_mensaje, evento.enviado_en)
        return False
    with transaccion(db):
        movidos = db.execute(
            update(medios)
            .where(
                medios.c.id == evento.referencia,
                medios.c.estado == PENDIENTE,
                medios.c.codigo_mensaje_id == evento.id_mensaje,
                medios.c.codigo_enviado_en.is_(None),
                # A medio already past its deadline lapsed, even if the sweep has not got to it yet.
                medios.c.vence_en > ahora,
            )
            .values(codigo_enviado_en=enviado, vence_en=enviado + timedelta(seconds=ventana_s))
        ).rowcount
    return movidos == 1


# -- reading ----------------------------------------------------------------------------------------------------

def listar(db: Session, titular: dict, *, ahora: datetime, incluir_bajas: bool = False) -> list[dict]:
    rfc = rfc_de(titular)
    consulta = select(medios).where(medios.c.rfc == rfc).order_by(medios.c.registrado_en, medios.c.id)
    if not incluir_bajas:
        consulta = consulta.where(medios.c.estado.in_(ACTIVOS))
    with transaccion(db):
        # The window is enforced when reading too: a lapsed pendiente never shows as pendiente.
        _vencer(db, ahora=ahora, rfc=rfc)
        filas = db.execute(consulta).mappings().all()
        rps = _rps(db, [f["id"] for f in filas])
    return [_como_dict(f, rps[f["id"]]) for f in filas]


def obtener(db: Session, titular: dict, medio_id: object, *, ahora: datetime) -> dict:
    rfc = rfc_de(titular)
    with transaccion(db):
        _vencer(db, ahora=ahora, rfc=rfc)
        fila = _cargar(db, medio_id, rfc=rfc)
        if fila is None:
            raise _no_encontrado()
        return _como_dict(fila, _rps(db, [fila["id"]])[fila["id"]])


def requisitos(db: Session, rfc: str) -> dict:
    """Which of the activation's requirements the RFC's validated RFC-level medios meet."""
    with transaccion(db):
        return _requisitos(db, rfc)


def _requisitos(db: Session, rfc: str) -> dict:
    # The seam for the deletion's `aviso` and for the activation: a Buzón that is active and stops meeting both
    # must be told to register and validate again.
    sin_rp = ~exists().where(mrp.c.medio_id == medios.c.id)
    filas = db.execute(
        select(medios.c.mecanismo).distinct()
        .where(medios.c.rfc == rfc, medios.c.estado == VALIDADO, sin_rp)
    ).scalars().all()
    return {"correo_validado": "correo" in filas, "telefono_validado": "telefono" in filas}


# -- registration -----------------------------------------------------------------------------------------------

def _registros_cubiertos(db: Session, rfc: str, pedidos: list[str] | None) -> list[str]:
    """The RPs the medio will cover, each the RFC's in the padrón; [] for RFC-level."""
    if pedidos == []:
        return []
    propios = {r["registro_patronal"] for r in registros_de(db, rfc)}
    if not propios:
        raise ReglaIncumplida("sin_registros_patronales",
                              "Tu RFC no tiene Registros Patronales en el padrón del Instituto: registra el medio "
                              "de contacto para tu RFC.")
    if pedidos is None:
        return sorted(propios)
    for pedido in pedidos:
        if pedido not in propios:
            raise ReglaIncumplida("registro_patronal_ajeno",
                                  "El registro patronal no está asociado a tu RFC en el padrón del Instituto.",
                                  {"registro_patronal": pedido[:32]})
    return sorted(pedidos)


def _comprobar_cupo(db: Session, rfc: str, mecanismo: str, valor: str, rps: list[str]) -> None:
    """Duplicates first, then limits, at the scope asked: the RFC itself, or each of the RPs."""
    activos = and_(medios.c.rfc == rfc, medios.c.mecanismo == mecanismo, medios.c.estado.in_(ACTIVOS))
    sin_rp = ~exists().where(mrp.c.medio_id == medios.c.id)
    if rps:
        duplicado = db.execute(
            select(medios.c.id).join(mrp, mrp.c.medio_id == medios.c.id)
            .where(activos, medios.c.valor == valor, mrp.c.registro_patronal.in_(rps)).limit(1)
        ).first()
    else:
        duplicado = db.execute(select(medios.c.id).where(activos, medios.c.valor == valor, sin_rp).limit(1)).first()
    if duplicado is not None:
        raise ReglaIncumplida("medio_duplicado",
                              "Ese medio de contacto ya está registrado (pendiente de validar o validado) para el "
                              "mismo RFC o Registro Patronal.")
    maximo, codigo, mensaje = LIMITES[mecanismo]
    if rps:
        lleno = db.execute(
            select(mrp.c.registro_patronal).join(medios, mrp.c.medio_id == medios.c.id)
            .where(activos, mrp.c.registro_patronal.in_(rps))
            .group_by(mrp.c.registro_patronal)
            .having(func.count() >= maximo)
            .order_by(mrp.c.registro_patronal)
            .limit(1)
        ).scalar_one_or_none()
        if lleno is not None:
            raise ReglaIncumplida(codigo, mensaje, {"registro_patronal": lleno})
    else:
        cuenta = db.execute(select(func.count()).select_from(medios).where(activos, sin_rp)).scalar_one()
        if cuenta >= maximo:
            raise ReglaIncumplida(codigo, mensaje)


def registrar(db: Session, titular: dict, mecanismo: object, valor: object, registros_patronales: object = None,
              *, ahora: datetime, config: Config, secreto: bytes, clave_idempotencia: object = None) -> dict:
    """Register a medio (pendiente) and ask for its validation message, its acuse and its folio, all at once.

    Checks in the contract's order: mechanism, the value's syntax, the RPs, duplicates, limits, throttling. A
    repeat with the same `clave_idempotencia` and the same request (a client's retry, an RPC redelivered) gets
    the first answer and registers nothing; with another request, `idempotencia_conflicto`.
    """
    rfc = rfc_de(titular)
    peticion = idempotente.Peticion(
        idempotencia, rfc, idempotente.clave_valida(clave_idempotencia),
        idempotente.huella({"mecanismo": mecanismo, "valor": valor, "registros_patronales": registros_patronales}),
        ahora)
    return idempotente.una_vez(db, peticion, lambda: _registrar(
        db, titular, mecanismo, valor, registros_patronales, peticion, ahora=ahora, config=config, secreto=secreto))


def _registrar(db: Session, titular: dict, mecanismo: object, valor: object, registros_patronales: object,
               peticion: idempotente.Peticion, *, ahora: datetime, config: Config, secreto: bytes) -> dict:
    rfc = peticion.rfc
    pedidos = valores.registros_pedidos(registros_patronales)
    # Every well-formed attempt counts, refused or not, so nobody probes without end; the refusal for going over
    # is reported after the contract's other checks.
    try:
        with transaccion(db):
            limitador.contar(db, limites, f"registros:{rfc}", ahora=ahora, ventana_s=VENTANA_LIMITES_S,
                             limite=config.limite_registros_por_hora)
        exceso = None
    except DemasiadasSolicitudes:
        exceso = DemasiadasSolicitudes("demasiadas_solicitudes", MENSAJE_LIMITE_REGISTROS)
    mec = valores.mecanismo(mecanismo)
    val = valores.valor(mec, valor)
    destino = val if mec == "correo" else valores.destino_sms(val)
    # The checks in the contract's order and the count per destination, in one short transaction (a refusal rolls
    # back the lapses it marked: the next act or the sweep marks them again).
    with transaccion(db):
        rps = _registros_cubiertos(db, rfc, pedidos)
        _vencer(db, ahora=ahora, rfc=rfc)
        _comprobar_cupo(db, rfc, mec, val, rps)
        if exceso is not None:
            raise exceso
        _contar_mensaje(db, destino, ahora=ahora, config=config)

    medio_id = str(uuid.uuid4())
    identidad = _identidad(titular)
    vence = ahora + timedelta(seconds=config.ventana_validacion_s)
    with transaccion(db):
        _bloquear_rfc(db, rfc)
        # The same key may have been answered while this one waited for the lock: then that answer is this one's.
        peticion.comprobar(db)
        _vencer(db, ahora=ahora, rfc=rfc)
        # Again under the RFC's lock: the check above only gave the contract's order of refusals.
        _comprobar_cupo(db, rfc, mec, val, rps)
        folio = siguiente_folio(db, folios, "registro_medio", ahora=ahora)
        fila = {
            "id": medio_id, "rfc": rfc, "mecanismo": mec, "valor": val, "estado": PENDIENTE, "folio": folio,
            "registrado_en": ahora, "vence_en": vence, "intentos_fallidos": 0,
            "titular": json.dumps(identidad, ensure_ascii=False),
        }
        sobre = _datos_titular(db, rfc, identidad["nombre"], rps)
        if mec == "correo":
            mensaje, fila["token_hash"] = _mensaje_enlace(medio_id, val, vence, sobre, config=config)
        else:
            mensaje, fila["codigo_hash"] = _mensaje_codigo(medio_id, destino, secreto=secreto, config=config)
            fila["codigo_mensaje_id"] = mensaje.id_mensaje
        db.execute(medios.insert().values(**fila))
        if rps:
            db.execute(mrp.insert(), [{"medio_id": medio_id, "registro_patronal": rp} for rp in rps])
        encolar(db, salida, AcuseSolicitado(
            folio=folio, tipo="registro_medio", rfc=rfc, emitido_en=iso_mexico(ahora), titular=identidad,
            # The deadline to validate is printed on it (a phone's may move later, never earlier).
            datos={"medio_id": medio_id, "mecanismo": mec, "valor": val, "estado": PENDIENTE,
                   "registros_patronales": sobre["registros_patronales"], "vence_en": iso_mexico(vence)},
        ), ahora=ahora)
        encolar(db, salida, mensaje, ahora=ahora)
        _avisar(db, AVISO_REGISTRADO, {"medio_id": medio_id, "mecanismo": mec, "valor": val,
                                       "momento": iso_mexico(ahora), **sobre},
                _destinatarios(db, {rfc})[rfc], ahora=ahora)
        medio = _medio(db, medio_id)
        peticion.guardar(db, medio)
    log.info("medio de contacto %s (%s) registrado para %s con folio %s", medio_id, mec, rfc, folio)
    return medio


def _contar_mensaje(db: Session, destino: str, *, ahora: datetime, config: Config) -> None:
    """One more validation message to `destino` (an address or +52 and 10 digits) in its hour, whatever the RFC,
    so that nobody can use the Buzón to flood someone else's inbox or phone. Registrations and resends share it."""
    try:
        limitador.contar(db, limites, f"mensajes:{destino}", ahora=ahora, ventana_s=VENTANA_LIMITES_S,
                         limite=config.limite_mensajes_por_destino)
    except DemasiadasSolicitudes:
        raise DemasiadasSolicitudes("demasiadas_solicitudes", MENSAJE_LIMITE_DESTINO.format(
            limite=config.limite_mensajes_por_destino)) from None


def _mensaje_enlace(medio_id: str, correo: str, vence: datetime, sobre: dict, *,
                    config: Config) -> tuple[CorreoSolicitado, str]:
    """The validation email with a new single-use link, and the hash to store (the link itself never is)."""
    token = _token()
    mensaje = CorreoSolicitado(
        id_mensaje=str(uuid.uuid4()), para=correo, plantilla="validacion_correo",
        datos={"enlace": f"{config.public_url}/medios-contacto/validar/{token}", "vence_en": iso_mexico(vence),
               "ventana_s": config.ventana_validacion_s, **sobre},
        referencia=medio_id,
    )
    return mensaje, _hash(token)


def _mensaje_codigo(medio_id: str, destino: str, *, secreto: bytes, config: Config) -> tuple[SmsSolicitado, str]:
    """The SMS with a new 5-digit code, and its keyed hash to store."""
    codigo = _codigo()
    mensaje = SmsSolicitado(id_mensaje=str(uuid.uuid4()), para=destino, plantilla="codigo_sms",
                            datos={"codigo": codigo, "ventana_s": config.ventana_validacion_s}, referencia=medio_id)
    return mensaje, _hash_codigo(secreto, medio_id, codigo)


# -- validation -------------------------------------------------------------------------------------------------

def _marcar_vencido(db: Session, fila, *, ahora: datetime) -> Vencido:
    _vencer(db, ahora=ahora, rfc=fila["rfc"])
    return Vencido("validacion_vencida", MENSAJE_VENCIDA)


def _validar(db: Session, fila, titular: dict, *, ahora: datetime) -> None:
    folio = siguiente_folio(db, folios, "validacion_medio", ahora=ahora)
    db.execute(update(medios).where(medios.c.id == fila["id"]).values(
        estado=VALIDADO, validado_en=ahora, folio_validacion=folio, codigo_hash=None))
    rps = _rps(db, [fila["id"]])[fila["id"]]
    encolar(db, salida, AcuseSolicitado(
        folio=folio, tipo="validacion_medio", rfc=fila["rfc"], emitido_en=iso_mexico(ahora), titular=titular,
        datos=_datos_acuse(db, fila, VALIDADO, rps),
    ), ahora=ahora)
    if fila["mecanismo"] == "correo":
        confirmacion = CorreoSolicitado(
            id_mensaje=str(uuid.uuid4()), para=fila["valor"], plantilla="confirmacion_correo",
            datos={"valor": fila["valor"], **_datos_titular(db, fila["rfc"], titular.get("nombre"), rps)},
            referencia=fila["id"])
    else:
        confirmacion = SmsSolicitado(id_mensaje=str(uuid.uuid4()), para=valores.destino_sms(fila["valor"]),
                                     plantilla="confirmacion_sms", datos={"rfc": fila["rfc"]}, referencia=fila["id"])
    encolar(db, salida, confirmacion, ahora=ahora)
    encolar(db, salida, MedioValidado(rfc=fila["rfc"], medio_id=fila["id"], mecanismo=fila["mecanismo"],
                                      registros_patronales=rps), ahora=ahora)
    log.info("medio de contacto %s validado con folio %s", fila["id"], folio)


def validar_correo(db: Session, token: object, *, ahora: datetime) -> dict:
    """The link of the validation email (no session: the token is the proof of receipt)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise NoEncontrado("token_invalido", MENSAJE_TOKEN_INVALIDO)
    rechazo = None
    with transaccion(db):
        fila = db.execute(
            select(medios).where(medios.c.token_hash == _hash(token)).with_for_update()
        ).mappings().one_or_none()
        if fila is None or fila["estado"] == BAJA:
            raise NoEncontrado("token_invalido", MENSAJE_TOKEN_INVALIDO)
        if fila["estado"] == VALIDADO:
            raise Conflicto("ya_validado", MENSAJE_YA_VALIDADO)
        if fila["estado"] == BAJA_VENCIMIENTO:
            raise Vencido("validacion_vencida", MENSAJE_VENCIDA)
        if ahora >= fila["vence_en"]:
            rechazo = _marcar_vencido(db, fila, ahora=ahora)
        else:
            _validar(db, fila, json.loads(fila["titular"]), ahora=ahora)
            medio = _medio(db, fila["id"])
    if rechazo is not None:
        raise rechazo
    return medio


def validar_telefono(db: Session, titular: dict, medio_id: object, codigo: object, *, ahora: datetime,
                     config: Config, secreto: bytes) -> dict:
    """The 5-digit SMS code, with a few wrong attempts allowed per code; past them the medio is dropped."""
    rfc = rfc_de(titular)
    maximo = config.intentos_codigo
    rechazo = None
    limpio = codigo.strip() if isinstance(codigo, str) else ""
    with transaccion(db):
        fila = _cargar(db, medio_id, rfc=rfc, bloquear=True)
        if fila is None or fila["mecanismo"] != "telefono" or fila["estado"] == BAJA:
            raise _no_encontrado()
        if fila["estado"] == VALIDADO:
            raise Conflicto("ya_validado", MENSAJE_YA_VALIDADO)
        if not _CODIGO.fullmatch(limpio):
            # Text that can never be a code is a typo, not a guess: it spends no attempt, and it is refused as such
            # before the window is looked at (a request invalid by the API's document is never answered 410).
            raise _codigo_incorrecto(maximo - fila["intentos_fallidos"])
        if fila["estado"] == BAJA_VENCIMIENTO:
            raise Vencido("validacion_vencida", MENSAJE_VENCIDA)
        if ahora >= fila["vence_en"]:
            rechazo = _marcar_vencido(db, fila, ahora=ahora)
        elif _codigo_coincide(fila["codigo_hash"], secreto, fila["id"], limpio):
            _validar(db, fila, _identidad(titular), ahora=ahora)
            medio = _medio(db, fila["id"])
        else:
            intentos = fila["intentos_fallidos"] + 1
            if intentos >= maximo:
                db.execute(update(medios).where(medios.c.id == fila["id"]).values(
                    estado=BAJA, baja_en=ahora, intentos_fallidos=intentos, codigo_hash=None))
                encolar(db, salida, MedioDadoDeBaja(
                    rfc=rfc, medio_id=fila["id"], mecanismo=fila["mecanismo"], estado=BAJA,
                    registros_patronales=_rps(db, [fila["id"]])[fila["id"]]), ahora=ahora)
                log.info("medio de contacto %s dado de baja por intentos agotados", fila["id"])
                rechazo = Bloqueado("intentos_agotados",
                                    "Agotaste los intentos para ingresar el código de verificación. El número "
                                    "celular fue dado de baja: regístralo de nuevo para recibir otro código.",
                                    {"intentos_restantes": 0})
            else:
                db.execute(update(medios).where(medios.c.id == fila["id"]).values(intentos_fallidos=intentos))
                rechazo = _codigo_incorrecto(maximo - intentos)
    if rechazo is not None:
        raise rechazo
    return medio


def _codigo_incorrecto(restantes: int) -> ReglaIncumplida:
    return ReglaIncumplida("codigo_incorrecto",
                           f"El código de verificación es incorrecto. Te quedan {restantes} intentos.",
                           {"intentos_restantes": restantes})


# -- resending -------------------------------------------------------------------------------------------------

def reenviar(db: Session, titular: dict, medio_id: object, *, ahora: datetime, config: Config, secreto: bytes,
             clave_idempotencia: object = None) -> dict:
    """Send a pendiente medio's validation again: a new link for an email, a new code for a phone.

    The new link or code replaces the old one (only the latest works), within the per-destination limit that
    registrations count too. The window follows API.md: an email's runs from its registration, so it does not move;
    a phone's runs from the sending of its code, so it starts again with the new code (moved once more when the
    SMS is reported sent) and the new code gets its own wrong attempts. With a `clave_idempotencia` already
    answered, the first answer comes back and nothing is sent again.
    """
    rfc = rfc_de(titular)
    peticion = idempotente.Peticion(
        idempotencia, rfc, idempotente.clave_valida(clave_idempotencia),
        idempotente.huella({"reenvio": medio_id if isinstance(medio_id, str) else None}), ahora)
    return idempotente.una_vez(db, peticion, lambda: _reenviar(db, titular, medio_id, peticion, ahora=ahora,
                                                               config=config, secreto=secreto))


def _reenviar(db: Session, titular: dict, medio_id: object, peticion: idempotente.Peticion, *, ahora: datetime,
              config: Config, secreto: bytes) -> dict:
    rfc = peticion.rfc
    rechazo = None
    with transaccion(db):
        # A lapsed medio lapses now (and its lapse is kept, with its notices) before it is looked at.
        _vencer(db, ahora=ahora, rfc=rfc)
        fila = _cargar(db, medio_id, rfc=rfc, bloquear=True)
        if fila is None:
            raise _no_encontrado()
        # Under the medio's lock: a repeat of this key that waited for it gets the first answer.
        peticion.comprobar(db)
        if fila["estado"] == VALIDADO:
            raise Conflicto("ya_validado", MENSAJE_REENVIO_VALIDADO)
        if fila["estado"] != PENDIENTE:
            rechazo = Conflicto("medio_dado_de_baja", MENSAJE_REENVIO_BAJA[fila["estado"]])
        else:
            _reenviar_pendiente(db, fila, titular, ahora=ahora, config=config, secreto=secreto)
            medio = _medio(db, fila["id"])
            peticion.guardar(db, medio)
    if rechazo is not None:
        raise rechazo
    return medio


def _reenviar_pendiente(db: Session, fila, titular: dict, *, ahora: datetime, config: Config,
                        secreto: bytes) -> None:
    if fila["mecanismo"] == "correo":
        _contar_mensaje(db, fila["valor"], ahora=ahora, config=config)
        rps = _rps(db, [fila["id"]])[fila["id"]]
        sobre = _datos_titular(db, fila["rfc"], titular.get("nombre"), rps)
        mensaje, token_hash = _mensaje_enlace(fila["id"], fila["valor"], fila["vence_en"], sobre, config=config)
        cambios = {"token_hash": token_hash}
    else:
        destino = valores.destino_sms(fila["valor"])
        _contar_mensaje(db, destino, ahora=ahora, config=config)
        mensaje, codigo_hash = _mensaje_codigo(fila["id"], destino, secreto=secreto, config=config)
        cambios = {"codigo_hash": codigo_hash, "codigo_mensaje_id": mensaje.id_mensaje, "codigo_enviado_en": None,
                   "intentos_fallidos": 0,
                   # Never earlier than the deadline the person was already given.
                   "vence_en": max(fila["vence_en"], ahora + timedelta(seconds=config.ventana_validacion_s))}
    db.execute(update(medios).where(medios.c.id == fila["id"]).values(**cambios))
    encolar(db, salida, mensaje, ahora=ahora)
    log.info("validación del medio de contacto %s reenviada", fila["id"])


# -- deletion ---------------------------------------------------------------------------------------------------

def eliminar(db: Session, titular: dict, medio_id: object, *, ahora: datetime) -> dict:
    """Drop a pendiente or validado medio; one already dropped is answered as it is (deleting is idempotent)."""
    rfc = rfc_de(titular)
    with transaccion(db):
        _vencer(db, ahora=ahora, rfc=rfc)
        fila = _cargar(db, medio_id, rfc=rfc, bloquear=True)
        if fila is None:
            raise _no_encontrado()
        if fila["estado"] in ACTIVOS:
            rps = _rps(db, [fila["id"]])[fila["id"]]
            # Only a validated medio was ever in force, so only its removal gets an acuse.
            folio = siguiente_folio(db, folios, "baja_medio", ahora=ahora) if fila["estado"] == VALIDADO else None
            db.execute(update(medios).where(medios.c.id == fila["id"]).values(
                estado=BAJA, baja_en=ahora, folio_baja=folio, codigo_hash=None))
            if folio is not None:
                encolar(db, salida, AcuseSolicitado(
                    folio=folio, tipo="baja_medio", rfc=rfc, emitido_en=iso_mexico(ahora),
                    titular=_identidad(titular), datos=_datos_acuse(db, fila, BAJA, rps),
                ), ahora=ahora)
            encolar(db, salida, MedioDadoDeBaja(rfc=rfc, medio_id=fila["id"], mecanismo=fila["mecanismo"],
                                                estado=BAJA, registros_patronales=rps), ahora=ahora)
            _avisar(db, AVISO_ELIMINADO, _afectado(db, fila, rps, ahora=ahora, nombre=titular.get("nombre")),
                    _destinatarios(db, {rfc})[rfc], ahora=ahora)
            log.info("medio de contacto %s dado de baja por su titular", fila["id"])
        medio = _medio(db, fila["id"])
        aviso = aviso_tras_baja(db, rfc)
    if aviso:
        medio["aviso"] = aviso
    return medio


def aviso_tras_baja(db: Session, rfc: str) -> str | None:
    """The notice when an active Buzón is left without a validated RFC-level email or mobile."""
    activo = db.execute(select(buzones_activos.c.rfc).where(buzones_activos.c.rfc == rfc)).first() is not None
    if not activo:
        return None
    cumple = _requisitos(db, rfc)
    faltan = [nombre for clave, nombre in (("correo_validado", "un correo electrónico"),
                                           ("telefono_validado", "un número celular")) if not cumple[clave]]
    return AVISO_REQUISITOS.format(faltan=" ni ".join(faltan)) if faltan else None


def registrar_activacion(db: Session, evento: BuzonActivado) -> bool:
    """Remember that the RFC's Buzón is active (idempotent: the bus may deliver the event twice)."""
    with transaccion(db):
        existe = db.execute(select(buzones_activos.c.rfc).where(buzones_activos.c.rfc == evento.rfc)).first()
        if existe is None:
            db.execute(buzones_activos.insert().values(rfc=evento.rfc, folio=evento.folio,
                                                       activado_en=datetime.fromisoformat(evento.activado_en)))
    return existe is None
