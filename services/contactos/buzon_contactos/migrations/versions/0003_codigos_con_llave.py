"""SMS codes hashed with the server's key: codes stored before keep their bare hash, marked "sha256:".

A code lives at most the validation window, so marked rows lapse by themselves; until then they still validate.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("medios") as tabla:
        tabla.alter_column("codigo_hash", type_=sa.String(80), existing_type=sa.String(64), existing_nullable=True)
    op.execute("UPDATE medios SET codigo_hash = 'sha256:' || codigo_hash WHERE codigo_hash IS NOT NULL")


def downgrade():
    # A keyed hash can't be turned back into a bare one: those codes are dropped (a new one can be asked for).
    op.execute("UPDATE medios SET codigo_hash = NULL WHERE codigo_hash NOT LIKE 'sha256:%'")
    op.execute("UPDATE medios SET codigo_hash = substr(codigo_hash, 8) WHERE codigo_hash IS NOT NULL")
    with op.batch_alter_table("medios") as tabla:
        tabla.alter_column("codigo_hash", type_=sa.String(64), existing_type=sa.String(80), existing_nullable=True)
