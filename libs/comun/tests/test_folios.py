from datetime import datetime, timezone

import eventlet
import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from buzon_comun.folios import (
    borrar_secuencias, secuencias_desde_tabla, siguiente_folio, tabla_desde_secuencias, tabla_folios,
)

metadata = MetaData()
folios = tabla_folios(metadata)
AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(esquema_temporal):
    return esquema_temporal(metadata, "pruebas_folios")


def _secuencias(engine) -> list[str]:
    with engine.connect() as conexion:
        return conexion.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1")).scalars().all()


def test_dropping_the_folio_sequences_counts_from_one_again_and_leaves_other_sequences(engine):
    with Session(engine) as db:
        siguiente_folio(db, folios, "activacion", ahora=AHORA)
        db.commit()
    with engine.begin() as conexion:
        conexion.execute(text("CREATE SEQUENCE otra"))
        borrar_secuencias(conexion)
    assert _secuencias(engine) == ["otra"]
    with Session(engine) as db:
        assert siguiente_folio(db, folios, "activacion", ahora=AHORA) == "ACT-2026-00000001"


def test_folios_count_per_kind_and_year_in_mexico_city_time(engine):
    with Session(engine) as db:
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000001"
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000002"
        assert siguiente_folio(db, folios, "validacion_medio", ahora=AHORA) == "VAL-2026-00000001"
        año_nuevo_en_utc = datetime(2027, 1, 1, 3, 0, tzinfo=timezone.utc)  # still 31 Dec in Mexico City
        assert siguiente_folio(db, folios, "registro_medio", ahora=año_nuevo_en_utc) == "REG-2026-00000003"
        assert siguiente_folio(db, folios, "registro_medio", ahora=datetime(2027, 1, 1, 6, 0, tzinfo=timezone.utc)) \
            == "REG-2027-00000001"
        db.commit()
    # One sequence per prefix and year in the service's own schema; the counters table is not written any more.
    assert _secuencias(engine) == ["folio_reg_2026", "folio_reg_2027", "folio_val_2026"]
    with engine.connect() as conexion:
        assert conexion.execute(select(folios)).all() == []


def test_concurrent_replicas_never_share_a_folio_even_while_its_sequence_is_made(engine):
    def tomar():
        with Session(engine) as db:
            folio = siguiente_folio(db, folios, "activacion", ahora=AHORA)
            eventlet.sleep(0)
            db.commit()
            return folio

    hilos = [eventlet.spawn(tomar) for _ in range(10)]
    obtenidos = [h.wait() for h in hilos]
    assert sorted(obtenidos) == [f"ACT-2026-{n:08d}" for n in range(1, 11)]


def test_workers_holding_every_pooled_connection_still_get_the_first_folio_of_the_year(engine, url_bd):
    """On a new database every worker asks for a sequence not made yet, each inside its own transaction: the
    sequence is made on a connection outside the process's pool, or with the pool used up none would get one."""
    from buzon_comun.config import Config
    from buzon_comun.db import crear_engine

    pequeno = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "pruebas_folios", conexiones=3)
    pequeno.pool._timeout = 2  # a deadlock shows as a pool timeout within the test's time

    def tomar():
        with Session(pequeno) as db:
            db.execute(text("SELECT 1"))  # its pooled connection is held from here to the commit
            eventlet.sleep(0.1)
            folio = siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
            db.commit()
            return folio

    try:
        hilos = [eventlet.spawn(tomar) for _ in range(3)]
        assert sorted(h.wait() for h in hilos) == [f"BAJ-2026-{n:08d}" for n in range(1, 4)]
    finally:
        pequeno.dispose()


def test_a_transaction_holding_a_folio_makes_nobody_wait(engine):
    with Session(engine) as primera, Session(engine) as segunda:
        assert siguiente_folio(primera, folios, "activacion", ahora=AHORA) == "ACT-2026-00000001"
        # The first stays open (its caller still works); a counter row would hold the second until it commits.
        segunda.execute(text("SET LOCAL lock_timeout = '500ms'"))
        assert siguiente_folio(segunda, folios, "activacion", ahora=AHORA) == "ACT-2026-00000002"
        segunda.commit()
        primera.commit()


def test_a_folio_of_a_rolled_back_act_is_never_issued_again(engine):
    with Session(engine) as db:
        siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.commit()
        perdido = siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.rollback()
        nuevo = siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.commit()
    # A gap (the rolled-back act printed nothing), never a folio given twice.
    assert (perdido, nuevo) == ("BAJ-2026-00000002", "BAJ-2026-00000003")


def test_a_sequence_made_later_goes_on_after_the_counter_of_the_table(engine):
    with engine.begin() as conexion:
        conexion.execute(folios.insert().values(prefijo="REG", anio=2026, ultimo=41))
    with Session(engine) as db:
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000042"
        assert siguiente_folio(db, folios, "validacion_medio", ahora=AHORA) == "VAL-2026-00000001"
        db.commit()


def test_the_migration_carries_every_counter_over_and_back(engine):
    with engine.begin() as conexion:
        conexion.execute(folios.insert(), [{"prefijo": "REG", "anio": 2026, "ultimo": 41},
                                           {"prefijo": "REG", "anio": 2025, "ultimo": 900},
                                           {"prefijo": "BAJ", "anio": 2026, "ultimo": 3}])
    with engine.begin() as conexion:
        secuencias_desde_tabla(conexion, folios)
        secuencias_desde_tabla(conexion, folios)  # run again: changes nothing
    assert _secuencias(engine) == ["folio_baj_2026", "folio_reg_2025", "folio_reg_2026"]
    with Session(engine) as db:
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000042"
        assert siguiente_folio(db, folios, "baja_medio", ahora=AHORA) == "BAJ-2026-00000004"
        db.commit()
    with engine.begin() as conexion:
        tabla_desde_secuencias(conexion, folios)
    assert _secuencias(engine) == []
    with engine.connect() as conexion:
        assert sorted(conexion.execute(select(folios)).all()) == [("BAJ", 2026, 4), ("REG", 2025, 900),
                                                                  ("REG", 2026, 42)]


def test_on_sqlite_the_counters_are_rows_of_the_table(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'folios.db'}")
    metadata.create_all(engine)
    try:
        with Session(engine) as db:
            assert siguiente_folio(db, folios, "aclaracion", ahora=AHORA) == "ACL-2026-00000001"
            assert siguiente_folio(db, folios, "aclaracion", ahora=AHORA) == "ACL-2026-00000002"
            db.commit()
            assert db.execute(select(folios)).all() == [("ACL", 2026, 2)]
    finally:
        engine.dispose()
