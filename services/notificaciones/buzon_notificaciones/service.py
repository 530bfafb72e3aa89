"""The notificaciones services: an RPC service for operators and one worker per channel, each on its own queue.

`notificaciones` answers questions about deliveries; `notificaciones_correo` and `notificaciones_sms` consume the
requests of their channel and retry what is due, so operators run and scale each kind on its own. All three
share the schema `notificaciones`.
"""
from __future__ import annotations

import logging
import time

from nameko.events import event_handler
from nameko.timer import timer

from buzon_comun.bandeja_salida import publicar_pendientes
from buzon_comun.eventos import ContratoDesconocido
from buzon_comun.servicio import ConEventos, ServicioBase, rpc
from buzon_notificaciones import entregas
from buzon_notificaciones.extensiones import (BaseDatosNotificaciones, DespachadorNotificaciones, EnviadorCanal,
                                              publicador_fallidas)
from buzon_notificaciones.models import salida

log = logging.getLogger(__name__)

# Due messages one timer tick tries at most, so a backlog never keeps a worker from new requests for long.
LOTE_REINTENTOS = 50
# A request that could not be stored (database down) goes back to its queue after this pause, so it is not lost
# and a long outage does not spin the worker.
PAUSA_REENCOLAR_S = 1.0


class Servicio(ServicioBase):
    name = "notificaciones"
    db = BaseDatosNotificaciones()

    @rpc
    def entrega(self, id_mensaje: str) -> dict:
        return entregas.consultar(self.db, id_mensaje)


class _Trabajador(ConEventos, ServicioBase):
    canal: str
    db = BaseDatosNotificaciones()
    despachar = DespachadorNotificaciones()
    publicar_fallida = publicador_fallidas()
    tabla_salida = salida

    def publicar_eventos(self) -> int:
        # The outbox also holds dead letters: those go to their channel's queue, not to the events exchange.
        return publicar_pendientes(self.db, self.tabla_salida, self._publicar)

    def _publicar(self, tipo: str, mensaje: dict) -> None:
        if tipo.startswith(entregas.PREFIJO_FALLIDAS):
            self.publicar_fallida(mensaje, routing_key=tipo[len(entregas.PREFIJO_FALLIDAS):])
        else:
            self.despachar(tipo, mensaje)

    def _atender(self, solicitud: dict) -> None:
        ahora = self.reloj.ahora()
        try:
            id_mensaje = entregas.registrar(self.db, solicitud, canal=self.canal, ahora=ahora)
        except (ContratoDesconocido, entregas.SolicitudAjena) as exc:
            # Requeueing would bring it back forever: log it for the operators and drop it.
            log.error("solicitud de %s descartada: %s", self.canal, exc)
            return
        except Exception:
            log.exception("no se pudo registrar una solicitud de %s; vuelve a la cola", self.canal)
            time.sleep(PAUSA_REENCOLAR_S)
            raise
        if id_mensaje is not None:
            entregas.intentar(self.db, canal=self.canal, ahora=ahora, enviar=self.enviar,
                              reintentos=self.config.reintentos_s, id_mensaje=id_mensaje)
        self.publicar_eventos()

    @timer(interval=1)
    def reintentar(self) -> None:
        atendidos = 0
        for _ in range(LOTE_REINTENTOS):
            if entregas.intentar(self.db, canal=self.canal, ahora=self.reloj.ahora(), enviar=self.enviar,
                                 reintentos=self.config.reintentos_s) is None:
                break
            atendidos += 1
        if atendidos:
            self.publicar_eventos()


class TrabajadorCorreo(_Trabajador):
    name = "notificaciones_correo"
    canal = "correo"
    enviar = EnviadorCanal("correo")

    @event_handler("contactos", "correo_solicitado", requeue_on_error=True)
    def correo_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud)


class TrabajadorSms(_Trabajador):
    name = "notificaciones_sms"
    canal = "sms"
    enviar = EnviadorCanal("sms")

    @event_handler("contactos", "sms_solicitado", requeue_on_error=True)
    def sms_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud)
