"""The activation of the Buzón IMSS, free of nameko so it tests without a broker.

Every function takes a SQLAlchemy session, the moment `ahora` and the other services as plain objects
(`contactos` with padron/requisitos/listar, `auth` with verificar_efirma): nameko's RPC proxies in the service,
small fakes in the tests. No database transaction stays open while another service is asked.

A session asks for the Solicitud y manifestación (`solicitud`) and gets one text and cadena original for
`VIGENCIA` (the same on every ask, whatever attempts fail in between); `activar` verifies the signature over
that stored cadena, never over a rebuilt one, and records the activation once per RFC with its evidence,
announcing it through the outbox (BuzonActivado, AcuseSolicitado) in the same transaction.

Promociones Electrónicas take Aclaraciones u Orientaciones (`presentar_aclaracion`), before the activation too:
subject "Activación Buzón IMSS" is when people need it most. Each is recorded with its own folio and state and asks
acuses for its receipt in the same transaction.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from datetime import datetime, timedelta

from jinja2 import Template
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buzon_comun.db import insercion, transaccion
from buzon_comun.bandeja_salida import encolar
from buzon_comun.errores import (
    Conflicto, DemasiadasSolicitudes, NoEncontrado, Prohibido, ReglaIncumplida, SolicitudInvalida,
)
from buzon_comun.eventos import AcuseSolicitado, BuzonActivado
from buzon_comun.folios import siguiente_folio
from buzon_comun.reloj import en_mexico, iso_mexico
from buzon_activacion import solicitud as textos
from buzon_comun import idempotencia as idempotente
from buzon_activacion.models import aclaraciones as tabla_aclaraciones
from buzon_activacion.models import activaciones, folios, idempotencia, salida, solicitudes

log = logging.getLogger(__name__)

# The contract asks for at least 10 minutes: enough to read the text and find the e.firma's files.
VIGENCIA = timedelta(minutes=30)
RETENCION = timedelta(days=1)
PATRON, PARTICULAR = "patron", "particular"
ACTIVO, INACTIVO = "activo", "inactivo"
CAMPOS_TITULAR = ("rfc", "nombre", "curp", "rfc_representante", "tipo_persona")
_FORMA_RFC = re.compile(r"[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}")

MENSAJE_YA_ACTIVO = "El Buzón IMSS de este RFC ya está activo."
MENSAJE_SIN_SOLICITUD = (
    "Antes de firmar, lee y acepta la Solicitud y manifestación del solicitante: esta sesión no tiene una "
    "vigente. Consúltala de nuevo y firma la cadena original que se te entregue."
)
MENSAJE_REQUISITOS = (
    "Para activar el Buzón IMSS debes tener validados un correo electrónico y un número celular del RFC. "
    "Falta validar {faltan}."
)
MENSAJE_NO_ACTIVO = "El Buzón IMSS de este RFC no está activo: aún no hay acuse de activación."
# Promociones Electrónicas: the only subject the guide offers for now.
ASUNTO_ACLARACION = "Activación Buzón IMSS"
LIMITE_ACLARACION = 4000
# Every aclaración starts "recibida" (recorded, its acuse asked for); the Institute's areas answer it outside this
# system, which is why the state is a column and not a constant.
RECIBIDA = "recibida"
MENSAJE_LIMITE_ACLARACIONES = ("Ya presentaste {limite} Aclaraciones u Orientaciones hoy, el máximo por día. Podrás "
                                "presentar otra mañana.")
MENSAJE_TEXTO_ACLARACION = (f"Escribe el planteamiento de tu aclaración u orientación (de 1 a {LIMITE_ACLARACION} "
                            "caracteres).")


# -- helpers ----------------------------------------------------------------------------------------------------

def rfc_de(titular: object) -> str:
    """The RFC of the session's identity (trusted: the gateway resolved it; only its form is guarded)."""
    rfc = titular.get("rfc") if isinstance(titular, dict) else None
    if not isinstance(rfc, str) or not _FORMA_RFC.fullmatch(rfc):
        raise SolicitudInvalida("solicitud_invalida", "La identidad de la sesión no es válida.")
    return rfc


def _identidad(titular: dict) -> dict:
    return {**{campo: titular.get(campo) for campo in CAMPOS_TITULAR}, "rfc": rfc_de(titular)}


def _clave_sesion(sesion_id: object) -> str:
    if not isinstance(sesion_id, str) or not sesion_id or len(sesion_id) > 512:
        raise SolicitudInvalida("solicitud_invalida", "La sesión no es válida.")
    return hashlib.sha256(sesion_id.encode("utf-8")).hexdigest()


def _texto_requerido(valor: object, campo: str) -> str:
    if not isinstance(valor, str) or not valor:
        raise SolicitudInvalida("solicitud_invalida", f"El campo «{campo}» es obligatorio y debe ser texto.")
    return valor


def _registros(contactos, rfc: str) -> list[dict]:
    respuesta = contactos.padron(rfc) or {}
    return [{"registro_patronal": rp["registro_patronal"], "razon_social": rp["razon_social"]}
            for rp in respuesta.get("registros_patronales") or []]


def _medios_validados(contactos, titular: dict) -> list[dict]:
    respuesta = contactos.listar(titular) or {}
    return [{"mecanismo": m["mecanismo"], "valor": m["valor"],
             "registros_patronales": list(m.get("registros_patronales") or [])}
            for m in respuesta.get("medios") or [] if m.get("estado") == "validado"]


def _requisitos(contactos, rfc: str) -> dict:
    respuesta = contactos.requisitos(rfc) or {}
    return {"correo_validado": bool(respuesta.get("correo_validado")),
            "telefono_validado": bool(respuesta.get("telefono_validado"))}


def _activacion(db: Session, rfc: str):
    return db.execute(select(activaciones).where(activaciones.c.rfc == rfc)).mappings().one_or_none()


def _vigente(db: Session, clave: str, rfc: str, ahora: datetime):
    return db.execute(
        select(solicitudes).where(solicitudes.c.sesion_id == clave, solicitudes.c.rfc == rfc,
                                  solicitudes.c.expira_en > ahora)
    ).mappings().one_or_none()


def _bloquear(db: Session, clave: str) -> None:
    """A lock held until the transaction ends, shared by every replica (SQLite serialises writers by itself)."""
    if db.bind.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"activacion:{clave}".encode())})


# -- estado -----------------------------------------------------------------------------------------------------

def estado(db: Session, titular: dict, *, contactos) -> dict:
    rfc = rfc_de(titular)
    # Each read its own short transaction: none stays open while another service is asked, which may take seconds.
    with transaccion(db):
        fila = _activacion(db, rfc)
    tipo = PATRON if _registros(contactos, rfc) else PARTICULAR
    return {
        "estado": ACTIVO if fila else INACTIVO,
        "tipo": tipo,
        "requisitos": _requisitos(contactos, rfc),
        "aviso": textos.AVISO_PARTICULAR if tipo == PARTICULAR else None,
        "folio": fila["folio"] if fila else None,
        "activado_en": iso_mexico(fila["activado_en"]) if fila else None,
    }


def titular(db: Session, rfc: object) -> dict | None:
    """Who activated the RFC's Buzón, as the session named them (`rfc, nombre, curp, rfc_representante,
    tipo_persona`), or None while it is not active. For buzon's deposits (no call to contactos, unlike `estado`):
    None refuses the deposit, and the name goes on the acuse of a notification deemed notified (nobody signs it)."""
    rfc = rfc_de({"rfc": rfc})
    with transaccion(db):
        fila = _activacion(db, rfc)
    return json.loads(fila["titular"]) if fila is not None else None


# -- solicitud --------------------------------------------------------------------------------------------------

def solicitud(db: Session, titular: dict, sesion_id: object, *, ahora: datetime, contactos,
              plantilla: Template | None = None) -> dict:
    """The text to read and the cadena to sign, the same for this session while it lives.

    After the activation, the text and cadena that were signed (what the acuse certifies).
    """
    identidad = _identidad(titular)
    rfc = identidad["rfc"]
    clave = _clave_sesion(sesion_id)
    with transaccion(db):
        activa = _activacion(db, rfc)
        vigente = _vigente(db, clave, rfc, ahora) if activa is None else None
    if activa is not None:
        return {"texto": activa["texto"], "cadena_original": activa["cadena_original"]}
    if vigente is not None:
        return {"texto": vigente["texto"], "cadena_original": vigente["cadena_original"]}

    registros = _registros(contactos, rfc)
    medios = _medios_validados(contactos, identidad)
    tipo = PATRON if registros else PARTICULAR
    texto = textos.texto(plantilla or textos.plantilla_por_defecto(), identidad, tipo, registros, medios)
    cadena = textos.cadena_original(rfc, identidad["nombre"] or "", texto, ahora=ahora)
    datos = json.dumps({"tipo": tipo, "registros_patronales": registros, "medios": medios}, ensure_ascii=False)
    valores = dict(sesion_id=clave, rfc=rfc, texto=texto, cadena_original=cadena, datos=datos,
                   emitida_en=ahora, expira_en=ahora + VIGENCIA)
    with transaccion(db):
        # Replace only a lapsed one: when two asks of one session race, the first text issued stays the text.
        sentencia = insercion(db, solicitudes).values(**valores)
        sentencia = sentencia.on_conflict_do_update(
            index_elements=[solicitudes.c.sesion_id],
            set_={k: sentencia.excluded[k] for k in valores if k != "sesion_id"},
            where=(solicitudes.c.expira_en <= ahora) | (solicitudes.c.rfc != rfc),
        ).returning(solicitudes.c.texto, solicitudes.c.cadena_original)
        emitida = db.execute(sentencia).mappings().one_or_none()
        if emitida is None:
            emitida = _vigente(db, clave, rfc, ahora)
        # Lapsed texts of other sessions are of no use to anyone (the signed one is kept with the activation).
        db.execute(delete(solicitudes).where(solicitudes.c.expira_en < ahora - RETENCION))
    return {"texto": emitida["texto"], "cadena_original": emitida["cadena_original"]}


# -- activar ----------------------------------------------------------------------------------------------------

def _peticion(rfc: str, clave_idempotencia: object, operacion: str, ahora: datetime, **solicitado) -> \
        idempotente.Peticion:
    # One table holds both writes' keys: the operation is part of what was asked, so a key reused for the other
    # write is a conflict, never the other write's answer.
    return idempotente.Peticion(idempotencia, rfc, idempotente.clave_valida(clave_idempotencia),
                                idempotente.huella({"operacion": operacion, **solicitado}), ahora)


def activar(db: Session, titular: dict, sesion_id: object, certificado: object, firma: object, *,
            ahora: datetime, contactos, auth, clave_idempotencia: object = None) -> dict:
    """Check in the contract's order, verify the e.firma over the stored cadena, record and announce once.

    A repeat with the same `clave_idempotencia`, certificate and signature (a client's retry, an RPC redelivered)
    gets the first answer without asking anyone again; with another certificate or signature,
    `idempotencia_conflicto`."""
    identidad = _identidad(titular)
    peticion = _peticion(identidad["rfc"], clave_idempotencia, "activar", ahora, certificado=certificado, firma=firma)
    return idempotente.una_vez(db, peticion, lambda: _activar(db, identidad, sesion_id, certificado, firma, peticion,
                                                              ahora=ahora, contactos=contactos, auth=auth))


def _activar(db: Session, identidad: dict, sesion_id: object, certificado: object, firma: object,
             peticion: idempotente.Peticion, *, ahora: datetime, contactos, auth) -> dict:
    rfc = identidad["rfc"]
    clave = _clave_sesion(sesion_id)
    certificado = _texto_requerido(certificado, "certificado")
    firma = _texto_requerido(firma, "firma")

    with transaccion(db):
        activa = _activacion(db, rfc) is not None
        emitida = _vigente(db, clave, rfc, ahora)
    if activa:
        raise Conflicto("ya_activo", MENSAJE_YA_ACTIVO)
    if emitida is None:
        raise ReglaIncumplida("firma_invalida", MENSAJE_SIN_SOLICITUD)

    requisitos = _requisitos(contactos, rfc)
    faltan = [nombre for campo, nombre in (("correo_validado", "un correo electrónico"),
                                           ("telefono_validado", "un número celular")) if not requisitos[campo]]
    if faltan:
        raise Conflicto("requisitos_incompletos", MENSAJE_REQUISITOS.format(faltan=" y ".join(faltan)),
                        {"requisitos": requisitos})

    # Any refusal of auth (firma_invalida, certificado_*, revocacion_no_disponible…) reaches the caller as is.
    verificacion = auth.verificar_efirma(certificado, emitida["cadena_original"], firma, rfc)
    if verificacion.get("rfc") != rfc:
        # auth already refuses another RFC's certificate; this guards the record against a contract slip.
        raise Prohibido("certificado_ajeno", "El certificado no corresponde al RFC de la sesión.")

    datos = json.loads(emitida["datos"])
    registros = datos["registros_patronales"]
    medios = [{"mecanismo": m["mecanismo"], "valor": m["valor"]} for m in datos["medios"]]
    activado_en = iso_mexico(ahora)
    try:
        with transaccion(db):
            folio = siguiente_folio(db, folios, "activacion", ahora=ahora)
            db.execute(activaciones.insert().values(
                rfc=rfc, folio=folio, tipo=datos["tipo"],
                registros_patronales=json.dumps(registros, ensure_ascii=False),
                medios=json.dumps(datos["medios"], ensure_ascii=False),
                texto=emitida["texto"], cadena_original=emitida["cadena_original"], firma=firma,
                certificado=certificado, ocsp=verificacion.get("ocsp") or "",
                numero_certificado=verificacion.get("numero_certificado") or "",
                verificado_en=_momento(verificacion.get("verificado_en"), ahora),
                titular=json.dumps(identidad, ensure_ascii=False), activado_en=ahora,
            ))
            encolar(db, salida, BuzonActivado(rfc=rfc, folio=folio, tipo=datos["tipo"], activado_en=activado_en,
                                              registros_patronales=registros), ahora=ahora)
            encolar(db, salida, AcuseSolicitado(
                folio=folio, tipo="activacion", rfc=rfc, emitido_en=activado_en, titular=identidad,
                datos={"tipo_usuario": datos["tipo"], "registros_patronales": registros, "medios": medios,
                       "texto": emitida["texto"], "cadena_original": emitida["cadena_original"], "firma": firma,
                       "numero_certificado": verificacion.get("numero_certificado")},
            ), ahora=ahora)
            # The text has served its purpose; no session of this RFC can sign another one now.
            db.execute(delete(solicitudes).where(solicitudes.c.rfc == rfc))
            respuesta = {"estado": ACTIVO, "folio": folio, "activado_en": activado_en}
            peticion.guardar(db, respuesta)
    except IntegrityError:
        # Another replica (or a double click) recorded it first: one activation, and the loser says so (or, when
        # both carried one key, answers what the winner answered).
        raise Conflicto("ya_activo", MENSAJE_YA_ACTIVO) from None
    log.info("Buzón IMSS activado para %s con folio %s", rfc, folio)
    return respuesta


def _momento(texto: object, defecto: datetime) -> datetime:
    try:
        momento = datetime.fromisoformat(texto) if isinstance(texto, str) else defecto
    except ValueError:
        return defecto
    return momento if momento.tzinfo is not None else defecto


# -- acuse ------------------------------------------------------------------------------------------------------

def folio_acuse(db: Session, titular: dict) -> str:
    with transaccion(db):
        fila = _activacion(db, rfc_de(titular))
    if fila is None:
        raise NoEncontrado("no_encontrado", MENSAJE_NO_ACTIVO)
    return fila["folio"]


# -- promociones electrónicas: aclaraciones u orientaciones ------------------------------------------------------

def _presentadas_hoy(db: Session, rfc: str, ahora: datetime) -> int:
    """The RFC's aclaraciones since midnight, Mexico City time (the day a person means by "hoy")."""
    medianoche = en_mexico(ahora).replace(hour=0, minute=0, second=0, microsecond=0)
    return db.execute(select(func.count()).select_from(tabla_aclaraciones).where(
        tabla_aclaraciones.c.rfc == rfc, tabla_aclaraciones.c.presentada_en >= medianoche)).scalar_one()


def presentar_aclaracion(db: Session, titular: dict, texto: object, *, ahora: datetime, limite_por_dia: int,
                         clave_idempotencia: object = None) -> dict:
    """Record what the person asks, with a folio, and ask acuses for its receipt in the same transaction.

    Each one renders and stores a PDF, so an RFC presents at most `limite_por_dia` a day. A repeat with the same
    `clave_idempotencia` and text (a double submit, a reload, an RPC redelivered) gets the first folio."""
    identidad = _identidad(titular)
    peticion = _peticion(identidad["rfc"], clave_idempotencia, "presentar_aclaracion", ahora, texto=texto)
    return idempotente.una_vez(db, peticion, lambda: _presentar_aclaracion(
        db, identidad, texto, peticion, ahora=ahora, limite_por_dia=limite_por_dia))


def _presentar_aclaracion(db: Session, identidad: dict, texto: object, peticion: idempotente.Peticion, *,
                          ahora: datetime, limite_por_dia: int) -> dict:
    rfc = identidad["rfc"]
    planteamiento = texto.strip() if isinstance(texto, str) else ""
    if not planteamiento or len(planteamiento) > LIMITE_ACLARACION:
        raise ReglaIncumplida("texto_invalido", MENSAJE_TEXTO_ACLARACION)
    presentada_en = iso_mexico(ahora)
    with transaccion(db):
        # Two at once must not both take the day's last place: one RFC's aclaraciones are recorded in turn.
        _bloquear(db, f"aclaraciones:{rfc}")
        # The same key may have been answered while this one waited for the lock: then that answer is this one's.
        peticion.comprobar(db)
        if _presentadas_hoy(db, rfc, ahora) >= limite_por_dia:
            raise DemasiadasSolicitudes("demasiadas_solicitudes",
                                        MENSAJE_LIMITE_ACLARACIONES.format(limite=limite_por_dia))
        folio = siguiente_folio(db, folios, "aclaracion", ahora=ahora)
        db.execute(tabla_aclaraciones.insert().values(
            folio=folio, rfc=rfc, asunto=ASUNTO_ACLARACION, texto=planteamiento, presentada_en=ahora,
            titular=json.dumps(identidad, ensure_ascii=False), estado=RECIBIDA))
        encolar(db, salida, AcuseSolicitado(
            folio=folio, tipo="aclaracion", rfc=rfc, emitido_en=presentada_en, titular=identidad,
            datos={"asunto": ASUNTO_ACLARACION, "texto": planteamiento}), ahora=ahora)
        respuesta = {"folio": folio, "presentada_en": presentada_en, "asunto": ASUNTO_ACLARACION, "estado": RECIBIDA}
        peticion.guardar(db, respuesta)
    log.info("aclaración %s presentada por %s", folio, rfc)
    return respuesta


def purgar_idempotencia(db: Session, *, ahora: datetime) -> int:
    """Drop the keys of activations and aclaraciones older than their promise (24 hours)."""
    return idempotente.purgar(db, idempotencia, ahora=ahora)


def aclaraciones(db: Session, titular: dict) -> dict:
    """The RFC's aclaraciones, newest first."""
    consulta = (
        select(tabla_aclaraciones.c.folio, tabla_aclaraciones.c.asunto, tabla_aclaraciones.c.texto,
               tabla_aclaraciones.c.presentada_en, tabla_aclaraciones.c.estado)
        .where(tabla_aclaraciones.c.rfc == rfc_de(titular))
        .order_by(tabla_aclaraciones.c.presentada_en.desc(), tabla_aclaraciones.c.folio.desc())
    )
    with transaccion(db):
        filas = db.execute(consulta).mappings().all()
    return {"aclaraciones": [{"folio": f["folio"], "asunto": f["asunto"], "texto": f["texto"],
                              "presentada_en": iso_mexico(f["presentada_en"]), "estado": f["estado"]}
                             for f in filas]}
