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
    buzones_activos, folios, idempotencia, limites, medio_registros_patronales as mrp, medios, salida,
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
               "Ya tiene registrados 5 correos electrónicos para este ámbito, el máximo permitido. "
               "Elimine uno antes de registrar otro."),
    "telefono": (1, "limite_telefonos",
                 "Ya tiene registrado un número celular para este ámbito, el máximo permitido. "
                 "Elimínelo antes de registrar otro."),
}

MENSAJE_NO_ENCONTRADO = "El medio de contacto no existe."
MENSAJE_TOKEN_INVALIDO = ("El enlace de validación no es válido: no existe o el medio de contacto fue eliminado. "
                          "Registre de nuevo su correo electrónico.")
MENSAJE_VENCIDA = ("El plazo de 72 horas para validar el medio de contacto venció y fue dado de baja por "
                   "vencimiento. Regístrelo de nuevo.")
MENSAJE_YA_VALIDADO = "El medio de contacto ya estaba validado."
AVISO_REQUISITOS = ("Su Buzón IMSS está activo y ya no cuenta con {faltan} validado para su RFC. Registre y valide "
                    "uno nuevo para seguir recibiendo los avisos de su Buzón IMSS.")
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


def _datos_acuse(fila, estado: str, rps: list[str]) -> dict:
    return {"medio_id": fila["id"], "mecanismo": fila["mecanismo"], "valor": fila["valor"], "estado": estado,
            "registros_patronales": list(rps)}


# -- expiry -----------------------------------------------------------------------------------------------------

def _vencer(db: Session, *, ahora: datetime, rfc: str | None = None) -> list[str]:
    """Move lapsed pendientes to baja_vencimiento in the caller's transaction, each with its event.

    One UPDATE … RETURNING: when replicas race, each row is claimed (and announced) by exactly one of them.
    """
    sentencia = (
        update(medios)
        .where(medios.c.estado == PENDIENTE, medios.c.vence_en <= ahora)
        .values(estado=BAJA_VENCIMIENTO, baja_en=ahora, codigo_hash=None)
        .returning(medios.c.id, medios.c.rfc, medios.c.mecanismo)
    )
    if rfc is not None:
        sentencia = sentencia.where(medios.c.rfc == rfc)
    filas = db.execute(sentencia).all()
    rps = _rps(db, [f.id for f in filas])
    for f in filas:
        encolar(db, salida, MedioDadoDeBaja(rfc=f.rfc, medio_id=f.id, mecanismo=f.mecanismo,
                                            estado=BAJA_VENCIMIENTO, registros_patronales=rps[f.id]), ahora=ahora)
    return [f.id for f in filas]


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
                              "Su RFC no tiene Registros Patronales en el padrón del Instituto: registre el medio "
                              "de contacto para su RFC.")
    if pedidos is None:
        return sorted(propios)
    for pedido in pedidos:
        if pedido not in propios:
            raise ReglaIncumplida("registro_patronal_ajeno",
                                  "El registro patronal no está asociado a su RFC en el padrón del Instituto.",
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
    except DemasiadasSolicitudes as error:
        exceso = error
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
        # Counted per destination whatever the RFC, so nobody can use the Buzón to flood someone else's inbox.
        limitador.contar(db, limites, f"mensajes:{destino}", ahora=ahora, ventana_s=VENTANA_LIMITES_S,
                         limite=config.limite_mensajes_por_destino)

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
        if mec == "correo":
            token = _token()
            fila["token_hash"] = _hash(token)
            mensaje = CorreoSolicitado(
                id_mensaje=str(uuid.uuid4()), para=val, plantilla="validacion_correo",
                datos={"enlace": f"{config.public_url}/medios-contacto/validar/{token}",
                       "vence_en": iso_mexico(vence), "nombre": identidad["nombre"]},
                referencia=medio_id,
            )
        else:
            codigo = _codigo()
            fila["codigo_hash"] = _hash_codigo(secreto, medio_id, codigo)
            fila["codigo_mensaje_id"] = str(uuid.uuid4())
            mensaje = SmsSolicitado(id_mensaje=fila["codigo_mensaje_id"], para=destino, plantilla="codigo_sms",
                                    datos={"codigo": codigo}, referencia=medio_id)
        db.execute(medios.insert().values(**fila))
        if rps:
            db.execute(mrp.insert(), [{"medio_id": medio_id, "registro_patronal": rp} for rp in rps])
        encolar(db, salida, AcuseSolicitado(
            folio=folio, tipo="registro_medio", rfc=rfc, emitido_en=iso_mexico(ahora), titular=identidad,
            datos={"medio_id": medio_id, "mecanismo": mec, "valor": val, "estado": PENDIENTE,
                   "registros_patronales": rps},
        ), ahora=ahora)
        encolar(db, salida, mensaje, ahora=ahora)
        medio = _medio(db, medio_id)
        peticion.guardar(db, medio)
    log.info("medio de contacto %s (%s) registrado para %s con folio %s", medio_id, mec, rfc, folio)
    return medio


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
        datos=_datos_acuse(fila, VALIDADO, rps),
    ), ahora=ahora)
    if fila["mecanismo"] == "correo":
        confirmacion = CorreoSolicitado(id_mensaje=str(uuid.uuid4()), para=fila["valor"],
                                        plantilla="confirmacion_correo", datos={"valor": fila["valor"]},
                                        referencia=fila["id"])
    else:
        confirmacion = SmsSolicitado(id_mensaje=str(uuid.uuid4()), para=valores.destino_sms(fila["valor"]),
                                     plantilla="confirmacion_sms", datos={}, referencia=fila["id"])
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
    with transaccion(db):
        fila = _cargar(db, medio_id, rfc=rfc, bloquear=True)
        if fila is None or fila["mecanismo"] != "telefono" or fila["estado"] == BAJA:
            raise _no_encontrado()
        if fila["estado"] == VALIDADO:
            raise Conflicto("ya_validado", MENSAJE_YA_VALIDADO)
        if fila["estado"] == BAJA_VENCIMIENTO:
            raise Vencido("validacion_vencida", MENSAJE_VENCIDA)
        if ahora >= fila["vence_en"]:
            rechazo = _marcar_vencido(db, fila, ahora=ahora)
        else:
            limpio = codigo.strip() if isinstance(codigo, str) else ""
            if not _CODIGO.fullmatch(limpio):
                # Text that can never be a code is a typo, not a guess: it spends no attempt.
                raise _codigo_incorrecto(maximo - fila["intentos_fallidos"])
            if _codigo_coincide(fila["codigo_hash"], secreto, fila["id"], limpio):
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
                                        "Agotó los intentos para ingresar el código de verificación. El número "
                                        "celular fue dado de baja: regístrelo de nuevo para recibir otro código.",
                                        {"intentos_restantes": 0})
                else:
                    db.execute(update(medios).where(medios.c.id == fila["id"]).values(intentos_fallidos=intentos))
                    rechazo = _codigo_incorrecto(maximo - intentos)
    if rechazo is not None:
        raise rechazo
    return medio


def _codigo_incorrecto(restantes: int) -> ReglaIncumplida:
    return ReglaIncumplida("codigo_incorrecto",
                           f"El código de verificación es incorrecto. Le quedan {restantes} intentos.",
                           {"intentos_restantes": restantes})


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
                    titular=_identidad(titular), datos=_datos_acuse(fila, BAJA, rps),
                ), ahora=ahora)
            encolar(db, salida, MedioDadoDeBaja(rfc=rfc, medio_id=fila["id"], mecanismo=fila["mecanismo"],
                                                estado=BAJA, registros_patronales=rps), ahora=ahora)
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
