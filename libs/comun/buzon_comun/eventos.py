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

    def datos(self) -> dict:
        return dataclasses.asdict(self)


def mensaje(evento: Evento, *, ahora: datetime, id_evento: str | None = None) -> dict:
    return {
        "id": id_evento or str(uuid.uuid4()),
        "tipo": evento.TIPO,
        "version": evento.VERSION,
        "ocurrido_en": iso_mexico(ahora),
        "datos": evento.datos(),
    }


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
