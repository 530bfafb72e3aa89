"""Idempotency keys of activations and aclaraciones: the first answer to each (RFC, key), kept 24 hours.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotencia",
        sa.Column("rfc", sa.String(13), primary_key=True),
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("huella", sa.String(64), nullable=False),
        sa.Column("respuesta", sa.Text, nullable=False),
        sa.Column("creado_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_idempotencia_creado_en", "idempotencia", ["creado_en"])


def downgrade():
    op.drop_table("idempotencia")
