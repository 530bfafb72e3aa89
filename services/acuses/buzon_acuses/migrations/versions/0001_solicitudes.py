"""Acuse requests, kept until they are rendered.

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
        sa.Column("folio", sa.String(40), primary_key=True),
        sa.Column("tipo", sa.String(40), nullable=False),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("emitido_en", sa.String(40), nullable=False),
        sa.Column("solicitud", sa.Text, nullable=False),
        sa.Column("recibida_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_solicitudes_rfc", "solicitudes", ["rfc"])


def downgrade():
    op.drop_table("solicitudes")
