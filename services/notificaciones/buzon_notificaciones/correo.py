"""Email over SMTP: building the message and telling a temporary failure from a permanent one."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from buzon_comun.config import Config
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal

DOMINIO_MENSAJES = "buzon.imss.gob.mx"


def construir(id_mensaje: str, *, remitente: str, para: str, asunto: str, texto: str, html: str | None,
              fecha) -> EmailMessage:
    mensaje = EmailMessage()
    mensaje["From"] = remitente
    mensaje["To"] = para
    mensaje["Subject"] = asunto
    mensaje["Date"] = format_datetime(fecha)
    # The same Message-ID on every retry lets the receiving side drop a copy that got through twice.
    mensaje["Message-ID"] = f"<{id_mensaje}@{DOMINIO_MENSAJES}>"
    mensaje.set_content(texto)
    if html:
        mensaje.add_alternative(html, subtype="html")
    return mensaje


def clasificar(exc: BaseException) -> FallaTemporal | FallaPermanente:
    """SMTP 4xx, a dropped or refused connection, a timeout: temporary. SMTP 5xx: permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codigos = [codigo for codigo, _ in exc.recipients.values()]
        detalle = "; ".join(f"{para}: {codigo} {_texto(respuesta)}" for para, (codigo, respuesta) in exc.recipients.items())
        if codigos and all(400 <= codigo < 500 for codigo in codigos):
            return FallaTemporal(f"destinatario rechazado temporalmente: {detalle}")
        return FallaPermanente(f"destinatario rechazado: {detalle}")
    if isinstance(exc, smtplib.SMTPResponseException):
        descripcion = f"SMTP {exc.smtp_code} {_texto(exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:
            return FallaTemporal(descripcion)
        if 500 <= exc.smtp_code < 600:
            return FallaPermanente(descripcion)
        return FallaTemporal(descripcion)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return FallaTemporal(f"el servidor de correo cerró la conexión: {exc}")
    if isinstance(exc, (smtplib.SMTPNotSupportedError, UnicodeError)):
        # The server or the address can't carry this message; sending again changes nothing.
        return FallaPermanente(f"mensaje no admitido por el servidor: {exc}")
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        # Refused, reset, unreachable, TLS trouble and timeouts are all OSError.
        return FallaTemporal(f"sin conexión con el servidor de correo: {type(exc).__name__}: {exc}")
    return FallaTemporal(f"{type(exc).__name__}: {exc}")


def _texto(respuesta) -> str:
    if isinstance(respuesta, bytes):
        return respuesta.decode("utf-8", "replace")
    return str(respuesta)


class EnviadorSmtp:
    def __init__(self, config: Config):
        self.host = config.smtp_host
        self.puerto = config.smtp_port
        self.usuario = config.smtp_user
        self.contrasena = config.smtp_password
        self.starttls = config.smtp_starttls
        self.timeout = config.smtp_timeout_s
        self.remitente = config.correo_remitente

    def enviar(self, mensaje: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.puerto, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.usuario:
                    smtp.login(self.usuario, self.contrasena or "")
                smtp.send_message(mensaje)
        except Exception as exc:  # noqa: BLE001 - every failure is sorted into retry or give up
            raise clasificar(exc) from exc
