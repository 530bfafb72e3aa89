"""Avisos on PostgreSQL: one per validated medio that covers the addressee, what the request carries (never the
subject or the document), idempotency, and the delivery reports that start the días hábiles."""
import json
from datetime import datetime, timedelta

import pytest

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from buzon_buzon import avisos, notificaciones
from buzon_buzon.models import avisos as tabla_avisos, notificaciones as tabla
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import CorreoSolicitado, SmsSolicitado, leer
from buzon_comun.reloj import ZONA_MEXICO
from buzon_notificaciones.plantillas import GSM7

MORAL = "EDE0101013A2"
MEDIOS = [
    {"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado", "registros_patronales": []},
    {"id": "m2", "mecanismo": "telefono", "valor": "5512345678", "estado": "validado", "registros_patronales": []},
    {"id": "m3", "mecanismo": "correo", "valor": "planta-a@ejemplo.mx", "estado": "validado",
     "registros_patronales": ["A1234567890"]},
    {"id": "m4", "mecanismo": "telefono", "valor": "+52 5587654321", "estado": "validado",
     "registros_patronales": ["B1234567890"]},
    {"id": "m5", "mecanismo": "correo", "valor": "pendiente@ejemplo.mx", "estado": "pendiente",
     "registros_patronales": []},
    {"id": "m6", "mecanismo": "correo", "valor": "baja@ejemplo.mx", "estado": "baja", "registros_patronales": []},
]


def sin_aviso_en(db, id_):
    momento = db.execute(select(tabla.c.sin_aviso_en).where(tabla.c.id == id_)).scalar_one()
    db.commit()
    return momento


def solicitudes(eventos) -> list:
    return [leer(m)[1] for m in eventos() if m["tipo"] in ("correo_solicitado", "sms_solicitado")]


def test_rfc_level_notification_reaches_only_rfc_level_validated_medios(db, depositar, eventos, reloj):
    id_ = depositar(registros_patronales=[])["id"]
    creados = avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]
    assert sorted(a["medio_id"] for a in creados) == ["m1", "m2"]
    pedidas = solicitudes(eventos)
    assert {type(s) for s in pedidas} == {CorreoSolicitado, SmsSolicitado}
    assert sorted(s.para for s in pedidas) == ["+525512345678", "ana@ejemplo.mx"]


def test_rp_named_adds_that_rps_medios_only(db, depositar, eventos, reloj):
    id_ = depositar(registros_patronales=["A1234567890"])["id"]
    creados = avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]
    assert sorted(a["medio_id"] for a in creados) == ["m1", "m2", "m3"]
    id2 = depositar(referencia="2", registros_patronales=["A1234567890", "B1234567890"])["id"]
    creados = avisos.registrar_avisos(db, id2, MEDIOS, ahora=reloj.ahora())["avisos"]
    assert sorted(a["medio_id"] for a in creados) == ["m1", "m2", "m3", "m4"]
    assert "+525587654321" in [s.para for s in solicitudes(eventos)]


def test_the_request_carries_the_date_never_the_content(db, depositar, eventos, reloj):
    id_ = depositar()["id"]
    avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())
    mensajes = [m for m in eventos() if m["tipo"] in ("correo_solicitado", "sms_solicitado")]
    assert mensajes
    for mensaje in mensajes:
        _, solicitud = leer(mensaje)
        assert solicitud.plantilla == "aviso_notificacion" and solicitud.referencia == id_
        assert solicitud.datos == {"rfc": MORAL, "registros_patronales": [{"registro_patronal": "A1234567890"}],
                                   "depositada_en": "2027-01-11T10:00:00-06:00"}
        texto = json.dumps(mensaje, ensure_ascii=False)
        for secreto in ("Requerimiento", "Subdelegación", "requerimiento", "REQ-42", "cobranza", "JVBERi"):
            assert secreto not in texto


def test_sms_text_of_the_contract_is_gsm7_in_one_segment():
    assert set(avisos.TEXTO_AVISO_SMS) <= GSM7 and len(avisos.TEXTO_AVISO_SMS) <= 160
    assert avisos.TEXTO_AVISO == "Tienes un mensaje en tu Buzón IMSS"


def test_one_aviso_per_medio_whatever_the_repeats(db, depositar, eventos, reloj):
    id_ = depositar()["id"]
    primeros = avisos.registrar_avisos(db, id_, MEDIOS + MEDIOS[:1], ahora=reloj.ahora())["avisos"]
    assert len(primeros) == 3
    antes = eventos()
    assert avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora()) == {"avisos": [], "sin_aviso": False}
    assert eventos() == antes
    # The ids asked are the avisos' ids: notificaciones sends each id_mensaje once.
    assert sorted(s.id_mensaje for s in solicitudes(eventos)) == sorted(a["id"] for a in primeros)


def test_unknown_notification_and_unusable_values(db, depositar, reloj):
    with pytest.raises(NoEncontrado):
        avisos.registrar_avisos(db, "00000000-0000-0000-0000-000000000000", MEDIOS, ahora=reloj.ahora())
    id_ = depositar()["id"]
    raros = [{"id": "x1", "mecanismo": "telefono", "valor": "123", "estado": "validado"},
             {"id": "x2", "mecanismo": "correo", "valor": "sin-arroba", "estado": "validado"},
             {"id": "x3", "mecanismo": "fax", "valor": "1", "estado": "validado"}, {"mecanismo": "correo"}]
    # Nobody can be told: recorded once (operators are alerted), whatever repeats.
    assert avisos.registrar_avisos(db, id_, raros, ahora=reloj.ahora()) == {"avisos": [], "sin_aviso": True}
    assert avisos.registrar_avisos(db, id_, raros, ahora=reloj.ahora()) == {"avisos": [], "sin_aviso": False}
    assert sin_aviso_en(db, id_) == reloj.ahora()


def test_delivery_reports_set_the_first_aviso_sent(db, depositar, reloj, calendario):
    id_ = depositar()["id"]
    creados = avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]
    correo, sms, planta = (next(a["id"] for a in creados if a["medio_id"] == m) for m in ("m1", "m2", "m3"))
    t = datetime(2027, 1, 11, 10, 5, tzinfo=ZONA_MEXICO)
    assert avisos.aviso_enviado(db, sms, t)
    consulta = notificaciones.consultar(db, "cobranza", id_, calendario=calendario)
    assert consulta["aviso_enviado_en"] == "2027-01-11T10:05:00-06:00"
    # A later report doesn't move it; an earlier one (reports out of order) does, while pending.
    assert avisos.aviso_enviado(db, correo, t + timedelta(minutes=3))
    consulta = notificaciones.consultar(db, "cobranza", id_, calendario=calendario)
    assert consulta["aviso_enviado_en"] == "2027-01-11T10:05:00-06:00"
    assert avisos.aviso_fallido(db, planta, "550 buzón inexistente", ahora=t)
    # A repeated report changes nothing.
    assert avisos.aviso_enviado(db, sms, t + timedelta(hours=1))
    consulta = notificaciones.consultar(db, "cobranza", id_, calendario=calendario)
    assert consulta["aviso_enviado_en"] == "2027-01-11T10:05:00-06:00"
    assert sorted((a["mecanismo"], a["estado"]) for a in consulta["avisos"]) == [
        ("correo", "enviado"), ("correo", "fallido"), ("telefono", "enviado")]
    assert not avisos.aviso_enviado(db, "otro-mensaje", t) and not avisos.aviso_fallido(db, "otro", "x", ahora=t)
    with pytest.raises(ValueError):
        avisos.aviso_enviado(db, sms, datetime(2027, 1, 11, 10, 5))


def test_an_earlier_report_arriving_late_moves_the_start_back(db, depositar, reloj, calendario):
    id_ = depositar()["id"]
    creados = avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]
    t = datetime(2027, 1, 11, 10, 5, tzinfo=ZONA_MEXICO)
    avisos.aviso_enviado(db, creados[0]["id"], t)
    avisos.aviso_enviado(db, creados[1]["id"], t - timedelta(minutes=2))
    consulta = notificaciones.consultar(db, "cobranza", id_, calendario=calendario)
    assert consulta["aviso_enviado_en"] == "2027-01-11T10:03:00-06:00"


# -- left without any aviso -------------------------------------------------------------------------------------

def test_a_notification_whose_every_aviso_failed_is_recorded_once(db, depositar, reloj):
    id_ = depositar()["id"]
    correo, sms = (a["id"] for a in avisos.registrar_avisos(db, id_, MEDIOS[:2], ahora=reloj.ahora())["avisos"])
    t = datetime(2027, 1, 11, 11, 0, tzinfo=ZONA_MEXICO)
    assert avisos.aviso_fallido(db, correo, "550", ahora=t) == avisos.FALLIDO  # the SMS may still go
    assert sin_aviso_en(db, id_) is None
    assert avisos.aviso_fallido(db, sms, "proveedor caído", ahora=t + timedelta(minutes=1)) == avisos.SIN_AVISO
    assert sin_aviso_en(db, id_) == t + timedelta(minutes=1)
    # A repeated report is not a second notification left without avisos.
    assert avisos.aviso_fallido(db, sms, "proveedor caído", ahora=t + timedelta(minutes=2)) == avisos.FALLIDO
    assert sin_aviso_en(db, id_) == t + timedelta(minutes=1)


def test_one_aviso_sent_is_enough(db, depositar, reloj):
    id_ = depositar()["id"]
    correo, sms = (a["id"] for a in avisos.registrar_avisos(db, id_, MEDIOS[:2], ahora=reloj.ahora())["avisos"])
    t = datetime(2027, 1, 11, 11, 0, tzinfo=ZONA_MEXICO)
    avisos.aviso_enviado(db, correo, t)
    assert avisos.aviso_fallido(db, sms, "proveedor caído", ahora=t) == avisos.FALLIDO
    assert sin_aviso_en(db, id_) is None


def test_the_last_two_avisos_failing_at_once_are_settled_one_after_the_other(db, otra_db, depositar, reloj):
    id_ = depositar()["id"]
    correo, sms = (a["id"] for a in avisos.registrar_avisos(db, id_, MEDIOS[:2], ahora=reloj.ahora())["avisos"])
    t = datetime(2027, 1, 11, 11, 0, tzinfo=ZONA_MEXICO)
    # Another worker is inside the report of the email's failure: its aviso failed (not committed), the SMS's
    # still pending as it sees it, so it records nothing, and it holds the notification until it commits.
    otra_db.execute(tabla_avisos.update().where(tabla_avisos.c.id == correo).values(estado=avisos.FALLIDO))
    assert avisos._quedo_sin_aviso(otra_db, id_, avisos.AVISOS_FALLIDOS, ahora=t) is False
    # The SMS's failure waits for it, instead of deciding now on the email's failure it can't see yet (which would
    # leave the notification unrecorded by both).
    db.execute(text("SET lock_timeout = '500ms'"))
    db.commit()
    try:
        with pytest.raises(OperationalError):
            avisos.aviso_fallido(db, sms, "proveedor caído", ahora=t)
        db.rollback()
        otra_db.commit()
        assert avisos.aviso_fallido(db, sms, "proveedor caído", ahora=t) == avisos.SIN_AVISO
    finally:
        db.rollback()
        db.execute(text("RESET lock_timeout"))
        db.commit()
    assert sin_aviso_en(db, id_) == t
