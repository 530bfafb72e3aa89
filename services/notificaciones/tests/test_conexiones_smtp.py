"""The SMTP connections a process keeps open: reused across messages, replaced when the server drops them, never
shared by two sends at once, reset after a refused transaction, closed when idle. Against a real SMTP server."""
from datetime import datetime, timezone

import eventlet
import pytest

from buzon_comun.config import Config
from buzon_notificaciones import correo
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal


class Reloj:
    def __init__(self):
        self.ahora = 1000.0

    def __call__(self):
        return self.ahora


def enviador(servidor, **opciones) -> correo.EnviadorSmtp:
    config = Config.desde_entorno({"BUZON_SMTP_HOST": "127.0.0.1", "BUZON_SMTP_PORT": str(servidor.puerto),
                                   "BUZON_SMTP_TIMEOUT_S": "5"})
    return correo.EnviadorSmtp(config, **opciones)


def mensaje(n: int, para: str | None = None) -> tuple[str, bytes]:
    para = para or f"persona.{n}@example.com"
    return para, correo.construir(f"m-{n}", remitente="Buzón IMSS <no-responder@buzon.imss.gob.mx>", para=para,
                                  asunto="Buzón IMSS: prueba", texto=f"mensaje {n}", html=f"<p>mensaje {n}</p>",
                                  fecha=datetime(2026, 11, 28, tzinfo=timezone.utc))


def test_messages_in_a_row_go_over_one_connection(servidor_smtp):
    smtp = enviador(servidor_smtp)
    for n in range(5):
        smtp.enviar(*mensaje(n))
    assert len(servidor_smtp.recibidos) == 5 and len(servidor_smtp.conexiones()) == 1
    assert [para for _, _, [para], _ in servidor_smtp.recibidos] == [f"persona.{n}@example.com" for n in range(5)]
    assert {de for _, de, _, _ in servidor_smtp.recibidos} == {"no-responder@buzon.imss.gob.mx"}
    assert smtp.abiertas == 1


def test_a_connection_the_server_dropped_is_replaced_and_the_message_still_goes(servidor_smtp):
    smtp = enviador(servidor_smtp)
    smtp.enviar(*mensaje(1))
    servidor_smtp.cortar()
    smtp.enviar(*mensaje(2))  # no failure: the dropped connection is noticed, and the message goes on a new one
    assert [para for _, _, [para], _ in servidor_smtp.recibidos] == ["persona.1@example.com", "persona.2@example.com"]
    assert len(servidor_smtp.conexiones()) == 2
    smtp.enviar(*mensaje(3))
    assert servidor_smtp.recibidos[-1][0] == servidor_smtp.recibidos[-2][0]  # the new one is kept


def test_a_421_on_a_kept_connection_is_retried_once_on_a_fresh_one(servidor_smtp):
    smtp = enviador(servidor_smtp)
    smtp.enviar(*mensaje(1))
    servidor_smtp.responder_421 = 1
    smtp.enviar(*mensaje(2))
    assert len(servidor_smtp.recibidos) == 2 and len(servidor_smtp.conexiones()) == 2


def test_a_421_on_a_fresh_connection_is_a_temporary_failure_for_the_schedule(servidor_smtp):
    smtp = enviador(servidor_smtp)
    servidor_smtp.responder_421 = 2
    with pytest.raises(FallaTemporal, match="421"):
        smtp.enviar(*mensaje(1))
    assert servidor_smtp.recibidos == [] and servidor_smtp.responder_421 == 1  # tried once, not again at once
    assert smtp.abiertas == 0


def test_a_refused_recipient_resets_the_transaction_and_keeps_the_connection(servidor_smtp):
    smtp = enviador(servidor_smtp)
    smtp.enviar(*mensaje(1))
    servidor_smtp.rechazar.add("nadie@example.com")
    with pytest.raises(FallaPermanente, match="550"):
        smtp.enviar(*mensaje(2, para="nadie@example.com"))
    smtp.enviar(*mensaje(3))
    [primera] = servidor_smtp.conexiones()
    assert primera in servidor_smtp.reinicios
    assert [para for _, _, [para], _ in servidor_smtp.recibidos] == ["persona.1@example.com", "persona.3@example.com"]


def test_concurrent_sends_never_share_a_connection_mid_transaction(servidor_smtp):
    """Twenty greenthreads at once over a pool of three: each message arrives whole, to its own recipient, over at
    most three connections. Two sends interleaved on one connection would nest MAIL commands (refused by the
    server) or cross recipients and bodies."""
    servidor_smtp.demora_s = 0.02  # every DATA takes a while: sends pile up on the pool
    smtp = enviador(servidor_smtp, conexiones=3)
    hilos = [eventlet.spawn(smtp.enviar, *mensaje(n)) for n in range(20)]
    for hilo in hilos:
        hilo.wait()  # re-raises any failure
    assert len(servidor_smtp.recibidos) == 20
    for _, _, [para], contenido in servidor_smtp.recibidos:
        n = int(para.split(".")[1].split("@")[0])
        assert f"Message-ID: <m-{n}@buzon.imss.gob.mx>".encode() in contenido
    assert len(servidor_smtp.conexiones()) <= 3
    assert smtp.abiertas <= 3


def test_idle_connections_are_closed_after_a_while(servidor_smtp):
    reloj = Reloj()
    smtp = enviador(servidor_smtp, inactividad_s=30, reloj=reloj)
    smtp.enviar(*mensaje(1))
    reloj.ahora += 29
    assert smtp.cerrar_inactivas() == 0 and smtp.abiertas == 1
    reloj.ahora += 2
    assert smtp.cerrar_inactivas() == 1 and smtp.abiertas == 0
    [conexion] = servidor_smtp.conexiones()
    eventlet.sleep(0.1)
    assert conexion in servidor_smtp.despedidas
    smtp.enviar(*mensaje(2))
    assert len(servidor_smtp.conexiones()) == 2


def test_a_connection_past_its_idle_time_is_not_used_again(servidor_smtp):
    reloj = Reloj()
    smtp = enviador(servidor_smtp, inactividad_s=30, reloj=reloj)
    smtp.enviar(*mensaje(1))
    reloj.ahora += 31
    smtp.enviar(*mensaje(2))
    assert len(servidor_smtp.conexiones()) == 2 and smtp.abiertas == 1


def test_closing_says_goodbye_on_every_kept_connection(servidor_smtp):
    smtp = enviador(servidor_smtp, conexiones=2)
    servidor_smtp.demora_s = 0.05
    hilos = [eventlet.spawn(smtp.enviar, *mensaje(n)) for n in range(2)]
    for hilo in hilos:
        hilo.wait()
    smtp.cerrar()
    eventlet.sleep(0.1)
    assert smtp.abiertas == 0 and servidor_smtp.conexiones() == set(servidor_smtp.despedidas)
