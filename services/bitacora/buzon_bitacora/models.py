"""The one table of the bitácora (it owns it alone): rows are added, never changed."""
from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from buzon_comun.db import FechaUtc

metadata = MetaData()

# Every event once (its id), with what it was, about which RFC and object, and when: never its data, which may
# carry a validation link or an SMS code.
eventos = Table(
    "eventos",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("origen", String(50), nullable=False),
    Column("tipo", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ocurrido_en", String(40), nullable=False),
    Column("rfc", String(13), nullable=True),
    Column("referencia", String(100), nullable=True),
    Column("recibido_en", FechaUtc, nullable=False),
    Index("ix_eventos_rfc_ocurrido", "rfc", "ocurrido_en"),
    Index("ix_eventos_tipo", "tipo"),
)
