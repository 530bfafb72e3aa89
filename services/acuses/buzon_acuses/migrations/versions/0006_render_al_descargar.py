"""Acuses rendered on their first download: `plantilla` and `contexto` on `acuses` (what fixes the content when
the acuse is issued), and `pdf` and `renderizado_en` empty until then.

Acuses issued before keep their PDF as it was (and no `contexto`: they are never rendered again).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

from buzon_comun.db import FechaUtc

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("acuses") as batch:
        batch.add_column(sa.Column("plantilla", sa.String(20), nullable=True))
        batch.add_column(sa.Column("contexto", sa.Text, nullable=True))
        batch.alter_column("pdf", existing_type=sa.LargeBinary, nullable=True)
        batch.alter_column("renderizado_en", existing_type=FechaUtc, nullable=True)


def downgrade():
    # Acuses not rendered yet can't live in the old table, and an issued acuse is never dropped: render them
    # (download each) before going back.
    sin_pdf = op.get_bind().execute(sa.text("SELECT count(*) FROM acuses WHERE pdf IS NULL")).scalar_one()
    if sin_pdf:
        raise RuntimeError(f"{sin_pdf} acuses emitidos aún no tienen su PDF: descárgalos antes de volver atrás")
    with op.batch_alter_table("acuses") as batch:
        batch.alter_column("renderizado_en", existing_type=FechaUtc, nullable=False)
        batch.alter_column("pdf", existing_type=sa.LargeBinary, nullable=False)
        batch.drop_column("contexto")
        batch.drop_column("plantilla")
