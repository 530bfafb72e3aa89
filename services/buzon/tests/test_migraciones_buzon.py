"""buzon's migrations make exactly the tables of its models, and go down and up again."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from buzon_buzon.models import metadata
from buzon_comun.config import Config
from buzon_comun.migraciones import configuracion_alembic, migrar_servicio

UBICACION = "buzon_buzon:migrations"


def test_las_migraciones_coinciden_con_los_modelos(engine):
    with engine.connect() as conexion:
        diferencias = compare_metadata(MigrationContext.configure(conexion), metadata)
    assert diferencias == []


def test_bajar_y_subir(esquema_buzon, engine):
    cfg = configuracion_alembic(UBICACION)
    with engine.connect() as conexion:
        cfg.attributes["connection"] = conexion
        command.downgrade(cfg, "base")
        conexion.commit()
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrar_servicio(Config.desde_entorno({"BUZON_DATABASE_URL": esquema_buzon}), "buzon", UBICACION)
    assert set(inspect(engine).get_table_names()) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
