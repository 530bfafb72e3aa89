"""Retries of acuses that failed to render, and parked requests: `intentos`, `proximo_intento`, `ultimo_error`
and `estancada_en` on `solicitudes`.

Requests stored before it start with no failed try; those still without their acuse are due at once (from when
they were received), as the sweep took them before; issued ones have nothing left to do (NULL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDIENTE = sa.text("proximo_intento IS NOT NULL")
ESTANCADA = sa.text("estancada_en IS NOT NULL")


def upgrade():
    with op.batch_alter_table("solicitudes") as batch:
        batch.add_column(sa.Column("intentos", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("proximo_intento", FechaUtc, nullable=True))
        batch.add_column(sa.Column("ultimo_error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("estancada_en", FechaUtc, nullable=True))

    # Column to column, so the stored value keeps its form on either database.
    op.execute("UPDATE solicitudes SET proximo_intento = recibida_en "
               "WHERE NOT EXISTS (SELECT 1 FROM acuses WHERE acuses.folio = solicitudes.folio)")

    op.create_index("ix_solicitudes_proximo_intento", "solicitudes", ["proximo_intento"],
                    postgresql_where=PENDIENTE, sqlite_where=PENDIENTE)
    op.create_index("ix_solicitudes_estancada_en", "solicitudes", ["estancada_en"],
                    postgresql_where=ESTANCADA, sqlite_where=ESTANCADA)


def downgrade():
    op.drop_index("ix_solicitudes_estancada_en", table_name="solicitudes")
    op.drop_index("ix_solicitudes_proximo_intento", table_name="solicitudes")
    with op.batch_alter_table("solicitudes") as batch:
        for columna in ("estancada_en", "ultimo_error", "proximo_intento", "intentos"):
            batch.drop_column(columna)
