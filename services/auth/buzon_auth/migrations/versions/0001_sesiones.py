"""Challenges, sessions and rate-limit counters.

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
        "retos",
        sa.Column("reto_hash", sa.String(64), primary_key=True),
        sa.Column("creado_en", FechaUtc, nullable=False),
        sa.Column("expira_en", FechaUtc, nullable=False),
        sa.Column("consumido_en", FechaUtc, nullable=True),
    )
    op.create_index("ix_retos_expira_en", "retos", ["expira_en"])
    op.create_table(
        "sesiones",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("rfc_representante", sa.String(13), nullable=True),
        sa.Column("curp", sa.String(18), nullable=True),
        sa.Column("nombre", sa.String(300), nullable=False),
        sa.Column("tipo_persona", sa.String(6), nullable=False),
        sa.Column("numero_certificado", sa.String(20), nullable=False),
        sa.Column("creada_en", FechaUtc, nullable=False),
        sa.Column("expira_en", FechaUtc, nullable=False),
        sa.Column("cerrada_en", FechaUtc, nullable=True),
    )
    op.create_index("ix_sesiones_rfc", "sesiones", ["rfc"])
    op.create_index("ix_sesiones_expira_en", "sesiones", ["expira_en"])
    op.create_table(
        "limites",
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("ventana", sa.Integer, primary_key=True),
        sa.Column("cuenta", sa.Integer, nullable=False),
    )


def downgrade():
    op.drop_table("limites")
    op.drop_table("sesiones")
    op.drop_table("retos")
