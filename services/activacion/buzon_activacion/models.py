"""Tables of the activacion service (it owns them alone): issued solicitudes, activations, aclaraciones, folios,
idempotency keys, outbox."""
from sqlalchemy import Column, MetaData, String, Table, Text, UniqueConstraint

from buzon_comun.bandeja_salida import tabla_salida
from buzon_comun.db import FechaUtc
from buzon_comun.folios import tabla_folios
from buzon_comun.idempotencia import tabla_idempotencia

metadata = MetaData()

# The Solicitud y manifestación given to a login session: one live text per session, so that what the person
# read and signed is what the signature is checked against, however many attempts fail in between.
solicitudes = Table(
    "solicitudes",
    metadata,
    # SHA-256 of the opaque session id the gateway passes: a copy of this table names no session.
    Column("sesion_id", String(64), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("texto", Text, nullable=False),
    Column("cadena_original", Text, nullable=False),
    # What the text states (tipo, registros patronales, medios), JSON: the activation records exactly that.
    Column("datos", Text, nullable=False),
    Column("emitida_en", FechaUtc, nullable=False),
    Column("expira_en", FechaUtc, nullable=False, index=True),
)

# One row per RFC, ever: the primary key is what stops two replicas or a double click from activating twice.
activaciones = Table(
    "activaciones",
    metadata,
    Column("rfc", String(13), primary_key=True),
    Column("folio", String(20), nullable=False),
    Column("tipo", String(12), nullable=False),
    Column("registros_patronales", Text, nullable=False),
    Column("medios", Text, nullable=False),
    # The evidence: what was signed, the signature, the certificate and the responder's answer at that moment.
    Column("texto", Text, nullable=False),
    Column("cadena_original", Text, nullable=False),
    Column("firma", Text, nullable=False),
    Column("certificado", Text, nullable=False),
    Column("ocsp", Text, nullable=False),
    Column("numero_certificado", String(40), nullable=False),
    Column("verificado_en", FechaUtc, nullable=False),
    Column("titular", Text, nullable=False),
    Column("activado_en", FechaUtc, nullable=False),
    UniqueConstraint("folio", name="uq_activaciones_folio"),
)

# Aclaraciones u Orientaciones presented from Promociones Electrónicas (before the activation too): what the person
# wrote, kept with the identity of the session, so the acuse and the list never depend on a later state.
aclaraciones = Table(
    "aclaraciones",
    metadata,
    Column("folio", String(20), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("asunto", String(100), nullable=False),
    Column("texto", Text, nullable=False),
    Column("presentada_en", FechaUtc, nullable=False),
    Column("titular", Text, nullable=False),
    # "recibida" when presented; the Institute's areas answer outside this system (migration 0006).
    Column("estado", String(20), nullable=False, server_default="recibida"),
)

folios = tabla_folios(metadata)
# The first answer to each activation's or aclaración's key (per RFC), kept 24 hours: a repeat gets it instead of
# acting twice.
idempotencia = tabla_idempotencia(metadata)

# Events waiting to be published (the outbox): committed with the activation they announce.
salida = tabla_salida(metadata)
