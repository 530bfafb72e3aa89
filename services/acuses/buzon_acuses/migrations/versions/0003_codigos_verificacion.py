"""Códigos de verificación: every acuse request and issued acuse gets one, those stored before this included.

An issued acuse and its request share one code. The PDFs already issued keep their bytes (their owners read the
code in the authenticated API); only the new column is written.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
import base64
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Rows are given their codes a page at a time: a large table is never held in memory at once.
PAGINA = 1000


def nuevo_codigo() -> str:
    # As buzon_acuses.solicitudes makes them today (80 random bits, 16 base32 characters), repeated here so this
    # migration stays what it is if the service's code changes.
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def _dar_codigos(conexion, tabla) -> None:
    """A random code for each row of `tabla` still without one, paging by folio."""
    ultimo = ""
    while True:
        folios = conexion.execute(
            sa.select(tabla.c.folio)
            .where(tabla.c.codigo_verificacion.is_(None), tabla.c.folio > ultimo)
            .order_by(tabla.c.folio).limit(PAGINA)
        ).scalars().all()
        if not folios:
            return
        conexion.execute(
            tabla.update().where(tabla.c.folio == sa.bindparam("f")).values(codigo_verificacion=sa.bindparam("c")),
            [{"f": folio, "c": nuevo_codigo()} for folio in folios],
        )
        ultimo = folios[-1]


def upgrade():
    for nombre in ("solicitudes", "acuses"):
        with op.batch_alter_table(nombre) as batch:
            batch.add_column(sa.Column("codigo_verificacion", sa.String(16), nullable=True))

    solicitudes = sa.table("solicitudes", sa.column("folio", sa.String(40)),
                           sa.column("codigo_verificacion", sa.String(16)))
    acuses = sa.table("acuses", sa.column("folio", sa.String(40)), sa.column("codigo_verificacion", sa.String(16)))
    conexion = op.get_bind()
    _dar_codigos(conexion, solicitudes)
    # An issued acuse takes its request's code, so the owner and the verification speak of the same one.
    conexion.execute(acuses.update().values(codigo_verificacion=(
        sa.select(solicitudes.c.codigo_verificacion).where(solicitudes.c.folio == acuses.c.folio)
        .scalar_subquery())))
    # An acuse whose request is gone still needs a code of its own.
    _dar_codigos(conexion, acuses)

    for nombre in ("solicitudes", "acuses"):
        with op.batch_alter_table(nombre) as batch:
            batch.alter_column("codigo_verificacion", existing_type=sa.String(16), nullable=False)


def downgrade():
    for nombre in ("acuses", "solicitudes"):
        with op.batch_alter_table(nombre) as batch:
            batch.drop_column("codigo_verificacion")
