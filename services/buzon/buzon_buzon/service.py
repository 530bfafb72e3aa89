"""The buzon service: its entrypoints, each a few lines over the rules in `notificaciones`, `avisos`,
`apertura` and the steps in `flujos`."""
from __future__ import annotations

import base64
import logging
import os

from eventlet import tpool
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from buzon_comun.config import Config
from buzon_comun.consumo import evento
from buzon_comun.errores import ReglaIncumplida
from buzon_comun.eventos import MensajeEnviado, MensajeFallido, NotificacionDepositada
from buzon_comun.reloj import ZONA_MEXICO, Reloj
from buzon_comun.remoto import Remoto
from buzon_comun.servicio import ConEventos, Salida, ServicioBase, rpc
from buzon_buzon import apertura, firma_documento, flujos, habiles, notificaciones
from buzon_buzon.models import salida as tabla_salida

log = logging.getLogger(__name__)


class ProveedorCalendario(DependencyProvider):
    """The calendar of días hábiles, read once per process: a mistake in its variables stops the start."""

    def setup(self):
        self.calendario = habiles.desde_entorno(os.environ)
        siguiente = Reloj().ahora().astimezone(ZONA_MEXICO).year + 1
        if siguiente not in self.calendario.anios:
            log.warning("el calendario de días inhábiles (BUZON_DIAS_INHABILES) no cubre %d: ese año solo contarán "
                        "los fines de semana; agrega sus días inhábiles", siguiente)

    def get_dependency(self, worker_ctx) -> habiles.Calendario:
        return self.calendario


class ConfianzaEnHilos:
    """`firma_documento.Confianza` whose verification (about 12 ms of CPU) runs in eventlet's thread pool, off
    the hub: the other workers (openings, avisos, views) keep answering during a campaign's deposits."""

    def __init__(self, confianza: firma_documento.Confianza):
        self.confianza = confianza

    def verificar(self, pdf: bytes) -> firma_documento.Firmante:
        return tpool.execute(self.confianza.verificar, pdf)


class ProveedorConfianza(DependencyProvider):
    """The CAs of the Institute's documents (BUZON_DOCUMENTOS_CA_DIR), read once per process: a missing folder
    stops the start."""

    def setup(self):
        carpeta = Config.desde_entorno().documentos_ca_dir
        try:
            confianza = firma_documento.Confianza.desde_carpeta(carpeta)
        except FileNotFoundError:
            log.critical("no existe la carpeta de AC de los documentos %s (BUZON_DOCUMENTOS_CA_DIR)", carpeta)
            raise
        # One verification here imports pyHanko and makes its loggers, which are then silenced (firma_documento).
        try:
            confianza.verificar(b"%PDF-1.7\n%%EOF\n")
        except ReglaIncumplida:
            pass
        firma_documento.silenciar_pyhanko()
        self.confianza = ConfianzaEnHilos(confianza)

    def get_dependency(self, worker_ctx) -> ConfianzaEnHilos:
        return self.confianza


class Servicio(ConEventos, ServicioBase):
    name = "buzon"
    salida = Salida(tabla_salida)
    calendario = ProveedorCalendario()
    confianza = ProveedorConfianza()
    activacion = Remoto("activacion")
    contactos = Remoto("contactos")
    auth = Remoto("auth")

    # --- the depositing systems (the gateway resolved `sistema` from its key) ---

    @rpc
    def turno_deposito(self, sistema: str) -> dict:
        return {"espera_s": flujos.turno(self.db, sistema, ahora=self.reloj.ahora(),
                                         limite=self.config.depositos_por_segundo)}

    @rpc
    def depositar(self, sistema: str, cuerpo: dict) -> dict:
        return flujos.depositar(self.db, sistema, cuerpo, confianza=self.confianza, activacion=self.activacion,
                                contactos=self.contactos, ahora=self.reloj.ahora())

    @rpc
    def consultar(self, sistema: str, id_notificacion: str) -> dict:
        self._al_dia(sistema=sistema, id=id_notificacion)
        return notificaciones.consultar(self.db, sistema, id_notificacion, calendario=self.calendario)

    # --- the addressee (the session's RFC) ---

    @rpc
    def listar(self, rfc: str) -> dict:
        self._al_dia(rfc=rfc)
        return notificaciones.listar(self.db, rfc, calendario=self.calendario)

    @rpc
    def pendientes(self, rfc: str) -> int:
        self._al_dia(rfc=rfc)
        return notificaciones.pendientes(self.db, rfc)

    @rpc
    def obtener(self, rfc: str, id_notificacion: str) -> dict:
        self._al_dia(rfc=rfc)
        return notificaciones.obtener(self.db, rfc, id_notificacion, calendario=self.calendario)

    @rpc
    def documento(self, rfc: str, id_notificacion: str) -> str:
        """The PDF in base64 (the bus's JSON carries no bytes)."""
        self._al_dia(rfc=rfc)
        return base64.b64encode(notificaciones.documento(self.db, rfc, id_notificacion)).decode("ascii")

    def _al_dia(self, **filtros) -> None:
        """Deemed first what the view would show as pendiente past its deadline (the timer runs every minute)."""
        flujos.al_dia(self.db, self.calendario, self.reloj.ahora(), **filtros)

    @rpc
    def acuse_recibo(self, rfc: str, id_notificacion: str) -> dict:
        return apertura.acuse_recibo(self.db, rfc, id_notificacion, calendario=self.calendario,
                                     ahora=self.reloj.ahora())

    @rpc
    def abrir(self, rfc: str, id_notificacion: str, certificado: str, firma: str) -> dict:
        return flujos.abrir(self.db, rfc, id_notificacion, certificado, firma, auth=self.auth,
                            calendario=self.calendario, ahora=self.reloj.ahora())

    # --- events ---

    @evento("buzon", NotificacionDepositada.TIPO)
    def al_depositar(self, _id_evento: str, depositada: NotificacionDepositada) -> None:
        flujos.registrar_avisos(self.db, depositada, contactos=self.contactos, ahora=self.reloj.ahora())

    @evento("notificaciones", MensajeEnviado.TIPO)
    def al_enviar_mensaje(self, _id_evento: str, enviado: MensajeEnviado) -> None:
        flujos.mensaje_enviado(self.db, enviado)

    @evento("notificaciones", MensajeFallido.TIPO)
    def al_fallar_mensaje(self, _id_evento: str, fallido: MensajeFallido) -> None:
        flujos.mensaje_fallido(self.db, fallido, ahora=self.reloj.ahora())

    # --- timers ---

    @timer(interval=60)
    def declarar_tacitas(self) -> None:
        flujos.declarar_tacitas(self.db, self.calendario, self.reloj.ahora())
