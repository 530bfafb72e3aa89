"""Tables of the contactos service (it owns them alone): contact means, the padrón, limits, folios, idempotency
keys, outbox."""
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from buzon_comun.bandeja_salida import tabla_salida
from buzon_comun.db import FechaUtc
from buzon_comun.folios import tabla_folios
from buzon_comun.limites import tabla_limites
from buzon_comun.idempotencia import tabla_idempotencia

metadata = MetaData()

medios = Table(
    "medios",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("mecanismo", String(10), nullable=False),
    # Emails in lower case, phones as 10 digits: equal values compare equal in SQL.
    Column("valor", String(254), nullable=False),
    Column("estado", String(20), nullable=False),
    Column("folio", String(20), nullable=False, unique=True),
    Column("folio_validacion", String(20), nullable=True),
    Column("folio_baja", String(20), nullable=True),
    Column("registrado_en", FechaUtc, nullable=False),
    Column("vence_en", FechaUtc, nullable=False),
    Column("validado_en", FechaUtc, nullable=True),
    Column("baja_en", FechaUtc, nullable=True),
    # Secrets only as hashes: a copy of the table validates nothing. The token's hash stays after use so that a
    # second click can be told "ya validado" instead of "desconocido".
    Column("token_hash", String(64), nullable=True, unique=True),
    # HMAC-SHA256 with BUZON_SECRETO_CODIGOS (see medios._hash_codigo); "sha256:…" for codes stored before it.
    Column("codigo_hash", String(80), nullable=True),
    Column("intentos_fallidos", Integer, nullable=False, default=0),
    # The SMS that carried the code: only its MensajeEnviado moves the window.
    Column("codigo_mensaje_id", String(36), nullable=True),
    Column("codigo_enviado_en", FechaUtc, nullable=True),
    # Who registered it (from the session), for the acuses of acts done without a session (the email link).
    Column("titular", Text, nullable=False),
    Index("ix_medios_estado_vence_en", "estado", "vence_en"),
)

# The RPs a medio covers; none means RFC-level.
medio_registros_patronales = Table(
    "medio_registros_patronales",
    metadata,
    Column("medio_id", String(36), ForeignKey("medios.id", ondelete="CASCADE"), primary_key=True),
    Column("registro_patronal", String(11), primary_key=True, index=True),
)

# The Institute's padrón: an RP belongs to exactly one RFC.
padron = Table(
    "padron",
    metadata,
    Column("registro_patronal", String(11), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("razon_social", String(300), nullable=False),
    Column("actualizado_en", FechaUtc, nullable=False),
)

# RFCs whose Buzón IMSS is active (from activacion's buzon_activado): deleting a medio that leaves one without
# a validated RFC-level email or mobile answers with a notice.
buzones_activos = Table(
    "buzones_activos",
    metadata,
    Column("rfc", String(13), primary_key=True),
    Column("folio", String(40), nullable=False),
    Column("activado_en", FechaUtc, nullable=False),
)

limites = tabla_limites(metadata)
folios = tabla_folios(metadata)
# The first answer to each registration's key (per RFC), kept 24 hours: a repeat gets it instead of registering twice.
idempotencia = tabla_idempotencia(metadata)

# Events waiting to be published (the outbox): committed with the change they announce.
salida = tabla_salida(metadata)
