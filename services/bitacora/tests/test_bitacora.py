"""The bitácora: every event once, with what it was, about whom and when; never its data."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from buzon_bitacora import bitacora
from buzon_bitacora.models import eventos
from buzon_comun.eventos import CorreoSolicitado, SmsSolicitado, mensaje

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(motor_de):
    with Session(motor_de("bitacora")) as sesion:
        yield sesion


def test_an_event_is_recorded_once_without_its_data(db):
    sms = mensaje(SmsSolicitado(id_mensaje="m-1", para="+525512345678", plantilla="codigo_sms",
                                datos={"codigo": "48213"}, referencia="medio-1"), ahora=AHORA)
    assert bitacora.registrar(db, sms, "contactos.events", ahora=AHORA)
    assert not bitacora.registrar(db, sms, "contactos.events", ahora=AHORA)  # a redelivery
    fila = db.execute(select(eventos)).mappings().one()
    assert (fila["id"], fila["origen"], fila["tipo"], fila["version"], fila["referencia"]) == (
        sms["id"], "contactos", "sms_solicitado", 1, "m-1")
    todo = " ".join(str(v) for v in db.execute(text("SELECT * FROM eventos")).one())
    assert "48213" not in todo and "5512345678" not in todo


def test_the_rfc_and_the_object_of_an_event(db):
    correo = mensaje(CorreoSolicitado(id_mensaje="m-2", para="ana@example.mx", plantilla="validacion_correo",
                                      datos={"enlace": "https://x/medios-contacto/validar/SECRETO"},
                                      referencia="medio-2"), ahora=AHORA)
    correo["datos"]["rfc"] = "MAVA800101RS5"
    bitacora.registrar(db, correo, "contactos.events", ahora=AHORA)
    fila = db.execute(select(eventos)).mappings().one()
    assert (fila["rfc"], fila["referencia"]) == ("MAVA800101RS5", "m-2")
    assert "SECRETO" not in " ".join(str(v) for v in fila.values())


@pytest.mark.parametrize("malo", [None, "texto", [], {"id": "x"}, {"id": "x", "tipo": "t", "version": "1"},
                                  {"id": "\x00", "tipo": "t", "version": 1}, {"id": "x" * 40, "tipo": "t", "version": 1}])
def test_a_message_that_is_not_an_event_is_refused(db, malo):
    with pytest.raises(bitacora.EventoIlegible):
        bitacora.registrar(db, malo, "contactos.events", ahora=AHORA)
