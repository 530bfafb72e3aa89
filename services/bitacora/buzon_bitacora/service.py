"""The bitácora service: one durable queue bound to every events exchange, written to an append-only table."""
from __future__ import annotations

from kombu import Queue, binding
from nameko.standalone.events import get_event_exchange

from buzon_bitacora import bitacora
from buzon_comun.consumo import EventoInatendible, cola
from buzon_comun.eventos import origenes
from buzon_comun.servicio import COLA_BITACORA, ServicioBase


def cola_bitacora() -> Queue:
    """The queue every publisher also binds to its own exchange, so no event type is ever unroutable."""
    return Queue(COLA_BITACORA, durable=True,
                 bindings=[binding(get_event_exchange(origen, {}), routing_key="#") for origen in origenes()])


class Servicio(ServicioBase):
    name = "bitacora"

    @cola(cola_bitacora())
    def anotar(self, mensaje: dict, intercambio: str) -> None:
        try:
            bitacora.registrar(self.db, mensaje, intercambio, ahora=self.reloj.ahora())
        except bitacora.EventoIlegible as exc:
            raise EventoInatendible(str(exc)) from None
