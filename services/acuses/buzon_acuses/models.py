"""Tables of the acuses service (it owns them alone)."""
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, Text

from buzon_comun.db import FechaUtc
from buzon_comun.limites import tabla_limites

metadata = MetaData()

# Every acuse someone asked for, as asked: everything printed on it travels in the request, so the acuse
# never depends on a later state of the requester.
solicitudes = Table(
    "solicitudes",
    metadata,
    Column("folio", String(40), primary_key=True),
    Column("tipo", String(40), nullable=False),
    Column("rfc", String(13), nullable=False, index=True),
    Column("emitido_en", String(40), nullable=False),
    Column("solicitud", Text, nullable=False),
    Column("recibida_en", FechaUtc, nullable=False),
    # Made when the request arrives, so it is printed on the PDF; the owner reads it here even before the PDF exists.
    Column("codigo_verificacion", String(16), nullable=False),
)

# Issued acuses. A row is written once, with the PDF's bytes, and never changed: downloads serve these bytes, so
# an acuse downloaded twice (or years later) is the same document.
acuses = Table(
    "acuses",
    metadata,
    Column("folio", String(40), primary_key=True),
    Column("tipo", String(40), nullable=False),
    Column("rfc", String(13), nullable=False, index=True),
    Column("emitido_en", String(40), nullable=False),
    Column("cadena_original", Text, nullable=False),
    Column("sello", Text, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("renderizado_en", FechaUtc, nullable=False),
    # The request's code, copied when issued: the public verification reads one row.
    Column("codigo_verificacion", String(16), nullable=False),
)

# Failed public verifications per client address and minute: guessing codes costs a client its verifications.
limites = tabla_limites(metadata)
