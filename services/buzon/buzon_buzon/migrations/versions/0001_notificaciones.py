"""Notifications with their evidence, avisos, acuses de recibo to sign, folios and the outbox.

Revision ID: 0001
Revises:
Create Date: 2027-01-08
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notificaciones",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sistema", sa.String(50), nullable=False),
        sa.Column("referencia", sa.String(100), nullable=False),
        sa.Column("huella", sa.String(64), nullable=False),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("registros_patronales", sa.Text, nullable=False),
        sa.Column("asunto", sa.String(200), nullable=False),
        sa.Column("area", sa.String(200), nullable=False),
        sa.Column("tipo_acto", sa.String(100), nullable=False),
        sa.Column("documento", sa.LargeBinary, nullable=True),
        sa.Column("documento_ref", sa.Text, nullable=True),
        sa.Column("documento_sha256", sa.String(64), nullable=False),
        sa.Column("documento_bytes", sa.BigInteger, nullable=False),
        sa.Column("estado", sa.String(10), nullable=False),
        sa.Column("depositada_en", FechaUtc, nullable=False),
        sa.Column("aviso_enviado_en", FechaUtc, nullable=True),
        sa.Column("notificada_en", FechaUtc, nullable=True),
        sa.Column("folio_acuse", sa.String(20), nullable=True),
        sa.Column("cadena_recibo", sa.Text, nullable=True),
        sa.Column("firma_recibo", sa.Text, nullable=True),
        sa.Column("certificado_recibo", sa.Text, nullable=True),
        sa.Column("numero_certificado", sa.String(40), nullable=True),
        sa.Column("ocsp_recibo", sa.Text, nullable=True),
        sa.Column("verificado_en", FechaUtc, nullable=True),
        sa.UniqueConstraint("sistema", "referencia", name="uq_notificaciones_sistema_referencia"),
        sa.UniqueConstraint("folio_acuse", name="uq_notificaciones_folio_acuse"),
    )
    op.create_index("ix_notificaciones_rfc_depositada_en", "notificaciones", ["rfc", "depositada_en"])
    op.create_index("ix_notificaciones_pendientes", "notificaciones", ["aviso_enviado_en"],
                    postgresql_where=sa.text("estado = 'pendiente'"), sqlite_where=sa.text("estado = 'pendiente'"))
    op.create_table(
        "avisos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("notificacion_id", sa.String(36), sa.ForeignKey("notificaciones.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("medio_id", sa.String(64), nullable=False),
        sa.Column("mecanismo", sa.String(10), nullable=False),
        sa.Column("destino", sa.String(254), nullable=False),
        sa.Column("estado", sa.String(10), nullable=False),
        sa.Column("solicitado_en", FechaUtc, nullable=False),
        sa.Column("enviado_en", FechaUtc, nullable=True),
        sa.Column("fallido_en", FechaUtc, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.UniqueConstraint("notificacion_id", "medio_id", name="uq_avisos_notificacion_medio"),
    )
    op.create_table(
        "recibos",
        sa.Column("notificacion_id", sa.String(36), sa.ForeignKey("notificaciones.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("cadena", sa.Text, nullable=False),
        sa.Column("emitida_en", FechaUtc, nullable=False),
        sa.Column("expira_en", FechaUtc, nullable=False),
    )
    op.create_table(
        "folios",
        sa.Column("prefijo", sa.String(8), primary_key=True),
        sa.Column("anio", sa.Integer, primary_key=True),
        sa.Column("ultimo", sa.Integer, nullable=False),
    )
    op.create_table(
        "salida",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tipo", sa.String(100), nullable=False),
        sa.Column("mensaje", sa.Text, nullable=False),
        sa.Column("creado_en", FechaUtc, nullable=False),
        sa.Column("intentos", sa.Integer, nullable=False),
        sa.Column("reclamado_hasta", FechaUtc, nullable=True),
    )
    op.create_index("ix_salida_creado_en", "salida", ["creado_en"])


def downgrade():
    op.drop_table("salida")
    op.drop_table("folios")
    op.drop_table("recibos")
    op.drop_table("avisos")
    op.drop_table("notificaciones")
