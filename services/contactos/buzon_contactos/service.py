"""The contactos service: its entrypoints, each a few lines over the rules in `medios` and `padron`."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy.orm import Session

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.errores import SolicitudInvalida
from buzon_comun.eventos import BuzonActivado, MensajeEnviado
from buzon_comun.reloj import Reloj
from buzon_comun.secretos import secreto_codigos
from buzon_comun.consumo import evento
from buzon_comun.servicio import ConEventos, Salida, ServicioBase, rpc
from buzon_comun.tipos import Rfc, ValorInvalido
from buzon_contactos import medios
from buzon_contactos.models import salida as tabla_salida
from buzon_contactos.padron import consultar, importar_csv

log = logging.getLogger(__name__)


class ImportadorPadron(DependencyProvider):
    """Imports BUZON_PADRON_CSV before the service takes calls, so no RP lookup ever sees a half-empty padrón.

    The import is idempotent, so every replica may run it at its start. A missing file is logged, not fatal:
    RFC-level contact means still work, and the log says why RPs are missing.
    """

    def setup(self):
        config = Config.desde_entorno()
        if not config.padron_csv:
            log.info("sin padrón de Registros Patronales que importar (BUZON_PADRON_CSV)")
            return
        engine = crear_engine(config, self.container.service_name, conexiones=1)
        try:
            with Session(engine) as db:
                resultado = importar_csv(db, config.padron_csv, ahora=Reloj().ahora())
            log.info("padrón %s importado: %d registros, %d descartados", config.padron_csv,
                     resultado.importados, resultado.rechazados)
        except FileNotFoundError:
            log.error("no existe el padrón %s (BUZON_PADRON_CSV): no se importó", config.padron_csv)
        except UnicodeDecodeError:
            log.error("el padrón %s no está en UTF-8: no se importó", config.padron_csv)
        finally:
            engine.dispose()


class ProveedorSecreto(DependencyProvider):
    """The key of the SMS codes' stored hash, read once per process (a missing one stops the start)."""

    def setup(self):
        self.secreto = secreto_codigos(Config.desde_entorno())

    def get_dependency(self, worker_ctx) -> bytes:
        return self.secreto


class Servicio(ConEventos, ServicioBase):
    name = "contactos"
    salida = Salida(tabla_salida)
    importador_padron = ImportadorPadron()
    secreto = ProveedorSecreto()

    @rpc
    def listar(self, titular: dict, incluir_bajas: bool = False) -> dict:
        return {"medios": medios.listar(self.db, titular, ahora=self.reloj.ahora(), incluir_bajas=bool(incluir_bajas))}

    @rpc
    def registrar(self, titular: dict, mecanismo: str, valor: str, registros_patronales: list | None = None,
                  clave_idempotencia: str | None = None) -> dict:
        return medios.registrar(self.db, titular, mecanismo, valor, registros_patronales, ahora=self.reloj.ahora(),
                                config=self.config, secreto=self.secreto, clave_idempotencia=clave_idempotencia)

    @rpc
    def validar_correo(self, token: str) -> dict:
        return medios.validar_correo(self.db, token, ahora=self.reloj.ahora())

    @rpc
    def validar_telefono(self, titular: dict, medio_id: str, codigo: str) -> dict:
        return medios.validar_telefono(self.db, titular, medio_id, codigo, ahora=self.reloj.ahora(),
                                       config=self.config, secreto=self.secreto)

    @rpc
    def reenviar(self, titular: dict, medio_id: str, clave_idempotencia: str | None = None) -> dict:
        return medios.reenviar(self.db, titular, medio_id, ahora=self.reloj.ahora(), config=self.config,
                               secreto=self.secreto, clave_idempotencia=clave_idempotencia)

    @rpc
    def eliminar(self, titular: dict, medio_id: str) -> dict:
        return medios.eliminar(self.db, titular, medio_id, ahora=self.reloj.ahora())

    @rpc
    def obtener(self, titular: dict, medio_id: str) -> dict:
        return medios.obtener(self.db, titular, medio_id, ahora=self.reloj.ahora())

    @rpc
    def registros_patronales(self, titular: dict) -> dict:
        return {"registros_patronales": consultar(self.db, medios.rfc_de(titular))}

    @rpc
    def padron(self, rfc: str) -> dict:
        return {"registros_patronales": consultar(self.db, _rfc(rfc))}

    @rpc
    def requisitos(self, rfc: str) -> dict:
        """{"correo_validado", "telefono_validado"}: the RFC-level validated medios the activation needs."""
        return medios.requisitos(self.db, _rfc(rfc))

    @evento("notificaciones", "mensaje_enviado")
    def al_enviar_mensaje(self, _id_evento: str, enviado: MensajeEnviado) -> None:
        medios.registrar_envio(self.db, enviado, ahora=self.reloj.ahora(), ventana_s=self.config.ventana_validacion_s)

    @evento("activacion", "buzon_activado")
    def al_activar_buzon(self, _id_evento: str, activado: BuzonActivado) -> None:
        medios.registrar_activacion(self.db, activado)

    @timer(interval=60)
    def vencer_pendientes(self) -> None:
        medios.vencer_pendientes(self.db, ahora=self.reloj.ahora())

    @timer(interval=300)
    def purgar_limites(self) -> None:
        medios.purgar_limites(self.db, ahora=self.reloj.ahora())

    @timer(interval=600)
    def purgar_idempotencia(self) -> None:
        medios.purgar_idempotencia(self.db, ahora=self.reloj.ahora())


def _rfc(texto: str) -> str:
    try:
        return str(Rfc.parse(texto))
    except ValorInvalido as error:
        raise SolicitudInvalida(error.codigo, error.mensaje) from None
