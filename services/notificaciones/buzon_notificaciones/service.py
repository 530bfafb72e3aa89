"""The notificaciones services: an RPC service for operators and one worker per channel, each on its own queue.

`notificaciones` answers questions about deliveries; `notificaciones_correo` and `notificaciones_sms` consume the
requests of their channel and retry what is due, so operators run and scale each kind on its own. All three
share the schema `notificaciones`.

Each worker consumes two queues: contactos' requests (validation links and codes, notices of medios) and buzon's
(the avisos of notifications, `buzon.events`). A campaign's avisos wait in their own queue, and RabbitMQ hands the
worker's free places to its consumers in turn, so a validation request is taken within a few messages of its
arrival however many avisos wait (README, "Priority"). The retry timer, too, takes the due messages of every other
requester before buzon's.
"""
from __future__ import annotations

import logging
from functools import partial

from nameko.timer import timer

from buzon_comun.consumo import EventoInatendible, evento
from buzon_comun.eventos import ContratoDesconocido
from buzon_comun.servicio import ConEventos, ServicioBase, rpc
from buzon_notificaciones import entregas
from buzon_notificaciones.extensiones import BaseDatosNotificaciones, EnviadorCanal, SalidaNotificaciones
from buzon_notificaciones.models import salida as tabla_salida
from buzon_notificaciones.plantillas import renderizar

log = logging.getLogger(__name__)

# Due messages one timer tick tries at most, so a backlog never keeps a worker from new requests for long.
LOTE_REINTENTOS = 50


class Servicio(ServicioBase):
    name = "notificaciones"
    db = BaseDatosNotificaciones()

    @rpc
    def entrega(self, id_mensaje: str) -> dict:
        return entregas.consultar(self.db, id_mensaje)


class _Trabajador(ConEventos, ServicioBase):
    canal: str
    db = BaseDatosNotificaciones()
    salida = SalidaNotificaciones(tabla_salida)

    def _atender(self, solicitud: dict, origen: str) -> None:
        """A request of the channel from `origen` (the service whose exchange it came from): stored once (a
        redelivery finds it) and tried at once. If the database is down the handler fails and the consumer tries
        the request again later (buzon_comun.consumo)."""
        try:
            entregas.atender(self.db, solicitud, canal=self.canal, ahora=self.reloj.ahora(), enviar=self.enviar,
                             reintentos=self.config.reintentos_s, origen=origen,
                             renderizar_mensaje=partial(renderizar, url_publica=self.config.public_url))
        except (ContratoDesconocido, entregas.SolicitudAjena) as exc:
            raise EventoInatendible(f"solicitud de {self.canal} que este trabajador no puede atender: {exc}") from None

    @timer(interval=1)
    def reintentar(self) -> None:
        """Up to LOTE_REINTENTOS due messages a tick: every other requester's first, then buzon's avisos."""
        hechos = 0
        for avisos in (False, True):
            while hechos < LOTE_REINTENTOS:
                if entregas.intentar(self.db, canal=self.canal, ahora=self.reloj.ahora(), enviar=self.enviar,
                                     reintentos=self.config.reintentos_s, avisos=avisos) is None:
                    break
                hechos += 1


class TrabajadorCorreo(_Trabajador):
    name = "notificaciones_correo"
    canal = "correo"
    enviar = EnviadorCanal("correo")

    @evento("contactos", "correo_solicitado", crudo=True)
    def correo_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud, "contactos")

    @evento("buzon", "correo_solicitado", crudo=True)
    def aviso_correo_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud, "buzon")


class TrabajadorSms(_Trabajador):
    name = "notificaciones_sms"
    canal = "sms"
    enviar = EnviadorCanal("sms")

    @evento("contactos", "sms_solicitado", crudo=True)
    def sms_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud, "contactos")

    @evento("buzon", "sms_solicitado", crudo=True)
    def aviso_sms_solicitado(self, solicitud: dict) -> None:
        self._atender(solicitud, "buzon")
