"""SMS through the generic HTTP provider protocol of API.md, with an optional backup provider."""
from __future__ import annotations

import logging
from typing import Protocol

import requests

from buzon_comun.config import Config
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal

log = logging.getLogger(__name__)

REMITENTE = "BUZON IMSS"


class ProveedorSms(Protocol):
    def enviar(self, id_mensaje: str, to: str, texto: str) -> None:
        """Hand the message over; FallaTemporal or FallaPermanente when it was not accepted."""


def clasificar_respuesta(estado: int, cuerpo: str = "") -> FallaTemporal | FallaPermanente | None:
    """2xx: accepted (None). 429 and 5xx: temporary. Any other answer: permanent."""
    if 200 <= estado < 300:
        return None
    descripcion = f"HTTP {estado} {cuerpo[:200]}".strip()
    if estado == 429 or 500 <= estado < 600:
        return FallaTemporal(descripcion)
    return FallaPermanente(descripcion)


class ProveedorHttp:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 10.0, sesion=None):
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.sesion = sesion or requests.Session()

    def enviar(self, id_mensaje: str, to: str, texto: str) -> None:
        encabezados = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        cuerpo = {"id": id_mensaje, "to": to, "from": REMITENTE, "text": texto}
        try:
            respuesta = self.sesion.post(self.url, json=cuerpo, headers=encabezados, timeout=self.timeout_s)
        except requests.RequestException as exc:
            # No answer (refused, reset, timeout): the provider may still take it on the next try.
            raise FallaTemporal(f"sin respuesta del proveedor de SMS: {type(exc).__name__}") from exc
        falla = clasificar_respuesta(respuesta.status_code, respuesta.text)
        if falla is not None:
            raise falla


class ConRespaldo:
    """Uses the backup provider when the primary fails for now; a permanent refusal is the message's fault."""

    def __init__(self, primario: ProveedorSms, respaldo: ProveedorSms):
        self.primario = primario
        self.respaldo = respaldo

    def enviar(self, id_mensaje: str, to: str, texto: str) -> None:
        try:
            self.primario.enviar(id_mensaje, to, texto)
            return
        except FallaTemporal as falla:
            log.warning("proveedor de SMS principal no disponible (%s): se usa el de respaldo", falla)
            primera = falla
        try:
            self.respaldo.enviar(id_mensaje, to, texto)
        except FallaPermanente as falla:
            # The primary may recover and accept it: only its own refusal makes the failure final.
            raise FallaTemporal(f"principal: {primera}; respaldo: {falla}") from falla
        except FallaTemporal as falla:
            raise FallaTemporal(f"principal: {primera}; respaldo: {falla}") from falla


def proveedor_desde(config: Config) -> ProveedorSms:
    primario = ProveedorHttp(config.sms_url, config.sms_token, config.sms_timeout_s)
    if config.sms_respaldo_url:
        return ConRespaldo(primario, ProveedorHttp(config.sms_respaldo_url, config.sms_respaldo_token, config.sms_timeout_s))
    return primario
