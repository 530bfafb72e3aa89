"""Test data factories and the notificaciones schema, emptied before each test that uses it."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import Session

from buzon_comun.eventos import CorreoSolicitado, SmsSolicitado, mensaje
from buzon_comun.reloj import RelojFijo

URL_PUBLICA = "https://buzon.pruebas.imss.gob.mx"
INICIO = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)


def _solicitud_correo(*, para="ana@example.com", plantilla="validacion_correo", datos=None, id_mensaje=None,
                     ahora=INICIO, id_evento=None) -> dict:
    datos = datos if datos is not None else {
        "enlace": f"{URL_PUBLICA}/api/v1/medios/validacion/{uuid.uuid4().hex}",
        "vence_en": "2026-12-01T12:00:00-06:00",
        "nombre": "ANA MARIA MARTINEZ VARGAS",
    }
    evento = CorreoSolicitado(id_mensaje=id_mensaje or str(uuid.uuid4()), para=para, plantilla=plantilla,
                              datos=datos, referencia="medio-" + uuid.uuid4().hex[:8])
    return mensaje(evento, ahora=ahora, id_evento=id_evento)


def _solicitud_sms(*, para="+525512345678", plantilla="codigo_sms", datos=None, id_mensaje=None, ahora=INICIO,
                  id_evento=None) -> dict:
    datos = datos if datos is not None else {"codigo": "48213"}
    evento = SmsSolicitado(id_mensaje=id_mensaje or str(uuid.uuid4()), para=para, plantilla=plantilla, datos=datos,
                           referencia="medio-" + uuid.uuid4().hex[:8])
    return mensaje(evento, ahora=ahora, id_evento=id_evento)


@pytest.fixture
def limpiar_bd(motor_de):
    return motor_de("notificaciones")


@pytest.fixture
def db(limpiar_bd):
    sesion = Session(limpiar_bd)
    yield sesion
    sesion.close()


@pytest.fixture
def reloj():
    return RelojFijo(INICIO)


@pytest.fixture
def solicitud_correo():
    """Factory of CorreoSolicitado messages as they travel on the bus."""
    return _solicitud_correo


@pytest.fixture
def solicitud_sms():
    """Factory of SmsSolicitado messages as they travel on the bus."""
    return _solicitud_sms


@pytest.fixture
def url_publica():
    return URL_PUBLICA
