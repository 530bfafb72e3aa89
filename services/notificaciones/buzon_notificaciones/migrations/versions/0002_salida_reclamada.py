"""The outbox's claim: `salida.reclamado_hasta`, until when a relay holds a row to publish it, so no transaction
stays open while it publishes (buzon_comun.bandeja_salida).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("salida", sa.Column("reclamado_hasta", FechaUtc, nullable=True))


def downgrade():
    op.drop_column("salida", "reclamado_hasta")
