"""The bitácora: every event once, with what it was, about whom and when; never its data."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from buzon_bitacora import bitacora
from buzon_bitacora.models import eventos
from buzon_comun.eventos import CorreoSolicitado, SesionCerrada, SmsSolicitado, mensaje

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(motor_de):
    with Session(motor_de("bitacora")) as sesion:
        yield sesion


def test_an_event_is_recorded_once_without_its_data(db):
    sms = mensaje(SmsSolicitado(id_mensaje="m-1", para="+525512345678", plantilla="codigo_sms",
                                datos={"codigo": "48213"}, referencia="medio-1"), ahora=AHORA)
    assert bitacora.registrar(db, [(sms, "contactos.events")], ahora=AHORA) == bitacora.Anotacion(1, {})
    # A redelivery, alone or twice in one batch.
    assert bitacora.registrar(db, [(sms, "contactos.events")] * 2, ahora=AHORA).nuevos == 0
    fila = db.execute(select(eventos)).mappings().one()
    assert (fila["id"], fila["origen"], fila["tipo"], fila["version"], fila["referencia"]) == (
        sms["id"], "contactos", "sms_solicitado", 1, "m-1")
    todo = " ".join(str(v) for v in db.execute(text("SELECT * FROM eventos")).one())
    assert "48213" not in todo and "5512345678" not in todo


def test_a_batch_is_written_at_once_and_its_repeated_events_once(db):
    cerradas = [mensaje(SesionCerrada(rfc="MAVA800101RS5"), ahora=AHORA) for _ in range(150)]
    lote = [(m, "auth.events") for m in cerradas] + [(cerradas[0], "auth.events")]
    assert bitacora.registrar(db, lote, ahora=AHORA) == bitacora.Anotacion(150, {})
    assert db.execute(select(func.count()).select_from(eventos)).scalar_one() == 150
    assert bitacora.registrar(db, lote[100:], ahora=AHORA).nuevos == 0


def test_the_rfc_and_the_object_of_an_event(db):
    correo = mensaje(CorreoSolicitado(id_mensaje="m-2", para="ana@example.mx", plantilla="validacion_correo",
                                      datos={"enlace": "https://x/medios-contacto/validar/SECRETO"},
                                      referencia="medio-2"), ahora=AHORA)
    correo["datos"]["rfc"] = "MAVA800101RS5"
    bitacora.registrar(db, [(correo, "contactos.events")], ahora=AHORA)
    fila = db.execute(select(eventos)).mappings().one()
    assert (fila["rfc"], fila["referencia"]) == ("MAVA800101RS5", "m-2")
    assert "SECRETO" not in " ".join(str(v) for v in fila.values())


MALOS = [None, "texto", [], {"id": "x"}, {"id": "x", "tipo": "t", "version": "1"},
         {"id": "\x00", "tipo": "t", "version": 1}, {"id": "x" * 40, "tipo": "t", "version": 1}]


@pytest.mark.parametrize("malo", MALOS)
def test_a_message_that_is_not_an_event_is_refused(malo):
    with pytest.raises(bitacora.EventoIlegible):
        bitacora.asiento(malo, "contactos.events", ahora=AHORA)


def test_a_batch_names_its_messages_that_are_not_events_and_writes_the_rest(db):
    buenos = [mensaje(SesionCerrada(rfc="MAVA800101RS5"), ahora=AHORA) for _ in range(2)]
    lote = [(buenos[0], "auth.events"), *((malo, "auth.events") for malo in MALOS), (buenos[1], "auth.events")]
    anotacion = bitacora.registrar(db, lote, ahora=AHORA)
    assert anotacion.nuevos == 2 and set(anotacion.ilegibles) == set(range(1, len(MALOS) + 1))
    assert all(anotacion.ilegibles.values())
    assert set(db.execute(select(eventos.c.id)).scalars()) == {m["id"] for m in buenos}
    # Nothing but unreadable messages: nothing to write.
    assert bitacora.registrar(db, [(None, "auth.events")], ahora=AHORA) == bitacora.Anotacion(
        0, {0: "el mensaje no es un objeto"})
