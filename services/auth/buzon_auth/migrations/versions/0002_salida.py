"""The outbox of auth's events.

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
