"""Contact means with their Registros Patronales, the padrón, limits, folios and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "medios",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("mecanismo", sa.String(10), nullable=False),
        sa.Column("valor", sa.String(254), nullable=False),
        sa.Column("estado", sa.String(20), nullable=False),
        sa.Column("folio", sa.String(20), nullable=False),
        sa.Column("folio_validacion", sa.String(20), nullable=True),
        sa.Column("folio_baja", sa.String(20), nullable=True),
        sa.Column("registrado_en", FechaUtc, nullable=False),
        sa.Column("vence_en", FechaUtc, nullable=False),
        sa.Column("validado_en", FechaUtc, nullable=True),
        sa.Column("baja_en", FechaUtc, nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("codigo_hash", sa.String(64), nullable=True),
        sa.Column("intentos_fallidos", sa.Integer, nullable=False),
        sa.Column("codigo_mensaje_id", sa.String(36), nullable=True),
        sa.Column("codigo_enviado_en", FechaUtc, nullable=True),
        sa.Column("titular", sa.Text, nullable=False),
        sa.UniqueConstraint("folio", name="uq_medios_folio"),
        sa.UniqueConstraint("token_hash", name="uq_medios_token_hash"),
    )
    op.create_index("ix_medios_rfc", "medios", ["rfc"])
    op.create_index("ix_medios_estado_vence_en", "medios", ["estado", "vence_en"])
    op.create_table(
        "medio_registros_patronales",
        sa.Column("medio_id", sa.String(36), sa.ForeignKey("medios.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("registro_patronal", sa.String(11), primary_key=True),
    )
    op.create_index("ix_medio_registros_patronales_registro_patronal", "medio_registros_patronales",
                    ["registro_patronal"])
    op.create_table(
        "padron",
        sa.Column("registro_patronal", sa.String(11), primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("razon_social", sa.String(300), nullable=False),
        sa.Column("actualizado_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_padron_rfc", "padron", ["rfc"])
    op.create_table(
        "limites",
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("ventana", sa.Integer, primary_key=True),
        sa.Column("cuenta", sa.Integer, nullable=False),
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
    )
    op.create_index("ix_salida_creado_en", "salida", ["creado_en"])


def downgrade():
    op.drop_table("salida")
    op.drop_table("folios")
    op.drop_table("limites")
    op.drop_table("padron")
    op.drop_table("medio_registros_patronales")
    op.drop_table("medios")
