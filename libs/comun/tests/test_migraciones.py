from sqlalchemy import create_engine, inspect, text

from buzon_comun.config import Config
from buzon_comun.db import crear_engine, normalizar_url
from buzon_comun.migraciones import migrar, servicios_con_migraciones


def test_every_service_declares_its_migrations():
    assert set(servicios_con_migraciones()) == {"auth", "contactos", "notificaciones", "activacion", "acuses", "bitacora",
                                               "buzon"}


def test_each_service_lives_in_its_own_schema(url_bd):
    engine = create_engine(normalizar_url(url_bd))
    try:
        inspector = inspect(engine)
        assert {"retos", "sesiones", "limites", "alembic_version"} <= set(inspector.get_table_names(schema="auth"))
        for servicio in ("contactos", "notificaciones", "activacion", "acuses"):
            assert servicio in inspector.get_schema_names()
            assert "retos" not in inspector.get_table_names(schema=servicio)
    finally:
        engine.dispose()


def test_every_outbox_has_the_relays_claim_column(url_bd):
    engine = create_engine(normalizar_url(url_bd))
    try:
        inspector = inspect(engine)
        con_salida = [s for s in servicios_con_migraciones() if "salida" in inspector.get_table_names(schema=s)]
        assert set(con_salida) == {"auth", "contactos", "notificaciones", "activacion", "buzon"}
        for servicio in con_salida:
            columnas = {c["name"] for c in inspector.get_columns("salida", schema=servicio)}
            assert "reclamado_hasta" in columnas, servicio
    finally:
        engine.dispose()


def test_migrating_again_is_a_no_op(url_bd):
    config = Config.desde_entorno({"BUZON_DATABASE_URL": url_bd})
    migrar(config)
    engine = crear_engine(config, "auth")
    try:
        with engine.connect() as conexion:
            assert conexion.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    finally:
        engine.dispose()


def test_sqlite_gives_each_service_its_own_file(tmp_path):
    config = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    migrar(config, ["auth", "contactos"])
    assert (tmp_path / "auth.db").exists() and (tmp_path / "contactos.db").exists()
    engine = crear_engine(config, "auth")
    try:
        assert "sesiones" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
