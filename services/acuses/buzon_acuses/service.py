"""The acuses service: receives every acuse request, issues its PDF (sealed, once), serves and verifies it."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from buzon_acuses import acuses, solicitudes
from buzon_acuses.ajustes import Ajustes
from buzon_acuses.renderizador import Renderizador
from buzon_acuses.sello import Sello, cargar
from buzon_comun.config import Config
from buzon_comun.consumo import evento
from buzon_comun.eventos import AcuseSolicitado
from buzon_comun.servicio import ServicioBase, rpc

log = logging.getLogger(__name__)


class ProveedorSello(DependencyProvider):
    """Loads the Institute's seal once per process; a broken configuration stops the start, not the first acuse."""

    def setup(self):
        self.sello = cargar(Config.desde_entorno())
        log.info("sello de acuses: certificado %s (%s)", self.sello.numero_certificado,
                 self.sello.certificado.subject.rfc4514_string())

    def get_dependency(self, worker_ctx) -> Sello:
        return self.sello


class ProveedorAjustes(DependencyProvider):
    """The service's own settings (render time limit, retries), read once per process."""

    def setup(self):
        self.ajustes = Ajustes.desde_config(Config.desde_entorno())

    def get_dependency(self, worker_ctx) -> Ajustes:
        return self.ajustes


class Servicio(ServicioBase):
    name = "acuses"
    sello = ProveedorSello()
    renderizar = Renderizador()
    ajustes = ProveedorAjustes()

    # A request is stored before anything else; a failure to store it (the database down) is retried by the
    # consumer (buzon_comun.consumo), never lost.
    @evento("contactos", "acuse_solicitado")
    def al_solicitar_acuse_de_medio(self, _id_evento: str, solicitud: AcuseSolicitado) -> None:
        acuses.atender(self.db, solicitud, self._emision())

    @evento("activacion", "acuse_solicitado")
    def al_solicitar_acuse_de_activacion(self, _id_evento: str, solicitud: AcuseSolicitado) -> None:
        acuses.atender(self.db, solicitud, self._emision())

    # The acuse de notificación (tipo `notificacion`), when a notification is opened or deemed notified.
    @evento("buzon", "acuse_solicitado")
    def al_solicitar_acuse_de_notificacion(self, _id_evento: str, solicitud: AcuseSolicitado) -> None:
        acuses.atender(self.db, solicitud, self._emision())

    def _emision(self) -> acuses.Emision:
        return acuses.Emision(self.sello, self.config.public_url, self.reloj, self.ajustes.reintentos,
                              self.ajustes.reserva)

    @timer(interval=30)
    def emitir_pendientes(self) -> None:
        emitidos = acuses.emitir_pendientes(self.db, self._emision())
        if emitidos:
            log.info("acuses pendientes emitidos: %d", emitidos)

    @rpc
    def pdf(self, folio: str, rfc: str) -> str:
        """The PDF in base64, only for its RFC (rendered on its first download, then stored); NoEncontrado for an
        unknown folio, another RFC's or one not issued yet; ServicioNoDisponible if its render failed (try again)."""
        return acuses.pdf_base64(self.db, folio, rfc, renderizar=self.renderizar, ahora=self.reloj.ahora())

    @rpc
    def verificacion(self, folio: str, codigo: str, cliente: str) -> dict:
        """Public (the QR's target), with the acuse's código de verificación; failures limited per `cliente`."""
        return acuses.verificacion(self.db, folio, codigo, cliente, sello=self.sello, ahora=self.reloj.ahora(),
                                   limite=self.config.limite_verificaciones_por_minuto)

    @rpc
    def codigos(self, rfc: str, folios: list) -> dict:
        """The códigos de verificación of this RFC's acuses among `folios`, for its owner to share."""
        return solicitudes.codigos(self.db, rfc, folios)

    @timer(interval=60)
    def purgar_limites(self) -> None:
        acuses.purgar_limites(self.db, ahora=self.reloj.ahora())
