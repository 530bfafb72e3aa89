"""What the acuse de notificación needs at once and what operators are told: the acuse's código de verificación
(buzon mints it with the acuse's request, so the opening answers it), the addressee as activacion named them at the
deposit (the name on a deemed notification's acuse), and when a notification was left without any aviso (every
aviso failed, or no medio covered it).

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-12
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notificaciones", sa.Column("titular", sa.Text, nullable=True))
    op.add_column("notificaciones", sa.Column("codigo_verificacion", sa.String(16), nullable=True))
    op.add_column("notificaciones", sa.Column("sin_aviso_en", FechaUtc, nullable=True))


def downgrade():
    op.drop_column("notificaciones", "sin_aviso_en")
    op.drop_column("notificaciones", "codigo_verificacion")
    op.drop_column("notificaciones", "titular")
