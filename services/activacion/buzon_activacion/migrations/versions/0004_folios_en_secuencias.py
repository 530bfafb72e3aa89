"""Folios from PostgreSQL sequences (one per prefix and year): each counter of `folios` becomes its sequence,
which goes on after the last folio issued. No row lock on a counter is held until the caller commits any more.
On SQLite the table stays the counters, and this migration changes nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.folios import secuencias_desde_tabla, tabla_desde_secuencias, tabla_folios

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    secuencias_desde_tabla(op.get_bind(), tabla_folios(sa.MetaData()))


def downgrade():
    tabla_desde_secuencias(op.get_bind(), tabla_folios(sa.MetaData()))
