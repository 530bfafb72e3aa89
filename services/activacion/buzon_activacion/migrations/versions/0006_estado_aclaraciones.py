"""The state of each Aclaración u Orientación (`aclaraciones.estado`), listed to its owner: "recibida" for every
one presented so far, and for each new one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-20
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("aclaraciones", sa.Column("estado", sa.String(20), nullable=False, server_default="recibida"))


def downgrade():
    op.drop_column("aclaraciones", "estado")
