"""Issued acuses: cadena original, sello and the PDF's bytes, written once.

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
        "acuses",
        sa.Column("folio", sa.String(40), primary_key=True),
        sa.Column("tipo", sa.String(40), nullable=False),
        sa.Column("rfc", sa.String(13), nullable=False),
        sa.Column("emitido_en", sa.String(40), nullable=False),
        sa.Column("cadena_original", sa.Text, nullable=False),
        sa.Column("sello", sa.Text, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("renderizado_en", FechaUtc, nullable=False),
    )
    op.create_index("ix_acuses_rfc", "acuses", ["rfc"])


def downgrade():
    op.drop_table("acuses")
