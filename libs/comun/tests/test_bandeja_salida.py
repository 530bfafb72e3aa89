"""The outbox on PostgreSQL: nothing announced that wasn't stored, nothing stored that isn't announced."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import RECLAMO, encolar, publicar_pendientes, tabla_salida
from buzon_comun.eventos import SesionCerrada
from buzon_comun.reloj import RelojFijo

metadata = MetaData()
salida = tabla_salida(metadata)


@pytest.fixture
def engine(esquema_temporal):
    return esquema_temporal(metadata, "pruebas_salida")


@pytest.fixture
def reloj():
    return RelojFijo(datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc))


def test_an_event_of_a_rolled_back_change_is_never_published(engine, reloj):
    with Session(engine) as db:
        encolar(db, salida, SesionCerrada(rfc="A"), ahora=reloj.ahora())
        db.rollback()
        enviados = []
        assert publicar_pendientes(db, salida, lambda t, m: enviados.append(m)) == 0
        assert db.execute(text("SELECT count(*) FROM salida")).scalar_one() == 0
    assert enviados == []


def test_committed_events_are_published_once_in_order(engine, reloj):
    with Session(engine) as db:
        for rfc in ("A", "B", "C"):
            encolar(db, salida, SesionCerrada(rfc=rfc), ahora=reloj.ahora())
            db.commit()
            reloj.avanzar(seconds=1)
        enviados = []
        assert publicar_pendientes(db, salida, lambda t, m: enviados.append((t, m["datos"]["rfc"]))) == 3
        assert publicar_pendientes(db, salida, lambda t, m: enviados.append(m)) == 0
        assert db.execute(text("SELECT count(*) FROM salida")).scalar_one() == 0
    assert enviados == [("sesion_cerrada", "A"), ("sesion_cerrada", "B"), ("sesion_cerrada", "C")]


def test_a_broker_failure_keeps_the_event_for_the_next_try(engine, reloj):
    with Session(engine) as db:
        encolar(db, salida, SesionCerrada(rfc="A"), ahora=reloj.ahora())
        db.commit()

        def caido(tipo, contenido):
            raise ConnectionError("broker caído")

        assert publicar_pendientes(db, salida, caido) == 0
        assert db.execute(text("SELECT intentos FROM salida")).scalar_one() == 1
        enviados = []
        assert publicar_pendientes(db, salida, lambda t, m: enviados.append(m)) == 1
    assert len(enviados) == 1


def test_two_relays_at_once_never_send_the_same_event(engine, reloj):
    with Session(engine) as db:
        for i in range(20):
            encolar(db, salida, SesionCerrada(rfc=f"R{i}"), ahora=reloj.ahora())
        db.commit()
    enviados = []

    def lento(tipo, contenido):
        eventlet.sleep(0.01)  # let the other relay run while this one holds its rows
        enviados.append(contenido["id"])

    def relevo():
        with Session(engine) as db:
            return publicar_pendientes(db, salida, lento)

    hilos = [eventlet.spawn(relevo) for _ in range(2)]
    assert sum(h.wait() for h in hilos) == 20
    assert len(enviados) == len(set(enviados)) == 20


def _encolar(engine, reloj, *rfcs):
    with Session(engine) as db:
        for rfc in rfcs:
            encolar(db, salida, SesionCerrada(rfc=rfc), ahora=reloj.ahora())
            reloj.avanzar(seconds=1)
        db.commit()


class RelevoMuerto(BaseException):
    """The relay's process dies while publishing (nothing after it runs)."""


def test_no_transaction_is_open_and_no_row_locked_while_publishing(engine, reloj):
    _encolar(engine, reloj, "A", "B")
    vistos = []
    with Session(engine) as db, Session(engine) as otra:
        def publicar(tipo, contenido):
            assert not db.in_transaction()
            # A row lock held across publishing would make this fail at once.
            otra.execute(text("SET LOCAL lock_timeout = '100ms'"))
            vistos.append(len(otra.execute(select(salida.c.id).with_for_update()).all()))
            otra.rollback()

        assert publicar_pendientes(db, salida, publicar) == 2
    assert vistos == [2, 2]


def test_claimed_rows_wait_for_their_claim_and_a_dead_relays_rows_go_out_once_it_expires(engine, reloj):
    _encolar(engine, reloj, "A", "B", "C")
    inicio = reloj.ahora()
    enviados = []

    def muere(tipo, contenido):
        enviados.append(contenido["datos"]["rfc"])
        raise RelevoMuerto()

    with Session(engine) as db:
        with pytest.raises(RelevoMuerto):
            publicar_pendientes(db, salida, muere, ahora=inicio)
        otro = lambda t, m: enviados.append(m["datos"]["rfc"])  # noqa: E731
        assert publicar_pendientes(db, salida, otro, ahora=inicio + RECLAMO - timedelta(seconds=1)) == 0
        assert publicar_pendientes(db, salida, otro, ahora=inicio + RECLAMO) == 3
        assert db.execute(text("SELECT count(*) FROM salida")).scalar_one() == 0
    # "A" went out twice (the dead relay may have published it before dying): at least once, never lost.
    assert enviados == ["A", "A", "B", "C"]


def test_a_failure_releases_the_rest_at_once_but_never_another_relays_claim(engine, reloj):
    _encolar(engine, reloj, "A", "B", "C")
    inicio = reloj.ahora()
    enviados = []

    def falla_en_b(tipo, contenido):
        if contenido["datos"]["rfc"] == "B":
            raise ConnectionError("broker caído")
        enviados.append(contenido["datos"]["rfc"])

    with Session(engine) as db:
        assert publicar_pendientes(db, salida, falla_en_b, ahora=inicio) == 1
        assert db.execute(text("SELECT count(*) FROM salida WHERE reclamado_hasta IS NOT NULL")).scalar_one() == 0
        assert db.execute(text("SELECT intentos FROM salida ORDER BY creado_en")).scalars().all() == [1, 0]
        db.commit()

        # A slow relay whose claim ran out: another took the rows, and its release must not free them.
        despues = inicio + RECLAMO

        def lento_y_luego_falla(tipo, contenido):
            with Session(engine) as otra, pytest.raises(RelevoMuerto):
                publicar_pendientes(otra, salida, muere, ahora=despues)
            raise ConnectionError("broker caído")

        def muere(tipo, contenido):
            raise RelevoMuerto()

        assert publicar_pendientes(db, salida, lento_y_luego_falla, ahora=inicio) == 0
        assert publicar_pendientes(db, salida, lambda t, m: enviados.append(m), ahora=despues) == 0
    assert enviados == ["A"]


def test_on_sqlite_the_relay_claims_publishes_and_deletes(tmp_path, reloj):
    engine = create_engine(f"sqlite:///{tmp_path / 'salida.db'}")
    metadata.create_all(engine)
    try:
        _encolar(engine, reloj, "A", "B")
        enviados = []
        with Session(engine) as db:
            def publicar(tipo, contenido):
                assert not db.in_transaction()
                enviados.append(contenido["datos"]["rfc"])

            assert publicar_pendientes(db, salida, publicar) == 2
            assert publicar_pendientes(db, salida, publicar) == 0
            assert db.execute(text("SELECT count(*) FROM salida")).scalar_one() == 0
        assert enviados == ["A", "B"]
    finally:
        engine.dispose()
