"""Who signed a deposited document: the serial and subject of the certificate whose PDF signature buzon verified
at the deposit (DOMINIO.md, "Deposit": a document signed with the Institute's key). Older rows keep NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notificaciones", sa.Column("firmante_serie", sa.String(64), nullable=True))
    op.add_column("notificaciones", sa.Column("firmante_sujeto", sa.Text, nullable=True))


def downgrade():
    op.drop_column("notificaciones", "firmante_sujeto")
    op.drop_column("notificaciones", "firmante_serie")
