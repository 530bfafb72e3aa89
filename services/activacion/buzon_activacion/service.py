"""The activacion service: its entrypoints, each a few lines over the rules in `activacion`."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from buzon_comun.config import Config
from buzon_comun.remoto import Remoto
from buzon_comun.servicio import ConEventos, Salida, ServicioBase, rpc
from buzon_activacion import activacion
from buzon_activacion.models import salida as tabla_salida
from buzon_activacion.solicitud import cargar_plantilla

log = logging.getLogger(__name__)


class ProveedorPlantilla(DependencyProvider):
    """The text of the Solicitud y manifestación, compiled once per process.

    A configured file that is missing or is not valid Jinja2 stops the service at its start: better no
    activations than people signing a text the Institute did not approve.
    """

    def setup(self):
        ruta = Config.desde_entorno().solicitud_plantilla
        try:
            self.plantilla = cargar_plantilla(ruta)
        except Exception:
            log.critical("no se pudo cargar la plantilla de la Solicitud y manifestación %s "
                         "(BUZON_SOLICITUD_PLANTILLA)", ruta)
            raise
        if ruta:
            log.info("texto de la Solicitud y manifestación tomado de %s", ruta)

    def get_dependency(self, worker_ctx):
        return self.plantilla


class Servicio(ConEventos, ServicioBase):
    name = "activacion"
    salida = Salida(tabla_salida)
    plantilla = ProveedorPlantilla()
    contactos = Remoto("contactos")
    auth = Remoto("auth")

    @rpc
    def estado(self, titular: dict) -> dict:
        return activacion.estado(self.db, titular, contactos=self.contactos)

    @rpc
    def titular(self, rfc: str) -> dict | None:
        return activacion.titular(self.db, rfc)

    @rpc
    def solicitud(self, titular: dict, sesion_id: str) -> dict:
        return activacion.solicitud(self.db, titular, sesion_id, ahora=self.reloj.ahora(),
                                    contactos=self.contactos, plantilla=self.plantilla)

    @rpc
    def activar(self, titular: dict, sesion_id: str, certificado: str, firma: str,
                clave_idempotencia: str | None = None) -> dict:
        return activacion.activar(self.db, titular, sesion_id, certificado, firma, ahora=self.reloj.ahora(),
                                  contactos=self.contactos, auth=self.auth, clave_idempotencia=clave_idempotencia)

    @rpc
    def folio_acuse(self, titular: dict) -> str:
        return activacion.folio_acuse(self.db, titular)

    @rpc
    def presentar_aclaracion(self, titular: dict, texto: str, clave_idempotencia: str | None = None) -> dict:
        return activacion.presentar_aclaracion(self.db, titular, texto, ahora=self.reloj.ahora(),
                                               limite_por_dia=self.config.limite_aclaraciones_por_dia,
                                               clave_idempotencia=clave_idempotencia)

    @rpc
    def aclaraciones(self, titular: dict) -> dict:
        return activacion.aclaraciones(self.db, titular)

    @timer(interval=600)
    def purgar_idempotencia(self) -> None:
        activacion.purgar_idempotencia(self.db, ahora=self.reloj.ahora())
