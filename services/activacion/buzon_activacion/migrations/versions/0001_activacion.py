"""Solicitudes issued to sessions, activations with their evidence, folios and the outbox.

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
        "solicitudes",
        sa.Column("sesion_id", sa.String(64), primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("texto", sa.Text, nullable=False),
        sa.Column("cadena_original", sa.Text, nullable=False),
        sa.Column("datos", sa.Text, nullable=False),
        sa.Column("emitida_en", FechaUtc, nullable=False),
        sa.Column("expira_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_solicitudes_rfc", "solicitudes", ["rfc"])
    op.create_index("ix_solicitudes_expira_en", "solicitudes", ["expira_en"])
    op.create_table(
        "activaciones",
        sa.Column("rfc", sa.String(13), primary_key=True),
        sa.Column("folio", sa.String(20), nullable=False),
        sa.Column("tipo", sa.String(12), nullable=False),
        sa.Column("registros_patronales", sa.Text, nullable=False),
        sa.Column("medios", sa.Text, nullable=False),
        sa.Column("texto", sa.Text, nullable=False),
        sa.Column("cadena_original", sa.Text, nullable=False),
        sa.Column("firma", sa.Text, nullable=False),
        sa.Column("certificado", sa.Text, nullable=False),
        sa.Column("ocsp", sa.Text, nullable=False),
        sa.Column("numero_certificado", sa.String(40), nullable=False),
        sa.Column("verificado_en", FechaUtc, nullable=False),
        sa.Column("titular", sa.Text, nullable=False),
        sa.Column("activado_en", FechaUtc, nullable=False),
        sa.UniqueConstraint("folio", name="uq_activaciones_folio"),
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
    op.drop_table("activaciones")
    op.drop_table("solicitudes")
