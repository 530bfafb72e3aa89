"""Event contracts: what services announce on the bus, with an id and a version.

Every event travels as `{"id", "tipo", "version", "ocurrido_en", "datos"}` on the events exchange of the service
that owns it (`<servicio>.events`, routing key `tipo`). Consumers must be idempotent on `id`: the outbox
delivers at least once. A change that breaks a contract gets a new version; consumers refuse versions they
don't know rather than guess.
"""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from buzon_comun.reloj import iso_mexico

_REGISTRO: dict[tuple[str, int], type["Evento"]] = {}


class ContratoDesconocido(ValueError):
    pass


@dataclass(frozen=True)
class Evento:
    ORIGEN: ClassVar[str]
    TIPO: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        clave = (cls.TIPO, cls.VERSION)
        if clave in _REGISTRO:
            raise TypeError(f"contrato de evento repetido: {clave}")
        _REGISTRO[clave] = cls

    def carga(self) -> dict:
        return dataclasses.asdict(self)


def mensaje(evento: Evento, *, ahora: datetime, id_evento: str | None = None) -> dict:
    return {
        "id": id_evento or str(uuid.uuid4()),
        "tipo": evento.TIPO,
        "version": evento.VERSION,
        "ocurrido_en": iso_mexico(ahora),
        "datos": evento.carga(),
    }


def origenes() -> list[str]:
    """Every service that announces events (each one's exchange is `<origen>.events`)."""
    return sorted({origen.strip() for clase in _REGISTRO.values() for origen in clase.ORIGEN.split(",")})


def leer(mensaje_recibido: dict) -> tuple[str, Evento]:
    """The id and the typed event of a message; ContratoDesconocido if its type or version is unknown."""
    try:
        clase = _REGISTRO[(mensaje_recibido["tipo"], mensaje_recibido["version"])]
        return mensaje_recibido["id"], clase(**mensaje_recibido["datos"])
    except (KeyError, TypeError) as exc:
        raise ContratoDesconocido(f"evento no reconocido: {exc}") from None


# --- Contracts ---

@dataclass(frozen=True)
class SesionIniciada(Evento):
    """Someone logged in with an e.firma (for the audit trail and, later, the Buzón's own records)."""

    ORIGEN: ClassVar[str] = "auth"
    TIPO: ClassVar[str] = "sesion_iniciada"

    rfc: str
    tipo_persona: str
    numero_certificado: str
    rfc_representante: str | None


@dataclass(frozen=True)
class SesionCerrada(Evento):
    ORIGEN: ClassVar[str] = "auth"
    TIPO: ClassVar[str] = "sesion_cerrada"

    rfc: str


# Messages to people. Any service may ask for one; `notificaciones` renders the template named in `plantilla`
# with `datos` and sends it. `id_mensaje` is stable for the life of the message (it is the SMS provider's message
# id and the email's Message-ID), so a retried or redelivered request is never sent twice. `referencia` lets the
# requester recognise the answer events (e.g. the medio de contacto's id). Asked by contactos (validation and
# notices of medios) and by buzon (`aviso_notificacion`, on `buzon.events`: notificaciones consumes those on queues
# of their own, so a campaign's avisos never hold back a validation code). The answer events name the `plantilla`,
# so each requester takes its own (buzon: `aviso_notificacion`, its `id_mensaje` the aviso's id).

@dataclass(frozen=True)
class CorreoSolicitado(Evento):
    ORIGEN: ClassVar[str] = "contactos, buzon"
    TIPO: ClassVar[str] = "correo_solicitado"

    id_mensaje: str
    para: str
    plantilla: str          # validacion_correo | confirmacion_correo | aviso_medio_* | aviso_notificacion
    datos: dict
    referencia: str


@dataclass(frozen=True)
class SmsSolicitado(Evento):
    ORIGEN: ClassVar[str] = "contactos, buzon"
    TIPO: ClassVar[str] = "sms_solicitado"

    id_mensaje: str
    para: str               # +52 and 10 digits
    plantilla: str          # codigo_sms | confirmacion_sms | aviso_medio_* | aviso_notificacion
    datos: dict
    referencia: str


@dataclass(frozen=True)
class MensajeEnviado(Evento):
    """A message was handed to the mail server or the SMS provider (the phone's validation window starts then)."""

    ORIGEN: ClassVar[str] = "notificaciones"
    TIPO: ClassVar[str] = "mensaje_enviado"

    id_mensaje: str
    canal: str              # correo | sms
    referencia: str
    plantilla: str
    enviado_en: str         # ISO 8601


@dataclass(frozen=True)
class MensajeFallido(Evento):
    """A message could not be delivered after its last try (it is also in the dead-letter queue)."""

    ORIGEN: ClassVar[str] = "notificaciones"
    TIPO: ClassVar[str] = "mensaje_fallido"

    id_mensaje: str
    canal: str
    referencia: str
    plantilla: str
    error: str


# Acuses. Whoever does the act asks `acuses` for its receipt, with the folio it gave the person; acuses stores
# the request and renders it. Every field printed on the acuse travels in the request, so the acuse never
# depends on a later state of the requester. Sent by contactos (medios), activacion (the solicitud) and buzon
# (notifications), each on its own events exchange. The código de verificación is acuses' to mint, unless the
# requester sends one (`buzon_comun.codigos.nuevo_codigo`): buzon does, so an opening answers its acuse's code at
# once. A code travels like an SMS code in a message request: the bitácora keeps no event's data.

@dataclass(frozen=True)
class AcuseSolicitado(Evento):
    ORIGEN: ClassVar[str] = "contactos, activacion, buzon"
    TIPO: ClassVar[str] = "acuse_solicitado"

    folio: str
    tipo: str               # registro_medio | validacion_medio | baja_medio | activacion | aclaracion | notificacion
    rfc: str
    emitido_en: str         # ISO 8601, the moment of the act
    titular: dict           # rfc, nombre, curp, rfc_representante, tipo_persona (from the session)
    datos: dict             # what was done: mecanismo, valor, estado, registros_patronales, medio_id
    codigo_verificacion: str | None = None  # the acuse's code when the requester minted it; else acuses mints one


# The life of contact means, for other services (activation requirements, the Buzón's notices).

@dataclass(frozen=True)
class MedioValidado(Evento):
    ORIGEN: ClassVar[str] = "contactos"
    TIPO: ClassVar[str] = "medio_validado"

    rfc: str
    medio_id: str
    mecanismo: str
    registros_patronales: list


@dataclass(frozen=True)
class MedioDadoDeBaja(Evento):
    ORIGEN: ClassVar[str] = "contactos"
    TIPO: ClassVar[str] = "medio_dado_de_baja"

    rfc: str
    medio_id: str
    mecanismo: str
    estado: str             # baja | baja_vencimiento
    registros_patronales: list


# The activation.

@dataclass(frozen=True)
class BuzonActivado(Evento):
    """The RFC signed the Solicitud y manifestación: its Buzón IMSS is active (for contactos' notice on deletion,
    and later the Buzón itself)."""

    ORIGEN: ClassVar[str] = "activacion"
    TIPO: ClassVar[str] = "buzon_activado"

    rfc: str
    folio: str
    tipo: str               # patron | particular
    activado_en: str        # ISO 8601
    registros_patronales: list


# The Buzón's notifications (services/buzon). Deposited by an Institute system (`sistema`, with its own
# `referencia`), they never carry the subject, the content or the document: only who, which and when, for the
# depositing system (told of opening and deemed notification) and for the buzon service's own avisos.
# buzon also asks for the avisos as CorreoSolicitado/SmsSolicitado (plantilla `aviso_notificacion`) on its own
# exchange `buzon.events`, so notificaciones can consume them on a queue apart from validation messages.

@dataclass(frozen=True)
class NotificacionDepositada(Evento):
    ORIGEN: ClassVar[str] = "buzon"
    TIPO: ClassVar[str] = "notificacion_depositada"

    id: str
    sistema: str
    referencia: str
    rfc: str
    registros_patronales: list  # the RPs named (strings); empty: addressed to the RFC
    depositada_en: str          # ISO 8601


@dataclass(frozen=True)
class NotificacionAbierta(Evento):
    """The addressee signed the acuse de recibo: the notification is made at `notificada_en`."""

    ORIGEN: ClassVar[str] = "buzon"
    TIPO: ClassVar[str] = "notificacion_abierta"

    id: str
    sistema: str
    referencia: str
    rfc: str
    notificada_en: str          # ISO 8601, the moment it was opened
    folio_acuse: str


@dataclass(frozen=True)
class NotificacionTacita(Evento):
    """Not opened within the días hábiles after its aviso: deemed notified at `notificada_en` (the deemed moment,
    not when the timer ran)."""

    ORIGEN: ClassVar[str] = "buzon"
    TIPO: ClassVar[str] = "notificacion_tacita"

    id: str
    sistema: str
    referencia: str
    rfc: str
    aviso_enviado_en: str       # ISO 8601, the aviso the días hábiles count from
    notificada_en: str          # ISO 8601, the deemed moment
    folio_acuse: str
