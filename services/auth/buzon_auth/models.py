"""Tables of the auth service: challenges, sessions and rate-limit counters."""
from sqlalchemy import Column, MetaData, String, Table

from buzon_comun.db import FechaUtc
from buzon_comun.bandeja_salida import tabla_salida
from buzon_comun.limites import tabla_limites

metadata = MetaData()

# A challenge is stored by the hash of its value: the value itself only travels to the person who asked.
retos = Table(
    "retos",
    metadata,
    Column("reto_hash", String(64), primary_key=True),
    Column("creado_en", FechaUtc, nullable=False),
    Column("expira_en", FechaUtc, nullable=False, index=True),
    Column("consumido_en", FechaUtc, nullable=True),
)

# Sessions by the hash of their token, so a copy of the table opens no session.
sesiones = Table(
    "sesiones",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("rfc_representante", String(13), nullable=True),
    Column("curp", String(18), nullable=True),
    Column("nombre", String(300), nullable=False),
    Column("tipo_persona", String(6), nullable=False),
    Column("numero_certificado", String(20), nullable=False),
    Column("creada_en", FechaUtc, nullable=False),
    Column("expira_en", FechaUtc, nullable=False, index=True),
    Column("cerrada_en", FechaUtc, nullable=True),
)

limites = tabla_limites(metadata)

# Events waiting to be published (the outbox): committed with the change they announce.
salida = tabla_salida(metadata)
