"""The acuses service: receives every acuse request; rendering, sealing and verification come in issue 4."""
import logging

from nameko.events import event_handler

from buzon_acuses import solicitudes
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import ContratoDesconocido, leer
from buzon_comun.servicio import ServicioBase, rpc

log = logging.getLogger(__name__)


class Servicio(ServicioBase):
    name = "acuses"

    @event_handler("contactos", "acuse_solicitado")
    def al_solicitar_acuse(self, mensaje: dict) -> None:
        try:
            _id, solicitud = leer(mensaje)
        except ContratoDesconocido:
            log.error("solicitud de acuse no reconocida: %s", mensaje)
            return
        if solicitudes.guardar(self.db, solicitud, ahora=self.reloj.ahora()):
            log.info("acuse solicitado: %s %s", solicitud.tipo, solicitud.folio)

    @rpc
    def pdf(self, folio: str, rfc: str) -> str:
        """The acuse's PDF in base64, for its owner. Until acuses are rendered, every folio is 404."""
        solicitudes.solicitud_de(self.db, folio, rfc)
        raise NoEncontrado("no_encontrado", solicitudes.MENSAJE_NO_DISPONIBLE)
