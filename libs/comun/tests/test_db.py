"""The services' engine on PostgreSQL: a fixed pool, and a connection that died while idle is replaced, not used."""
import pytest
from sqlalchemy import create_engine, event, text

from buzon_comun import db as modulo_db
from buzon_comun.config import Config
from buzon_comun.db import crear_engine, en_esquema


def _pid(conexion) -> int:
    return conexion.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_killed_while_idle_is_replaced_before_it_is_handed_out(url_bd, monkeypatch):
    config = Config.desde_entorno({"BUZON_DATABASE_URL": url_bd})
    engine, verdugo = crear_engine(config, "public", conexiones=1), crear_engine(config, "public", conexiones=1)
    try:
        with engine.connect() as conexion:
            muerta = _pid(conexion)
        with verdugo.connect() as otra:  # as a database restart does to every connection
            otra.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": muerta})
        monkeypatch.setattr(modulo_db, "PROBAR_TRAS_S", 0.0)  # it has been idle "long enough"
        with engine.connect() as conexion:
            assert _pid(conexion) != muerta
    finally:
        engine.dispose()
        verdugo.dispose()


def test_a_connection_used_a_moment_ago_is_not_tried_again(url_bd):
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "public", conexiones=1)
    sentencias = []

    @event.listens_for(engine, "before_cursor_execute")
    def _anotar(_conn, _cursor, sentencia, *_):
        sentencias.append(sentencia)

    pings = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conexion: pings.append(1) or original(conexion)
    try:
        for _ in range(5):
            with engine.connect() as conexion:
                conexion.execute(text("SELECT 2"))
        assert pings == [] and sentencias.count("SELECT 2") == 5
    finally:
        engine.dispose()


def test_each_transaction_works_in_the_schema_and_the_session_keeps_nothing(url_bd):
    """What a transaction pooler needs (tests/test_pgbouncer.py): the schema lasts a transaction, the session's
    search_path (the server connection another client gets next) is left as it was."""
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "auth", conexiones=1)
    try:
        with engine.connect() as conexion:
            for _ in range(2):
                assert conexion.execute(text("SELECT current_schema()")).scalar_one() == "auth"
                assert conexion.execute(text("SELECT count(*) FROM retos")).scalar_one() >= 0
                conexion.commit()
            cursor = conexion.connection.dbapi_connection.cursor()  # outside SQLAlchemy: no SET LOCAL
            cursor.execute("SHOW search_path")
            assert "auth" not in cursor.fetchone()[0]
            cursor.close()
            conexion.rollback()
    finally:
        engine.dispose()


def test_a_schema_name_is_an_identifier():
    with pytest.raises(ValueError):
        en_esquema(create_engine("sqlite://"), 'auth"; DROP SCHEMA auth; --')
