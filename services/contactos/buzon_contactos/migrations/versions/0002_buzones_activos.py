"""RFCs with an active Buzón IMSS, for the notice on deletion.

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
        "buzones_activos",
        sa.Column("rfc", sa.String(13), primary_key=True),
        sa.Column("folio", sa.String(40), nullable=False),
        sa.Column("activado_en", FechaUtc, nullable=False),
    )


def downgrade():
    op.drop_table("buzones_activos")
