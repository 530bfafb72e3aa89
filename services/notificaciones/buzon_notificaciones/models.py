"""Tables of the notificaciones service, shared by its RPC service and its two workers (schema `notificaciones`)."""
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from buzon_comun.bandeja_salida import tabla_salida
from buzon_comun.db import FechaUtc

metadata = MetaData()

# One row per message asked for, keyed by the requester's id_mensaje: a redelivered or repeated request finds its
# row and is not sent twice. The rendered body and the request hold a one-time link or code, so they are blanked
# once the message reaches enviado or fallido; the metadata stays for operators.
entregas = Table(
    "entregas",
    metadata,
    Column("id_mensaje", String(100), primary_key=True),
    Column("canal", String(10), nullable=False),
    Column("para", String(320), nullable=False),
    Column("plantilla", String(50), nullable=False),
    Column("referencia", String(100), nullable=False),
    Column("origen", String(50), nullable=False),
    Column("solicitud", Text, nullable=True),
    Column("asunto", Text, nullable=True),
    Column("texto", Text, nullable=True),
    Column("html", Text, nullable=True),
    Column("estado", String(10), nullable=False),
    Column("intentos", Integer, nullable=False, default=0),
    Column("ultimo_error", Text, nullable=True),
    Column("proximo_intento", FechaUtc, nullable=True),
    Column("solicitado_en", FechaUtc, nullable=False),
    Column("enviado_en", FechaUtc, nullable=True),
    Index("ix_entregas_pendientes", "canal", "estado", "proximo_intento"),
)

# Events and dead letters waiting to be published (the outbox): committed with the change they announce.
salida = tabla_salida(metadata)
