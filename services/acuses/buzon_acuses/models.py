"""Tables of the acuses service (it owns them alone)."""
from sqlalchemy import Column, Index, Integer, LargeBinary, MetaData, String, Table, Text, text

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
    # The schedule of tries (buzon_acuses.reintentos): failed tries so far, when the sweep may take it next (NULL
    # once issued or parked, so the sweep's index holds only the requests still waiting), the last failure, and
    # since when it is parked (the sweep leaves it until an operator re-queues it).
    Column("intentos", Integer, nullable=False, default=0, server_default="0"),
    Column("proximo_intento", FechaUtc, nullable=True),
    Column("ultimo_error", String(500), nullable=True),
    Column("estancada_en", FechaUtc, nullable=True),
    Index("ix_solicitudes_proximo_intento", "proximo_intento",
          postgresql_where=text("proximo_intento IS NOT NULL"), sqlite_where=text("proximo_intento IS NOT NULL")),
    Index("ix_solicitudes_estancada_en", "estancada_en",
          postgresql_where=text("estancada_en IS NOT NULL"), sqlite_where=text("estancada_en IS NOT NULL")),
)

# Issued acuses. A row is written once, when the acuse is issued, with everything that fixes its content: the
# cadena, the seal, the code and every value printed on it (`contexto`, JSON) with the version of its template
# (`plantilla`). Its PDF is rendered from those on its first download and stored then (`pdf`, `renderizado_en`),
# once: later downloads serve these bytes, so an acuse downloaded twice (or years later) is the same document.
# Acuses issued before rendering moved to the first download have their PDF and no `contexto`.
acuses = Table(
    "acuses",
    metadata,
    Column("folio", String(40), primary_key=True),
    Column("tipo", String(40), nullable=False),
    Column("rfc", String(13), nullable=False, index=True),
    Column("emitido_en", String(40), nullable=False),
    Column("cadena_original", Text, nullable=False),
    Column("sello", Text, nullable=False),
    Column("pdf", LargeBinary, nullable=True),
    Column("renderizado_en", FechaUtc, nullable=True),
    # The request's code, copied when issued: the public verification reads one row.
    Column("codigo_verificacion", String(16), nullable=False),
    Column("plantilla", String(20), nullable=True),
    Column("contexto", Text, nullable=True),
)

# Failed public verifications per client address and minute: guessing codes costs a client its verifications.
limites = tabla_limites(metadata)
