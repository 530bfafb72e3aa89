"""The gateway: every route of the public API, each a few lines over an RPC.

Handlers read and check the body at the edge (`respuestas.leer_json`), resolve the session with auth, call
the service that owns the answer and turn any error into the contract's shape (`errores`). Other services
trust the RFC the gateway resolved from the session, never one the client sends.
"""
from __future__ import annotations

import logging

import eventlet
from nameko.events import BROADCAST, event_handler
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from werkzeug.wrappers import Response

from buzon_comun.errores import ErrorBuzon, NoAutenticado, NoEncontrado, ServicioNoDisponible, SolicitudInvalida
from buzon_comun.eventos import SesionCerrada
from buzon_comun.metricas import Metricas
from buzon_comun.remoto import Remoto, bus_disponible
from buzon_comun.servicio import ProveedorConfig
from buzon_comun.textos import es_texto_valido
from buzon_gateway import cuerpos, notificaciones_buzon, notificaciones_web, sesion_web
from buzon_gateway.http import http, quiere_pagina
from buzon_gateway.openapi import documento_openapi
from buzon_gateway.paginas import fecha_hora, respuesta_html
from buzon_gateway.portal import Portal
from buzon_gateway.respuestas import (
    clave_cliente, clave_idempotencia, en_redes, ip_cliente, leer_cuerpo_crudo, leer_json, redes, respuesta_json,
    respuesta_pdf, token_bearer,
)
from buzon_gateway.sesiones import ProveedorSesiones

log = logging.getLogger(__name__)

SERVICIOS = ("auth", "contactos", "notificaciones", "notificaciones_correo", "notificaciones_sms", "activacion",
             "acuses", "acuses_render", "bitacora", "buzon")
# The attribute of each service's proxy where it is not the service's name.
REMOTOS = {"buzon": "servicio_buzon"}
TIPOS_ACUSE_MEDIO = ("registro", "validacion", "baja")
PAGINAS_VALIDACION = {
    "token_invalido": (404, "Enlace no válido",
                       "El enlace de validación no es válido o ya fue utilizado. Si pediste que te lo reenviáramos, "
                       "usa el enlace del correo más reciente; si aún no validas tu correo electrónico, pide otro "
                       "enlace (“Reenviar”) o regístralo de nuevo en tu Buzón IMSS."),
    # No figure of hours: the window is BUZON_VENTANA_VALIDACION_S.
    "validacion_vencida": (410, "El enlace venció",
                           "El plazo para validar tu correo electrónico venció y el medio de contacto fue dado de "
                           "baja por vencimiento. Regístralo de nuevo en tu Buzón IMSS."),
    "ya_validado": (409, "Correo ya validado", "Este correo electrónico ya había sido validado."),
}
MENSAJE_SIN_TOKEN = "Falta el token de sesión. Inicia sesión con tu e.firma."
TIPOS_ACUSE_LEGIBLES = {
    "registro_medio": "Acuse de registro o actualización de mecanismo de comunicación",
    "validacion_medio": "Acuse de validación de mecanismos de comunicación",
    "baja_medio": "Acuse de baja de mecanismo de comunicación",
    "activacion": "Acuse de la solicitud y manifestación de conformidad para el uso del Buzón IMSS",
    "aclaracion": "Acuse de recibo de Aclaraciones u Orientaciones",
    "notificacion": "Acuse de notificación del Buzón IMSS",
}
# acuses answers the codes of at most this many folios per call (a long history of bajas takes several).
FOLIOS_POR_CONSULTA = 100
# A código de verificación is 16 characters; anything far longer is nobody's.
MAXIMO_CODIGO_VERIFICACION = 64


class Gateway(Portal):
    name = "gateway"

    auth = Remoto("auth")
    contactos = Remoto("contactos")
    notificaciones = Remoto("notificaciones")
    activacion = Remoto("activacion")
    acuses = Remoto("acuses")
    acuses_render = Remoto("acuses_render")
    notificaciones_correo = Remoto("notificaciones_correo")
    notificaciones_sms = Remoto("notificaciones_sms")
    bitacora = Remoto("bitacora")
    # Not `buzon`: that is the portal's page of the Buzón (Portal.buzon).
    servicio_buzon = Remoto("buzon")
    metricas = Metricas(servir=False)
    config = ProveedorConfig()
    sesiones = ProveedorSesiones()
    sistemas = notificaciones_buzon.ProveedorSistemas()

    def _cliente(self, request) -> str:
        """Who per-address limits count: the client behind our trusted proxies, an IPv6 one by its /64."""
        return clave_cliente(ip_cliente(request, redes(self.config.proxies_confiables)))

    def _token(self, request) -> str:
        token = token_bearer(request)
        if token is None:
            raise NoAutenticado("no_autenticado", MENSAJE_SIN_TOKEN)
        return token

    # --- Session (e.firma login) ---

    @http("POST", "/api/v1/sesiones/retos")
    def crear_reto(self, request):
        leer_cuerpo_crudo(request)
        return respuesta_json(201, self.auth.crear_reto(self._cliente(request)))

    @http("POST", "/api/v1/sesiones")
    def iniciar_sesion(self, request):
        cuerpo = leer_json(request, cuerpos.SESION)
        return respuesta_json(201, self.auth.iniciar_sesion(cuerpo["certificado"], cuerpo["reto"], cuerpo["firma"]))

    @http("GET", "/api/v1/sesiones/actual")
    def sesion_actual(self, request):
        sesion = self._sesion(self._token(request))
        sesion.pop("expira_en", None)
        return respuesta_json(200, sesion)

    @http("DELETE", "/api/v1/sesiones/actual")
    def cerrar_sesion(self, request):
        self._cerrar(self._token(request))
        return Response(status=204)

    def _sesion(self, token: str) -> dict:
        """The session of a token as auth answers it, through this process's short-lived cache (`sesiones`)."""
        return self.sesiones.obtener(token, self.auth.sesion)

    def _cerrar(self, token: str) -> None:
        try:
            self.auth.cerrar_sesion(token)
        finally:
            # Whatever auth answered (closed now, or already dead), this process stops trusting the token.
            self.sesiones.olvidar(token)

    @event_handler("auth", SesionCerrada.TIPO, handler_type=BROADCAST, reliable_delivery=False)
    def sesion_cerrada(self, mensaje):
        """Every gateway process gets every logout (a queue of its own, gone with the process) and drops it."""
        self.sesiones.al_cerrarse(mensaje)

    def _titular(self, request) -> dict:
        """The session's identity, resolved by auth: the only RFC other services ever act for."""
        return sesion_web.titular_de(self._sesion(self._token(request)))

    # --- Contact means ---

    @http("GET", "/api/v1/medios-contacto")
    def listar_medios(self, request):
        titular = self._titular(request)
        estado = request.args.get("estado")
        if estado not in (None, "todos"):
            raise SolicitudInvalida("solicitud_invalida", "El parámetro «estado» solo admite el valor «todos».")
        medios = self.contactos.listar(titular, estado == "todos")["medios"]
        return respuesta_json(200, {"medios": self._con_codigos(titular, medios)})

    @http("POST", "/api/v1/medios-contacto")
    def registrar_medio(self, request):
        titular = self._titular(request)
        cuerpo = leer_json(request, cuerpos.MEDIO)
        medio = self.contactos.registrar(titular, cuerpo["mecanismo"], cuerpo["valor"],
                                         cuerpo.get("registros_patronales"),
                                         clave_idempotencia=clave_idempotencia(request))
        return respuesta_json(201, self._con_codigos(titular, [medio])[0])

    def _con_codigos(self, titular: dict, medios: list[dict]) -> list[dict]:
        """Each medio with the código de verificación of each of its acuses (null until acuses has it), so that
        its owner can share them; acuses keeps the codes and gives only this RFC's."""
        folios = [folio for medio in medios for folio in (medio.get("acuses") or {}).values() if folio]
        codigos = {}
        for inicio in range(0, len(folios), FOLIOS_POR_CONSULTA):
            codigos.update(self.acuses.codigos(titular["rfc"], folios[inicio:inicio + FOLIOS_POR_CONSULTA])["codigos"])
        return [{**medio, "codigos_verificacion": {tipo: codigos.get(folio) if folio else None
                                                   for tipo, folio in (medio.get("acuses") or {}).items()}}
                for medio in medios]

    @http("POST", "/api/v1/medios-contacto/validaciones")
    def validar_correo(self, request):
        cuerpo = leer_json(request, cuerpos.VALIDACION_CORREO)
        return respuesta_json(200, self.contactos.validar_correo(cuerpo["token"]))

    @http("GET", "/medios-contacto/validar/<token>", errores="pagina")
    def pagina_validar_correo(self, request, token):
        """The page the link in the validation email opens (the guide's "Cerrar" window). Only a GET validates:
        a HEAD (link checkers, previews) gets the page's headers and changes nothing."""
        if request.method == "HEAD":
            return respuesta_html(200, "validacion_correo.html", exito=False, titulo="Validación de correo",
                                  mensaje="Abre el enlace en tu navegador para validar tu correo electrónico.")
        try:
            medio = self.contactos.validar_correo(token)
        except ErrorBuzon as error:
            if error.codigo not in PAGINAS_VALIDACION:
                raise
            estado, titulo, mensaje = PAGINAS_VALIDACION[error.codigo]
            return respuesta_html(estado, "validacion_correo.html", exito=False, titulo=titulo, mensaje=mensaje)
        return respuesta_html(200, "validacion_correo.html", exito=True, titulo="Correo electrónico validado",
                              mensaje="Tu correo electrónico fue validado correctamente. Recibirás un correo "
                                      "que confirma la conclusión de la validación.",
                              valor=medio["valor"])

    @http("POST", "/api/v1/medios-contacto/<medio_id>/validacion")
    def validar_telefono(self, request, medio_id):
        titular = self._titular(request)
        cuerpo = leer_json(request, cuerpos.CODIGO_SMS)
        medio = self.contactos.validar_telefono(titular, medio_id, cuerpo["codigo"])
        return respuesta_json(200, self._con_codigos(titular, [medio])[0])

    @http("POST", "/api/v1/medios-contacto/<medio_id>/reenvio")
    def reenviar_medio(self, request, medio_id):
        """The validation of a pendiente medio sent again: a new link (the window stays) or a new code (its window
        starts again); the old one stops working. Within the destination's limit; idempotent by key."""
        titular = self._titular(request)
        leer_cuerpo_crudo(request)  # nothing to read, but bounded like any body
        medio = self.contactos.reenviar(titular, medio_id, clave_idempotencia=clave_idempotencia(request))
        return respuesta_json(200, self._con_codigos(titular, [medio])[0])

    @http("DELETE", "/api/v1/medios-contacto/<medio_id>")
    def eliminar_medio(self, request, medio_id):
        titular = self._titular(request)
        medio = self.contactos.eliminar(titular, medio_id)
        return respuesta_json(200, self._con_codigos(titular, [medio])[0])

    @http("GET", "/api/v1/medios-contacto/<medio_id>/acuses/<tipo>")
    def acuse_de_medio(self, request, medio_id, tipo):
        titular = self._titular(request)
        if tipo not in TIPOS_ACUSE_MEDIO:
            raise NoEncontrado("no_encontrado", "La dirección solicitada no existe.")
        folio = self.contactos.obtener(titular, medio_id)["acuses"].get(tipo)
        if not folio:
            raise NoEncontrado("no_encontrado", "Ese acuse no existe para este medio de contacto.")
        return respuesta_pdf(self.acuses.pdf(folio, titular["rfc"]), f"acuse-{tipo}-{folio}.pdf")

    @http("GET", "/api/v1/registros-patronales")
    def registros_patronales(self, request):
        return respuesta_json(200, self.contactos.registros_patronales(self._titular(request)))

    # --- Activation and acuses ---

    def _sesion_id(self, request) -> str:
        """An opaque id of the login session for the services that scope things to it (the Solicitud's cadena):
        derived from the token, never the token itself."""
        return sesion_web.sesion_id(self._token(request))

    @http("GET", "/api/v1/activacion")
    def estado_activacion(self, request):
        titular = self._titular(request)
        estado = self.activacion.estado(titular)
        if estado.get("folio"):
            codigos = self.acuses.codigos(titular["rfc"], [estado["folio"]])["codigos"]
            estado["codigo_verificacion"] = codigos.get(estado["folio"])
        return respuesta_json(200, estado)

    @http("GET", "/api/v1/activacion/solicitud")
    def solicitud_activacion(self, request):
        titular = self._titular(request)
        return respuesta_json(200, self.activacion.solicitud(titular, self._sesion_id(request)))

    @http("POST", "/api/v1/activacion")
    def activar(self, request):
        titular = self._titular(request)
        cuerpo = leer_json(request, cuerpos.FIRMA_CADENA)
        return respuesta_json(201, self.activacion.activar(titular, self._sesion_id(request), cuerpo["certificado"],
                                                           cuerpo["firma"],
                                                           clave_idempotencia=clave_idempotencia(request)))

    @http("GET", "/api/v1/activacion/acuse")
    def acuse_activacion(self, request):
        titular = self._titular(request)
        folio = self.activacion.folio_acuse(titular)
        return respuesta_pdf(self.acuses.pdf(folio, titular["rfc"]), f"acuse-activacion-{folio}.pdf")

    # --- Promociones Electrónicas: Aclaraciones u Orientaciones ---

    @http("GET", "/api/v1/aclaraciones")
    def aclaraciones(self, request):
        titular = self._titular(request)
        return respuesta_json(200, self.activacion.aclaraciones(titular))

    @http("POST", "/api/v1/aclaraciones")
    def presentar_aclaracion(self, request):
        titular = self._titular(request)
        cuerpo = leer_json(request, cuerpos.ACLARACION)
        return respuesta_json(201, self.activacion.presentar_aclaracion(
            titular, cuerpo["texto"], clave_idempotencia=clave_idempotencia(request)))

    @http("GET", "/api/v1/aclaraciones/<folio>/acuse")
    def acuse_aclaracion(self, request, folio):
        titular = self._titular(request)
        # Only the folios of the person's own aclaraciones: this route serves no other kind of acuse.
        if not any(a["folio"] == folio for a in self.activacion.aclaraciones(titular)["aclaraciones"]):
            raise NoEncontrado("no_encontrado", "Esa aclaración no existe.")
        return respuesta_pdf(self.acuses.pdf(folio, titular["rfc"]), f"acuse-aclaracion-{folio}.pdf")

    @http("GET", "/api/v1/acuses/<folio>/verificacion", errores="negociado")
    def verificar_acuse(self, request, folio):
        """Public, the QR's target: the acuse only for whoever holds its código de verificación. A person's
        browser gets a page, a program the JSON; a wrong code and an unknown folio look the same."""
        codigo = request.args.get("codigo", "")
        if not es_texto_valido(codigo, MAXIMO_CODIGO_VERIFICACION):
            codigo = ""
        acuse = self.acuses.verificacion(folio, codigo, self._cliente(request))
        if not quiere_pagina(request, solo_fuera_de_api=False):
            return respuesta_json(200, acuse)
        fecha, hora = fecha_hora(acuse["emitido_en"])
        return respuesta_html(200, "verificacion_acuse.html", acuse=acuse,
                              tipo=TIPOS_ACUSE_LEGIBLES.get(acuse["tipo"], acuse["tipo"]), fecha=fecha, hora=hora)

    # --- Buzón: notifications from the Institute ---

    def _sistema(self, request) -> str:
        """The depositing system whose key the request carries (BUZON_SISTEMAS_DEPOSITANTES), else 401."""
        return notificaciones_buzon.sistema_de_solicitud(self.sistemas, request)

    @http("POST", "/api/v1/notificaciones")
    def depositar_notificacion(self, request):
        sistema = self._sistema(request)  # before reading a body of up to 7 MiB
        # Its turn too (BUZON_DEPOSITOS_POR_SEGUNDO, evenly spaced), held here until it comes: a system's deposits
        # reach buzon paced however fast it sends them, and one refused (429) costs no body read or sent.
        eventlet.sleep(self.servicio_buzon.turno_deposito(sistema)["espera_s"])
        cuerpo = leer_json(request, cuerpos.DEPOSITO, notificaciones_buzon.LIMITE_DEPOSITO,
                           notificaciones_buzon.MENSAJE_LIMITE_DEPOSITO)
        return respuesta_json(201, self.servicio_buzon.depositar(sistema, cuerpo))

    @http("GET", "/api/v1/notificaciones/<id_notificacion>")
    def consultar_notificacion(self, request, id_notificacion):
        return respuesta_json(200, self.servicio_buzon.consultar(self._sistema(request), id_notificacion))

    @http("GET", "/api/v1/buzon/notificaciones")
    def mis_notificaciones(self, request):
        return respuesta_json(200, self.servicio_buzon.listar(self._titular(request)["rfc"]))

    @http("GET", "/api/v1/buzon/notificaciones/<id_notificacion>/acuse-recibo")
    def acuse_recibo_notificacion(self, request, id_notificacion):
        return respuesta_json(200, self.servicio_buzon.acuse_recibo(self._titular(request)["rfc"], id_notificacion))

    @http("POST", "/api/v1/buzon/notificaciones/<id_notificacion>/apertura")
    def abrir_notificacion(self, request, id_notificacion):
        """Opens it with the acuse de recibo signed; the answer carries its acuse's código de verificación (buzon
        mints it with the acuse's request, so it is known at once, before acuses has read the request)."""
        rfc = self._titular(request)["rfc"]
        cuerpo = leer_json(request, cuerpos.FIRMA_CADENA)
        return respuesta_json(200, self.servicio_buzon.abrir(rfc, id_notificacion, cuerpo["certificado"],
                                                             cuerpo["firma"]))

    @http("GET", "/api/v1/buzon/notificaciones/<id_notificacion>/documento")
    def documento_notificacion(self, request, id_notificacion):
        contenido = self.servicio_buzon.documento(self._titular(request)["rfc"], id_notificacion)
        return respuesta_pdf(contenido, f"notificacion-{id_notificacion}.pdf")

    @http("GET", "/api/v1/buzon/notificaciones/<id_notificacion>/acuse")
    def acuse_notificacion(self, request, id_notificacion):
        rfc = self._titular(request)["rfc"]
        folio = notificaciones_web.folio_acuse(self.servicio_buzon, rfc, id_notificacion)
        return respuesta_pdf(self.acuses.pdf(folio, rfc), f"acuse-notificacion-{folio}.pdf")

    # --- Operations ---

    @http("GET", "/health")
    def salud(self, request):
        """Every service's `salud` at once, each within its deadline (`*.salud`, 3 s): answers within 5 s
        whatever is down, and names it (a service, its database, or the bus itself)."""
        hilos = {nombre: eventlet.spawn(self._salud_de, nombre) for nombre in SERVICIOS}
        estados = {nombre: hilo.wait() for nombre, hilo in hilos.items()}
        sanos = all(estado == "ok" for estado in estados.values())
        cuerpo = {"estado": "ok" if sanos else "degradado", "servicios": estados}
        if not sanos:
            caidos = [nombre for nombre, estado in estados.items() if estado != "ok"]
            if len(caidos) == len(SERVICIOS) and not bus_disponible(self.config.amqp_uri):
                cuerpo["bus"] = "sin_conexion"
                caidos = ["RabbitMQ"]
            sin_bd = [nombre for nombre in caidos if estados.get(nombre) == "sin_base_de_datos"]
            detalle = f" (sin base de datos: {', '.join(sin_bd)})" if sin_bd else ""
            cuerpo["error"] = {"codigo": "servicio_no_disponible", "mensaje": f"No responde: {', '.join(caidos)}."
                               + detalle}
        return respuesta_json(200 if sanos else 503, cuerpo)

    def _salud_de(self, nombre: str) -> str:
        try:
            getattr(self, REMOTOS.get(nombre, nombre)).salud()
        except ServicioNoDisponible as error:
            return "sin_base_de_datos" if error.extra.get("causa") == "base_de_datos" else "sin_respuesta"
        except Exception as exc:  # noqa: BLE001 - any other failure means the service is not healthy
            log.warning("salud de %s: %s", nombre, exc)
            return "error"
        return "ok"

    @http("GET", "/metrics")
    def metricas_prometheus(self, request):
        # Not for the public: counts of calls and refusals tell an attacker how the system is doing.
        if not en_redes(ip_cliente(request, redes(self.config.proxies_confiables)),
                         redes(self.config.metricas_permitidas)):
            raise NoEncontrado("no_encontrado", "La dirección solicitada no existe.")
        codificador, tipo = choose_encoder(request.headers.get("Accept", ""))
        return Response(codificador(REGISTRY), status=200, content_type=tipo)

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return respuesta_json(200, documento_openapi())

