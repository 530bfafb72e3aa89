"""Deliveries of email and SMS, and the outbox of notificaciones.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "entregas",
        sa.Column("id_mensaje", sa.String(100), primary_key=True),
        sa.Column("canal", sa.String(10), nullable=False),
        sa.Column("para", sa.String(320), nullable=False),
        sa.Column("plantilla", sa.String(50), nullable=False),
        sa.Column("referencia", sa.String(100), nullable=False),
        sa.Column("origen", sa.String(50), nullable=False),
        sa.Column("solicitud", sa.Text, nullable=True),
        sa.Column("asunto", sa.Text, nullable=True),
        sa.Column("texto", sa.Text, nullable=True),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("estado", sa.String(10), nullable=False),
        sa.Column("intentos", sa.Integer, nullable=False),
        sa.Column("ultimo_error", sa.Text, nullable=True),
        sa.Column("proximo_intento", FechaUtc, nullable=True),
        sa.Column("solicitado_en", FechaUtc, nullable=False),
        sa.Column("enviado_en", FechaUtc, nullable=True),
    )
    op.create_index("ix_entregas_pendientes", "entregas", ["canal", "estado", "proximo_intento"])
    op.create_table(
        "salida",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tipo", sa.String(100), nullable=False),
        sa.Column("mensaje", sa.Text, nullable=False),
        sa.Column("creado_en", FechaUtc, nullable=False),
        sa.Column("intentos", sa.Integer, nullable=False),
    )
    op.create_index("ix_salida_creado_en", "salida", ["creado_en"])


def downgrade():
    op.drop_table("salida")
    op.drop_table("entregas")
