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


class ServidorSmtp:
    """A real SMTP server (aiosmtpd, on a free port) that notes which connection carried each message, and can drop
    its connections, answer 421 or refuse a recipient, or take its time over DATA."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        from buzon_dev.sistema import puerto_libre

        servidor = self

        class Controlador(Controller):
            def factory(self):
                sesion = super().factory()
                servidor.sesiones.append(sesion)
                return sesion

        self.recibidos: list[tuple[tuple, str, list[str], bytes]] = []  # (connection's peer, from, to, content)
        self.sesiones = []
        self.reinicios: list[tuple] = []  # the peers that sent RSET
        self.despedidas: list[tuple] = []  # the peers that sent QUIT
        self.responder_421 = 0
        self.rechazar = set()
        self.demora_s = 0.0
        self.controlador = Controlador(self, hostname="127.0.0.1", port=puerto_libre())

    @property
    def puerto(self) -> int:
        return self.controlador.port

    def conexiones(self) -> set[tuple]:
        """The connections that carried at least one message."""
        return {peer for peer, *_ in self.recibidos}

    def cortar(self) -> None:
        """Drop every open connection, as a server does with clients idle too long or when it restarts."""
        import eventlet

        def cortar():
            for sesion in self.sesiones:
                if sesion.transport is not None:
                    sesion.transport.close()

        self.controlador.loop.call_soon_threadsafe(cortar)
        eventlet.sleep(0.2)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.responder_421:
            self.responder_421 -= 1
            return "421 4.3.2 Servicio no disponible, cerrando el canal"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rechazar:
            return "550 5.1.1 No existe ese buzón"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if self.demora_s:
            await asyncio.sleep(self.demora_s)
        self.recibidos.append((session.peer, envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Mensaje recibido"

    async def handle_RSET(self, server, session, envelope):
        self.reinicios.append(session.peer)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.despedidas.append(session.peer)
        return "221 Adiós"


@pytest.fixture
def servidor_smtp():
    servidor = ServidorSmtp()
    servidor.controlador.start()
    yield servidor
    servidor.controlador.stop()
