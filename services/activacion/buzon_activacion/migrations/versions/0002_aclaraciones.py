"""Aclaraciones u Orientaciones presented from Promociones Electrónicas.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "aclaraciones",
        sa.Column("folio", sa.String(20), primary_key=True),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("asunto", sa.String(100), nullable=False),
        sa.Column("texto", sa.Text, nullable=False),
        sa.Column("presentada_en", FechaUtc, nullable=False),
        sa.Column("titular", sa.Text, nullable=False),
    )
    op.create_index("ix_aclaraciones_rfc", "aclaraciones", ["rfc"])


def downgrade():
    op.drop_table("aclaraciones")
