"""The auth service: e.firma login, sessions, and e.firma verification for other services."""
from __future__ import annotations

import base64
import binascii
import logging

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from buzon_auth import sesiones
from buzon_auth.certificados import AlmacenCA, CertificadoRechazado
from buzon_auth.ocsp import ClienteOcsp
from buzon_auth.verificacion import verificar_efirma
from buzon_comun.config import Config
from buzon_comun.errores import NoAutenticado, Prohibido, ReglaIncumplida, ServicioNoDisponible, SolicitudInvalida
from buzon_comun.reloj import iso_mexico
from buzon_auth.models import salida as tabla_salida
from buzon_comun.servicio import ConEventos, Salida, ServicioBase, rpc

log = logging.getLogger(__name__)

PURGA_CADA_S = 60


class Verificador:
    """The e.firma checks with this process's trusted CAs and OCSP client."""

    def __init__(self, almacen: AlmacenCA, ocsp: ClienteOcsp):
        self.almacen = almacen
        self.ocsp = ocsp

    def verificar(self, certificado_b64: str, datos: bytes, firma_b64: str, ahora, rfc_esperado=None, *,
                  ocsp_fresca: bool = False):
        return verificar_efirma(
            _base64(certificado_b64, "certificado"),
            datos,
            _base64(firma_b64, "firma"),
            ahora=ahora,
            almacen=self.almacen,
            ocsp=self.ocsp,
            rfc_esperado=rfc_esperado,
            ocsp_fresca=ocsp_fresca,
        )


class ProveedorVerificador(DependencyProvider):
    def setup(self):
        config = Config.desde_entorno()
        try:
            almacen = AlmacenCA.desde_carpeta(config.sat_ca_dir)
        except FileNotFoundError:
            log.critical("no existe la carpeta de AC de SAT %s (BUZON_SAT_CA_DIR)", config.sat_ca_dir)
            raise
        if len(almacen) == 0:
            log.error("la carpeta %s no tiene certificados de AC: toda e.firma será no confiable", config.sat_ca_dir)
        self.verificador = Verificador(almacen, ClienteOcsp.desde_config(config))

    def get_dependency(self, worker_ctx) -> Verificador:
        return self.verificador


def _base64(texto: str, campo: str) -> bytes:
    try:
        return base64.b64decode(texto, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise SolicitudInvalida("solicitud_invalida", f"El campo «{campo}» debe venir en base64.") from None


def _identidad_publica(identidad: dict) -> dict:
    return {campo: identidad[campo] for campo in sesiones.CAMPOS_IDENTIDAD}


class Servicio(ConEventos, ServicioBase):
    name = "auth"
    verificador = ProveedorVerificador()
    salida = Salida(tabla_salida)

    @rpc
    def crear_reto(self, cliente: str) -> dict:
        ahora = self.reloj.ahora()
        sesiones.limitar_retos(self.db, cliente, ahora=ahora, por_minuto=self.config.limite_retos_por_minuto)
        reto = sesiones.crear_reto(self.db, ahora=ahora, duracion_s=self.config.reto_duracion_s)
        return {"reto": reto.valor, "expira_en": iso_mexico(reto.expira_en)}

    @rpc
    def iniciar_sesion(self, certificado: str, reto: str, firma: str) -> dict:
        ahora = self.reloj.ahora()
        sesiones.consumir_reto(self.db, reto, ahora=ahora)
        try:
            identidad = self.verificador.verificar(certificado, reto.encode("utf-8"), firma, ahora).identidad.como_dict()
        except CertificadoRechazado as rechazo:
            log.info("inicio de sesión rechazado: %s", rechazo.codigo)
            if rechazo.codigo == "revocacion_no_disponible":
                raise ServicioNoDisponible(rechazo.codigo, rechazo.mensaje) from None
            raise NoAutenticado(rechazo.codigo, rechazo.mensaje) from None
        abierta = sesiones.abrir_sesion(self.db, identidad, ahora=ahora, duracion_s=self.config.sesion_duracion_s)
        log.info("sesión iniciada para %s", identidad["rfc"])
        return {"token": abierta.token, "expira_en": iso_mexico(abierta.expira_en), **_identidad_publica(identidad)}

    @rpc
    def sesion(self, token: str) -> dict:
        identidad = sesiones.sesion_vigente(self.db, token, ahora=self.reloj.ahora())
        return {**_identidad_publica(identidad), "expira_en": iso_mexico(identidad["expira_en"])}

    @rpc
    def cerrar_sesion(self, token: str) -> None:
        sesiones.cerrar_sesion(self.db, token, ahora=self.reloj.ahora())
        # `sesion_cerrada` goes out before the answer (nameko replies before the worker's end, where the outbox is
        # relayed otherwise): once the logout is answered, every gateway process has been told to drop the token.
        self.salida()

    @rpc
    def verificar_efirma(self, certificado: str, texto: str, firma: str, rfc_esperado: str | None = None) -> dict:
        """The login's checks over any signed text, for other services (the activation signs with it).

        Certificate problems here are business refusals (422), not failed logins; a certificate of another RFC
        than `rfc_esperado` is `certificado_ajeno` (403). The answer carries the evidence to keep: the
        responder's signed OCSP answer and the moment of the check.
        """
        ahora = self.reloj.ahora()
        try:
            # A signature here is a legal act (the activation, opening a notification): it rests on SAT's answer
            # at this moment, never on one cached by an earlier login.
            verificacion = self.verificador.verificar(certificado, texto.encode("utf-8"), firma, ahora, rfc_esperado,
                                                      ocsp_fresca=True)
        except CertificadoRechazado as rechazo:
            if rechazo.codigo == "revocacion_no_disponible":
                raise ServicioNoDisponible(rechazo.codigo, rechazo.mensaje) from None
            if rechazo.codigo == "certificado_ajeno":
                raise Prohibido(rechazo.codigo, rechazo.mensaje) from None
            raise ReglaIncumplida(rechazo.codigo, rechazo.mensaje) from None
        return {
            **verificacion.identidad.como_dict(),
            "ocsp": base64.b64encode(verificacion.ocsp_der).decode("ascii"),
            "verificado_en": iso_mexico(ahora),
        }

    # Every minute: challenges live five minutes at most, and between two runs expired rows must not pile up.
    @timer(interval=PURGA_CADA_S)
    def purgar(self) -> None:
        sesiones.purgar(self.db, ahora=self.reloj.ahora())
