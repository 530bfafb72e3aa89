"""Failed public verifications counted per client and minute (buzon_comun.limites).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "limites",
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("ventana", sa.Integer, primary_key=True),
        sa.Column("cuenta", sa.Integer, nullable=False),
    )


def downgrade():
    op.drop_table("limites")
