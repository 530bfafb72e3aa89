"""The bitácora service: one durable queue bound to every events exchange, written to an append-only table."""
from __future__ import annotations

from kombu import Queue, binding
from nameko.standalone.events import get_event_exchange

from buzon_bitacora import bitacora
from buzon_comun import colas
from buzon_comun.consumo import cola_en_lotes
from buzon_comun.eventos import origenes
from buzon_comun.servicio import COLA_BITACORA, ServicioBase


def cola_bitacora() -> Queue:
    """The queue every publisher also binds to its own exchange, so no event type is ever unroutable."""
    return colas.cola(COLA_BITACORA,
                      bindings=[binding(get_event_exchange(origen, {}), routing_key="#") for origen in origenes()])


# A batch: up to this many events, or those that arrived within this long of its first one; the broker hands the
# process up to PREFETCH unacknowledged, so the next batch gathers while one is written.
MAXIMO_LOTE = 100
ESPERA_LOTE_S = 0.25
PREFETCH = 200


class Servicio(ServicioBase):
    name = "bitacora"

    @cola_en_lotes(cola_bitacora(), maximo=MAXIMO_LOTE, espera_s=ESPERA_LOTE_S, prefetch=PREFETCH)
    def anotar(self, entregas: list[tuple[object, str]]) -> dict[int, str]:
        """Record the batch; the messages that are not events are parked (each alone), the rest acknowledged."""
        return bitacora.registrar(self.db, entregas, ahora=self.reloj.ahora()).ilegibles
