"""When each depositing system's next deposit turn is (buzon_comun.limites.turno): the admission control of
BUZON_DEPOSITOS_POR_SEGUNDO, evenly spaced and shared by all replicas.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ritmos",
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("siguiente", sa.Float, nullable=False),
    )


def downgrade():
    op.drop_table("ritmos")
