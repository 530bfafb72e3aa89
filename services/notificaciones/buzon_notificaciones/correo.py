"""Email over SMTP: building the message, sending it over connections kept open across messages, and telling a
temporary failure from a permanent one."""
from __future__ import annotations

import binascii
import logging
import smtplib
import ssl
import threading
import time
import uuid
from email.charset import QP, Charset
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Callable

from buzon_comun.config import Config
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal

log = logging.getLogger(__name__)

DOMINIO_MENSAJES = "buzon.imss.gob.mx"
# Connections each process keeps open to the mail server, each carrying one message at a time: a few let the
# workers of a process send side by side without opening one per message.
CONEXIONES = 4
# A connection unused this long is closed (mail servers drop idle clients after a few minutes anyway).
INACTIVIDAD_S = 30.0

_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
CRLF = "\r\n"


def construir(id_mensaje: str, *, remitente: str, para: str, asunto: str, texto: str, html: str | None,
              fecha) -> bytes:
    """The message as it goes on the wire: a text part, and an HTML alternative when there is one.

    Its shape never changes, so it is written here rather than through the email package's generator, which took
    a sixth of a worker's CPU per message: the bodies are quoted-printable (binascii's, in C: readable Spanish,
    every line within SMTP's limit) and the encoded From and Subject are kept per process."""
    if not (para.isascii() and id_mensaje.isascii()) or any(c in para + id_mensaje for c in "\r\n<>"):
        # contactos only asks for ASCII addresses; anything else would break a header, not deliver better later.
        raise FallaPermanente(f"dirección o id de mensaje que no cabe en un encabezado: {para!r}")
    cabeceras = [
        f"From: {_remitente(remitente)}",
        f"To: {para}",
        f"Subject: {_asunto(asunto)}",
        f"Date: {format_datetime(fecha)}",
        # The same Message-ID on every retry lets the receiving side drop a copy that got through twice.
        f"Message-ID: <{id_mensaje}@{DOMINIO_MENSAJES}>",
        "MIME-Version: 1.0",
    ]
    if not html:
        return (CRLF.join(cabeceras) + CRLF).encode("ascii") + _parte("plain", texto)
    # "=_" never occurs in quoted-printable text: the boundary can't appear inside a part.
    limite = f"=_buzon_{uuid.uuid4().hex}"
    cabeceras.append(f'Content-Type: multipart/alternative;{CRLF} boundary="{limite}"')
    separador = f"{CRLF}--{limite}{CRLF}".encode("ascii")
    return b"".join([(CRLF.join(cabeceras) + CRLF).encode("ascii"), separador, _parte("plain", texto), separador,
                     _parte("html", html), f"{CRLF}--{limite}--{CRLF}".encode("ascii")])


def _parte(subtipo: str, contenido: str) -> bytes:
    """Content-Type and Content-Transfer-Encoding, a blank line, the body in quoted-printable with CRLF ends."""
    texto = contenido.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    # binascii breaks (and soft-breaks) lines with a bare LF; SMTP wants CRLF, and no other CR or LF is left.
    cuerpo = binascii.b2a_qp(texto, istext=True).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtipo}; charset="utf-8"{CRLF}Content-Transfer-Encoding: quoted-printable'
            f"{CRLF}{CRLF}").encode("ascii") + cuerpo


@lru_cache(maxsize=8)
def _remitente(remitente: str) -> str:
    nombre, direccion = parseaddr(remitente)
    return formataddr((nombre, direccion), charset=_UTF8)


@lru_cache(maxsize=256)
def _asunto(asunto: str) -> str:
    """RFC 2047 encoded words, folded within the line limit."""
    return Header(asunto, _UTF8, header_name="Subject").encode(linesep=CRLF)


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


def es_caida(exc: BaseException) -> bool:
    """The server dropped the connection, or said 421 (closing it): the connection is gone, not the message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(codigo == 421 for codigo, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError))


class _Caida(Exception):
    """Internal: the connection a message was going on was dropped."""


class EnviadorSmtp:
    """Hands messages to the mail server over at most `conexiones` connections kept open across messages.

    Opening a connection (TCP, greeting, EHLO, STARTTLS, AUTH) takes more round trips than sending a message, so a
    connection, once open, carries message after message. A send takes a connection of its own from the pool and
    gives it back when done (the pool's turns are a semaphore, green under eventlet): no two workers ever write to
    one connection at once. A message whose reused connection turns out to be dropped (the server closed it while
    idle, a broken pipe, a 421) goes once more on a fresh connection before it counts as a temporary failure. After
    a refused transaction the connection is reset (RSET) and kept; after a timeout or an unknown state it is
    closed. `cerrar_inactivas` closes what has been idle for `inactividad_s`; `cerrar` closes everything.
    """

    def __init__(self, config: Config, *, conexiones: int = CONEXIONES, inactividad_s: float = INACTIVIDAD_S,
                 reloj: Callable[[], float] = time.monotonic):
        self.host = config.smtp_host
        self.puerto = config.smtp_port
        self.usuario = config.smtp_user
        self.contrasena = config.smtp_password
        self.starttls = config.smtp_starttls
        self.timeout = config.smtp_timeout_s
        self.remitente = config.correo_remitente
        self.sobre = parseaddr(self.remitente)[1]
        self.inactividad_s = inactividad_s
        self._reloj = reloj
        self._turnos = threading.BoundedSemaphore(conexiones)
        self._candado = threading.Lock()
        # Idle connections with the time each came back, the most recently used last.
        self._libres: list[tuple[float, smtplib.SMTP]] = []
        self._cerrado = False

    def enviar(self, para: str, mensaje: bytes) -> None:
        """Hand one message over; FallaTemporal or FallaPermanente when the server did not take it."""
        with self._turnos:
            conexion = self._tomar()
            if conexion is not None:
                try:
                    return self._entregar(conexion, para, mensaje)
                except _Caida as caida:
                    log.info("el servidor de correo cerró una conexión abierta (%s); se envía por una nueva",
                             caida.__cause__)
            try:
                conexion = self._abrir()
            except Exception as exc:  # noqa: BLE001 - every failure is sorted into retry or give up
                raise clasificar(exc) from exc
            try:
                self._entregar(conexion, para, mensaje)
            except _Caida as caida:
                raise clasificar(caida.__cause__) from caida.__cause__

    def _entregar(self, conexion: smtplib.SMTP, para: str, mensaje: bytes) -> None:
        try:
            conexion.sendmail(self.sobre, [para], mensaje)
        except Exception as exc:  # noqa: BLE001 - every failure is sorted into retry or give up
            if es_caida(exc):
                _cerrar(conexion, despedirse=False)
                raise _Caida() from exc
            self._tras_falla(conexion, exc)
            raise clasificar(exc) from exc
        self._devolver(conexion)

    def _tras_falla(self, conexion: smtplib.SMTP, exc: BaseException) -> None:
        """A refused transaction leaves the connection usable once reset; a timeout or a broken TLS layer leaves
        it in an unknown state: closed. (SMTP's own exceptions are OSErrors too.)"""
        desconocido = isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
        if desconocido or conexion.sock is None:
            _cerrar(conexion, despedirse=False)
            return
        try:
            conexion.rset()
        except Exception:  # noqa: BLE001 - it can't be reset: a new one will do
            _cerrar(conexion, despedirse=False)
            return
        self._devolver(conexion)

    def _abrir(self) -> smtplib.SMTP:
        conexion = smtplib.SMTP(self.host, self.puerto, timeout=self.timeout)
        try:
            if self.starttls:
                conexion.starttls(context=ssl.create_default_context())
            if self.usuario:
                conexion.login(self.usuario, self.contrasena or "")
        except BaseException:
            _cerrar(conexion, despedirse=False)
            raise
        return conexion

    def _tomar(self) -> smtplib.SMTP | None:
        """The most recently used idle connection, if one is not past its idle time."""
        vencidas = []
        with self._candado:
            conexion = None
            while self._libres:
                desde, candidata = self._libres.pop()
                if self._reloj() - desde < self.inactividad_s:
                    conexion = candidata
                    break
                vencidas.append(candidata)
        for vencida in vencidas:
            _cerrar(vencida)
        return conexion

    def _devolver(self, conexion: smtplib.SMTP) -> None:
        with self._candado:
            if not self._cerrado:
                self._libres.append((self._reloj(), conexion))
                return
        _cerrar(conexion)

    def cerrar_inactivas(self) -> int:
        """Close (QUIT) the connections idle for `inactividad_s` or more; how many."""
        limite = self._reloj() - self.inactividad_s
        with self._candado:
            vencidas = [conexion for desde, conexion in self._libres if desde <= limite]
            self._libres = [(desde, conexion) for desde, conexion in self._libres if desde > limite]
        for conexion in vencidas:
            _cerrar(conexion)
        return len(vencidas)

    def cerrar(self) -> None:
        """Close every connection: those idle now, and those in use as their sends end (the process stops)."""
        with self._candado:
            self._cerrado = True
            libres, self._libres = self._libres, []
        for _, conexion in libres:
            _cerrar(conexion)

    @property
    def abiertas(self) -> int:
        """Idle connections kept open now."""
        with self._candado:
            return len(self._libres)


def _cerrar(conexion: smtplib.SMTP, despedirse: bool = True) -> None:
    """QUIT when the connection is usable, then close the socket; never raises."""
    try:
        if despedirse and conexion.sock is not None:
            conexion.quit()
    except Exception:  # noqa: BLE001 - the server may be gone already
        pass
    finally:
        conexion.close()
