"""Tables of the acuses service (it owns them alone)."""
from sqlalchemy import Column, MetaData, String, Table, Text

from buzon_comun.db import FechaUtc

metadata = MetaData()

# Every acuse someone asked for, as asked: everything printed on it travels in the request, so the acuse
# never depends on a later state of the requester. Rendering (and the PDF's bytes) arrives with issue 4.
solicitudes = Table(
    "solicitudes",
    metadata,
    Column("folio", String(40), primary_key=True),
    Column("tipo", String(40), nullable=False),
    Column("rfc", String(13), nullable=False, index=True),
    Column("emitido_en", String(40), nullable=False),
    Column("solicitud", Text, nullable=False),
    Column("recibida_en", FechaUtc, nullable=False),
)
