"""The bitácora of events.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
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
        "eventos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("origen", sa.String(50), nullable=False),
        sa.Column("tipo", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("ocurrido_en", sa.String(40), nullable=False),
        sa.Column("rfc", sa.String(13), nullable=True),
        sa.Column("referencia", sa.String(100), nullable=True),
        sa.Column("recibido_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_eventos_rfc_ocurrido", "eventos", ["rfc", "ocurrido_en"])
    op.create_index("ix_eventos_tipo", "eventos", ["tipo"])


def downgrade():
    op.drop_table("eventos")
