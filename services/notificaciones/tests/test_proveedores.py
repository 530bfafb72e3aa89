"""Which failures are retried: SMTP and the SMS provider, against real sockets where it matters; the email as
it goes on the wire."""
import email
import email.policy
import smtplib
import socket
from datetime import datetime, timezone

import pytest

from buzon_comun.config import Config
from buzon_dev.sms import SumideroSms
from buzon_notificaciones import correo
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal
from buzon_notificaciones.sms import ConRespaldo, ProveedorHttp, clasificar_respuesta


def puerto_cerrado() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("exc, clase", [
    (smtplib.SMTPResponseException(421, b"4.3.2 ocupado"), FallaTemporal),
    (smtplib.SMTPSenderRefused(451, b"4.4.1 intente luego", "no-responder@buzon.imss.gob.mx"), FallaTemporal),
    (smtplib.SMTPDataError(554, b"5.7.1 rechazado"), FallaPermanente),
    (smtplib.SMTPResponseException(550, b"5.1.1 no existe"), FallaPermanente),
    (smtplib.SMTPRecipientsRefused({"ana@example.com": (450, b"4.2.1 buzon ocupado")}), FallaTemporal),
    (smtplib.SMTPRecipientsRefused({"ana@example.com": (550, b"5.1.1 no existe")}), FallaPermanente),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), FallaTemporal),
    (ConnectionRefusedError(111, "Connection refused"), FallaTemporal),
    (ConnectionResetError(104, "Connection reset by peer"), FallaTemporal),
    (TimeoutError("timed out"), FallaTemporal),
    (socket.timeout("timed out"), FallaTemporal),
])
def test_smtp_failures_are_sorted_into_retry_or_give_up(exc, clase):
    assert type(correo.clasificar(exc)) is clase


def test_an_unreachable_mail_server_is_a_temporary_failure():
    config = Config.desde_entorno({"BUZON_SMTP_HOST": "127.0.0.1", "BUZON_SMTP_PORT": str(puerto_cerrado()),
                                   "BUZON_SMTP_TIMEOUT_S": "2"})
    mensaje = correo.construir("m-1", remitente=config.correo_remitente, para="ana@example.com", asunto="a",
                               texto="b", html=None, fecha=datetime.now(timezone.utc))
    with pytest.raises(FallaTemporal):
        correo.EnviadorSmtp(config).enviar("ana@example.com", mensaje)


def test_the_message_carries_its_headers_both_parts_and_a_message_id_from_the_id_mensaje():
    crudo = correo.construir("abc-123", remitente="Buzón IMSS <no-responder@buzon.imss.gob.mx>",
                             para="ana@example.com", asunto="Buzón IMSS: prueba de acentos ñ", texto="hola, ñandú " * 30,
                             html="<p>hola, ñandú</p>", fecha=datetime(2026, 11, 28, tzinfo=timezone.utc))
    lineas = crudo.split(b"\r\n")
    assert all(b"\n" not in linea and b"\r" not in linea and len(linea) <= 78 for linea in lineas)  # as SMTP needs
    mensaje = email.message_from_bytes(crudo, policy=email.policy.default)
    assert mensaje["Message-ID"] == "<abc-123@buzon.imss.gob.mx>"
    assert mensaje["Subject"] == "Buzón IMSS: prueba de acentos ñ"
    assert mensaje["From"].addresses[0].display_name == "Buzón IMSS"
    assert mensaje["From"].addresses[0].addr_spec == "no-responder@buzon.imss.gob.mx"
    assert mensaje["To"] == "ana@example.com" and mensaje["Date"].datetime == datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert mensaje.get_body(("plain",)).get_content() == "hola, ñandú " * 30
    assert mensaje.get_body(("html",)).get_content() == "<p>hola, ñandú</p>"


def test_a_message_without_html_is_a_single_text_part():
    crudo = correo.construir("m-2", remitente="no-responder@buzon.imss.gob.mx", para="ana@example.com", asunto="a",
                             texto="sólo texto", html=None, fecha=datetime(2026, 11, 28, tzinfo=timezone.utc))
    mensaje = email.message_from_bytes(crudo, policy=email.policy.default)
    assert mensaje.get_content_type() == "text/plain" and mensaje.get_content() == "sólo texto"


@pytest.mark.parametrize("texto", [
    "una sola línea sin salto y más larga que el límite de setenta y seis caracteres de quoted-printable, ñ",
    ".empieza con punto\n. y otra\ntermina con espacios   \n\tcon tabulador\n",
    "a=b y =?utf-8?q?no es encabezado?= ni =_buzon_ frontera\r\nfin de línea de Windows\rsuelto",
])
def test_any_text_travels_intact(texto):
    crudo = correo.construir("m-4", remitente="no-responder@buzon.imss.gob.mx", para="ana@example.com",
                             asunto="Asunto muy largo para que el encabezado se tenga que doblar: ñandú, " * 3,
                             texto=texto, html=f"<p>{texto}</p>", fecha=datetime(2026, 11, 28, tzinfo=timezone.utc))
    lineas = crudo.split(b"\r\n")
    assert all(b"\n" not in linea and b"\r" not in linea and len(linea) <= 78 for linea in lineas)
    mensaje = email.message_from_bytes(crudo, policy=email.policy.default)
    normal = texto.replace("\r\n", "\n").replace("\r", "\n")
    # Line ends travel as SMTP's CRLF, as the mail sink and any reader see them.
    assert mensaje.get_body(("plain",)).get_content().replace("\r\n", "\n") == normal
    assert mensaje.get_body(("html",)).get_content().replace("\r\n", "\n") == f"<p>{normal}</p>"
    assert mensaje["Subject"] == "Asunto muy largo para que el encabezado se tenga que doblar: ñandú, " * 3


@pytest.mark.parametrize("para", ["ana@example.com\r\nBcc: x@y.z", "añá@example.com"])
def test_an_address_that_cannot_go_in_a_header_is_refused_for_good(para):
    with pytest.raises(FallaPermanente):
        correo.construir("m-3", remitente="no-responder@buzon.imss.gob.mx", para=para,
                         asunto="a", texto="b", html=None, fecha=datetime(2026, 11, 28, tzinfo=timezone.utc))


@pytest.mark.parametrize("estado, clase", [
    (200, None), (202, None), (204, None),
    (429, FallaTemporal), (500, FallaTemporal), (502, FallaTemporal), (503, FallaTemporal),
    (400, FallaPermanente), (401, FallaPermanente), (404, FallaPermanente), (422, FallaPermanente),
])
def test_sms_provider_answers_are_sorted_into_accepted_retry_or_give_up(estado, clase):
    falla = clasificar_respuesta(estado)
    assert (falla is None) if clase is None else type(falla) is clase


def test_the_sms_provider_gets_the_protocol_of_the_contract(tmp_path):
    with SumideroSms(tmp_path / "sms", token="secreto") as sumidero:
        ProveedorHttp(sumidero.url, "secreto", 5).enviar("id-1", "+525512345678", "BUZON IMSS: hola")
        with pytest.raises(FallaPermanente):  # without the token the provider answers 401
            ProveedorHttp(sumidero.url, None, 5).enviar("id-2", "+525512345678", "BUZON IMSS: hola")
        sumidero.fallar(1, 503)
        with pytest.raises(FallaTemporal):
            ProveedorHttp(sumidero.url, "secreto", 5).enviar("id-3", "+525512345678", "BUZON IMSS: hola")
        [recibido] = sumidero.mensajes()
    assert recibido["id"] == "id-1" and recibido["from"] == "BUZON IMSS" and recibido["to"] == "+525512345678"


def test_an_unreachable_sms_provider_is_a_temporary_failure():
    with pytest.raises(FallaTemporal):
        ProveedorHttp(f"http://127.0.0.1:{puerto_cerrado()}/sms", None, 2).enviar("id", "+525512345678", "x")


class Falso:
    def __init__(self, falla=None):
        self.falla = falla
        self.enviados = []

    def enviar(self, id_mensaje, to, texto):
        self.enviados.append(id_mensaje)
        if self.falla:
            raise self.falla


def test_the_backup_provider_takes_over_when_the_primary_is_down():
    primario, respaldo = Falso(FallaTemporal("HTTP 503")), Falso()
    ConRespaldo(primario, respaldo).enviar("id-1", "+525512345678", "x")
    assert primario.enviados == respaldo.enviados == ["id-1"]


def test_the_backup_is_not_used_when_the_primary_refuses_the_message():
    primario, respaldo = Falso(FallaPermanente("HTTP 400")), Falso()
    with pytest.raises(FallaPermanente):
        ConRespaldo(primario, respaldo).enviar("id-1", "+525512345678", "x")
    assert respaldo.enviados == []


@pytest.mark.parametrize("falla_respaldo", [FallaTemporal("HTTP 503"), FallaPermanente("HTTP 401")])
def test_both_providers_failing_is_retried_later(falla_respaldo):
    with pytest.raises(FallaTemporal):
        ConRespaldo(Falso(FallaTemporal("HTTP 503")), Falso(falla_respaldo)).enviar("id-1", "+525512345678", "x")
