"""Tables of the buzon service (it owns them alone): notifications with their evidence, their avisos, the live
acuse de recibo to sign, folios, each depositing system's next deposit turn, and the outbox."""
from sqlalchemy import (
    BigInteger, Column, ForeignKey, Index, LargeBinary, MetaData, String, Table, Text, UniqueConstraint,
)

from buzon_comun.bandeja_salida import tabla_salida
from buzon_comun.db import FechaUtc
from buzon_comun.folios import tabla_folios
from buzon_comun.limites import tabla_ritmos

metadata = MetaData()

# One row per deposited notification. What the depositing system sent is kept as it arrived (the document's bytes
# with their SHA-256), the states and their times are its trace, and the opening's evidence (what was signed, the
# signature, the certificate and SAT's OCSP answer at that moment) stays with it.
notificaciones = Table(
    "notificaciones",
    metadata,
    Column("id", String(36), primary_key=True),
    # The depositing system's name (BUZON_SISTEMAS_DEPOSITANTES) and its own reference: a repeat of a deposit is
    # found by these two, whatever time passed.
    Column("sistema", String(50), nullable=False),
    Column("referencia", String(100), nullable=False),
    # SHA-256 of what was asked (canonical JSON, the document by its digest): the same referencia with another
    # content is a conflict, never a second notification nor the first one's answer.
    Column("huella", String(64), nullable=False),
    Column("rfc", String(13), nullable=False),
    Column("registros_patronales", Text, nullable=False),  # JSON list of RPs, empty: addressed to the RFC
    Column("asunto", String(200), nullable=False),
    Column("area", String(200), nullable=False),
    Column("tipo_acto", String(100), nullable=False),
    # The addressee as activacion named them at the deposit (JSON: rfc, nombre, curp, tipo_persona): the name on
    # the acuse of a notification deemed notified, which nobody signs. NULL for deposits before migration 0002.
    Column("titular", Text, nullable=True),
    # The PDF itself, or (later, for an object store) where it is: exactly one of the two.
    Column("documento", LargeBinary, nullable=True),
    Column("documento_ref", Text, nullable=True),
    Column("documento_sha256", String(64), nullable=False),
    Column("documento_bytes", BigInteger, nullable=False),
    # Who signed the document (firma_documento.Firmante): the certificate's serial in hex and its subject (RFC
    # 4514). NULL for deposits before migration 0003, when the signature wasn't checked.
    Column("firmante_serie", String(64), nullable=True),
    Column("firmante_sujeto", Text, nullable=True),
    # pendiente → abierta (signed acuse de recibo) | tacita (deemed notified by the timer or at an opening too late)
    Column("estado", String(10), nullable=False),
    Column("depositada_en", FechaUtc, nullable=False),
    # The first aviso reported sent: the días hábiles count from it (NULL while none was).
    Column("aviso_enviado_en", FechaUtc, nullable=True),
    # When it took effect: the opening's moment, or the deemed moment (not when the timer ran).
    Column("notificada_en", FechaUtc, nullable=True),
    Column("folio_acuse", String(20), nullable=True),
    # The acuse de notificación's código de verificación, minted here with its request (acuses keeps it), so the
    # opening answers it at once and the lists carry it.
    Column("codigo_verificacion", String(16), nullable=True),
    # When it was found that no aviso would reach the addressee (every aviso failed, or no medio covered it): its
    # días hábiles never start. Counted once (buzon_buzon_notificaciones_sin_aviso_total) for operators.
    Column("sin_aviso_en", FechaUtc, nullable=True),
    # The acuse de recibo as signed (abierta only).
    Column("cadena_recibo", Text, nullable=True),
    Column("firma_recibo", Text, nullable=True),
    Column("certificado_recibo", Text, nullable=True),
    Column("numero_certificado", String(40), nullable=True),
    Column("ocsp_recibo", Text, nullable=True),
    Column("verificado_en", FechaUtc, nullable=True),
    UniqueConstraint("sistema", "referencia", name="uq_notificaciones_sistema_referencia"),
    UniqueConstraint("folio_acuse", name="uq_notificaciones_folio_acuse"),
    # The person's list, newest first.
    Index("ix_notificaciones_rfc_depositada_en", "rfc", "depositada_en"),
    # The timer's query (estado = 'pendiente' AND aviso_enviado_en < L): only pending rows are indexed.
    Index("ix_notificaciones_pendientes", "aviso_enviado_en", postgresql_where="estado = 'pendiente'",
          sqlite_where="estado = 'pendiente'"),
)

# One aviso per notification per medio de contacto: its id is the message's id at notificaciones (id_mensaje), so
# a retried request is never sent twice, and the delivery events find it by that id.
avisos = Table(
    "avisos",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("notificacion_id", String(36), ForeignKey("notificaciones.id", ondelete="CASCADE"), nullable=False),
    Column("medio_id", String(64), nullable=False),
    Column("mecanismo", String(10), nullable=False),  # correo | telefono
    Column("destino", String(254), nullable=False),
    # solicitado (asked of notificaciones) → enviado | fallido
    Column("estado", String(10), nullable=False),
    Column("solicitado_en", FechaUtc, nullable=False),
    Column("enviado_en", FechaUtc, nullable=True),
    Column("fallido_en", FechaUtc, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("notificacion_id", "medio_id", name="uq_avisos_notificacion_medio"),
)

# The acuse de recibo offered for signing: one live cadena per notification (the same on every ask while it
# lives), so that what the person signed is what the signature is checked against.
recibos = Table(
    "recibos",
    metadata,
    Column("notificacion_id", String(36), ForeignKey("notificaciones.id", ondelete="CASCADE"), primary_key=True),
    Column("rfc", String(13), nullable=False),
    Column("cadena", Text, nullable=False),
    Column("emitida_en", FechaUtc, nullable=False),
    Column("expira_en", FechaUtc, nullable=False),
)

folios = tabla_folios(metadata)

# When each depositing system's next deposit turn is (buzon_comun.limites.turno), shared by all replicas.
ritmos = tabla_ritmos(metadata)

# Events waiting to be published (the outbox): committed with the change they announce.
salida = tabla_salida(metadata)
