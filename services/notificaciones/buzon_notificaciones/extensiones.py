"""nameko dependencies that bind the three services of this package to one schema, one event origin and the
dead-letter queues, whatever each service's own name."""
from __future__ import annotations

import logging

import eventlet
from kombu import Exchange
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from buzon_comun import colas
from buzon_comun.config import Config
from buzon_comun.db import BaseDatos, crear_engine
from buzon_comun.servicio import Salida
from buzon_notificaciones import correo, sms
from buzon_notificaciones.entregas import PREFIJO_FALLIDAS, tipo_fallida

log = logging.getLogger(__name__)

ESQUEMA = "notificaciones"
# How often the idle SMTP connections are looked for (they close between INACTIVIDAD_S and this much later).
PASO_LIMPIEZA_S = 5
CANALES = ("correo", "sms")

INTERCAMBIO_FALLIDAS = Exchange("notificaciones.fallidas", type="direct", durable=True)
COLAS_FALLIDAS = {
    canal: colas.cola(tipo_fallida(canal), INTERCAMBIO_FALLIDAS, canal)
    for canal in CANALES
}


class BaseDatosNotificaciones(BaseDatos):
    """The schema `notificaciones` for every service of the package (BaseDatos would use the service's name)."""

    def setup(self):
        config = Config.desde_entorno()
        self.engine = crear_engine(config, ESQUEMA)
        self._fabrica = sessionmaker(bind=self.engine, expire_on_commit=False)


class SalidaNotificaciones(Salida):
    """The workers' outbox: their events go out on `notificaciones.events` (the origin their contracts name), and
    the requests given up go to their channel's dead-letter queue."""

    def __init__(self, tabla):
        super().__init__(tabla, origen=ESQUEMA)

    def setup(self):
        super().setup()
        self.publicador.declare.extend(COLAS_FALLIDAS.values())

    def destino(self, tipo: str) -> dict:
        if tipo.startswith(PREFIJO_FALLIDAS):
            return {"exchange": INTERCAMBIO_FALLIDAS, "routing_key": tipo[len(PREFIJO_FALLIDAS):]}
        return super().destino(tipo)


class EnviadorCanal(DependencyProvider):
    """Injects `enviar(entrega)` for the channel: SMTP for correo, the SMS provider (and its backup) for sms.

    One sender per process, shared by its workers: the SMTP one keeps its connections open across messages, closes
    those idle for a while from a thread of its own, and closes them all when the container stops."""

    def __init__(self, canal: str):
        self.canal = canal
        self.smtp: correo.EnviadorSmtp | None = None
        self._limpieza = None

    def setup(self):
        config = Config.desde_entorno()
        if self.canal == "correo":
            smtp = self.smtp = correo.EnviadorSmtp(config)

            def enviar(entrega):
                smtp.enviar(entrega.para, correo.construir(
                    entrega.id_mensaje, remitente=smtp.remitente, para=entrega.para, asunto=entrega.asunto,
                    texto=entrega.texto, html=entrega.html, fecha=entrega.solicitado_en))
        else:
            proveedor = sms.proveedor_desde(config)

            def enviar(entrega):
                proveedor.enviar(entrega.id_mensaje, entrega.para, entrega.texto)

        self.enviar = enviar

    def start(self):
        if self.smtp is not None:
            self._limpieza = self.container.spawn_managed_thread(self._cerrar_inactivas,
                                                                 identifier="smtp.cerrar_inactivas")

    def _cerrar_inactivas(self):
        while True:
            eventlet.sleep(PASO_LIMPIEZA_S)
            try:
                self.smtp.cerrar_inactivas()
            except Exception:  # noqa: BLE001 - a managed thread that raises kills the container
                log.warning("no se pudieron cerrar las conexiones SMTP inactivas", exc_info=True)

    def stop(self):
        self._cerrar()

    def kill(self):
        self._cerrar()

    def _cerrar(self):
        if self._limpieza is not None:
            self._limpieza.kill()
            self._limpieza = None
        if self.smtp is not None:
            self.smtp.cerrar()

    def get_dependency(self, worker_ctx):
        return self.enviar
