"""The outbox on PostgreSQL: nothing announced that wasn't stored, nothing stored that isn't announced."""
import eventlet
import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.orm import Session

from buzon_comun.bandeja_salida import encolar, publicar_pendientes, tabla_salida
from buzon_comun.eventos import SesionCerrada
from buzon_comun.reloj import RelojFijo
from datetime import datetime, timezone

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
