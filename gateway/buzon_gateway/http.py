"""The gateway's HTTP server: what holds for every request, whatever route answers it.

nameko's `@http` entrypoints share one `WebServer`; this subclass gives them ours (`http = Ruta.decorator`), so that
in one place, for every route:
- a chunked body is read (Werkzeug reads a body of unknown length as empty unless the server says it ends);
- a path no route has is the contract's `404 no_encontrado`, a method a route doesn't have `405 metodo_no_permitido`
  with `Allow`, and a path value that is not valid text (a NUL, say) or is too long is a 404 before any handler;
- every response carries the security headers (`encabezados_seguridad`);
- the access log names the route's template, never the path itself: paths carry secrets (the email link's token)
  and query strings carry the acuses' códigos de verificación.
"""
from __future__ import annotations

import logging
import time
from functools import partial

from eventlet import wsgi
from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import Counter
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request

from buzon_comun.config import Config
from buzon_comun.errores import ErrorBuzon, ServicioNoDisponible
from buzon_comun.textos import es_texto_valido
from buzon_gateway.errores import MENSAJE_INTERNO, pagina_de_error, respuesta_de_excepcion
from buzon_gateway.paginas import respuesta_html
from buzon_gateway.respuestas import respuesta_error

log = logging.getLogger("buzon_gateway.acceso")

# No identifier of ours (folio, medio id, token, acuse kind) comes near this; a longer path value is nobody's.
MAXIMO_VALOR_RUTA = 200
MENSAJE_NO_EXISTE = "La dirección solicitada no existe."
MENSAJE_DETENIENDO = "El servicio se está reiniciando. Intenta de nuevo en unos segundos."
# Routes whose answers are JSON for programs, whoever asks.
PREFIJOS_JSON = ("/api/", "/health", "/metrics")


def quiere_pagina(request: Request, solo_fuera_de_api: bool = True) -> bool:
    """A person's browser asking for a page (it prefers HTML), outside the API unless the route offers both."""
    if solo_fuera_de_api and request.path.startswith(PREFIJOS_JSON):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def encabezados_seguridad(tipo_contenido: str, https: bool) -> dict[str, str]:
    """What every answer carries: no sniffing of types (a PDF or JSON must never run as a page), no framing of
    pages, and HTTPS remembered once the Institute serves it (only then: it would lock a local run out)."""
    encabezados = {"X-Content-Type-Options": "nosniff"}
    if tipo_contenido.startswith("text/html"):
        encabezados["X-Frame-Options"] = "DENY"
    if https:
        encabezados["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return encabezados


def _no_existe(pagina: bool):
    if not pagina:
        return respuesta_error(404, "no_encontrado", MENSAJE_NO_EXISTE)
    return respuesta_html(404, "portal/error.html", sesion=None, csrf_sesion="", titulo="Página no encontrada",
                          mensaje=MENSAJE_NO_EXISTE, regreso=("/", "Ir al inicio"))


def _permitidos(adapter, metodos) -> list[str]:
    """The methods of the route a path names. Werkzeug offers every rule the path fits: a fixed path such as
    /api/v1/medios-contacto/validaciones also fits /api/v1/medios-contacto/<medio_id>, whose DELETE is no method of
    the former; the template with the fewest variables is the one the path names."""
    reglas = [adapter.match(method=metodo, return_rule=True)[0] for metodo in metodos]
    nombrada = min(reglas, key=lambda regla: len(regla.arguments)).rule
    # One path may be several entrypoints (a GET and a POST): the methods of all of them.
    return sorted({metodo for regla in reglas if regla.rule == nombrada for metodo in regla.methods})


class AppBuzon(WsgiApp):
    def __init__(self, server, https: bool):
        super().__init__(server)
        self.https = https

    def __call__(self, environ, start_response):
        try:
            return self._atender(environ, start_response)
        except Exception:  # noqa: BLE001 - eventlet would answer an empty 500 and log nothing
            log.exception("falla al atender %s", environ.get("REQUEST_METHOD"))
            return respuesta_error(500, "error_interno", MENSAJE_INTERNO)(environ, start_response)

    def _atender(self, environ, start_response):
        inicio = time.perf_counter()
        if self.server.deteniendo:
            # Stopping: a request on a connection kept alive would start a worker the stop then waits for (and
            # kills at the end of its grace). Another gateway, or this one once back, takes it.
            respuesta = respuesta_de_excepcion(ServicioNoDisponible("servicio_no_disponible", MENSAJE_DETENIENDO))
            respuesta.headers["Connection"] = "close"
            return respuesta(environ, start_response)
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # eventlet decodes the chunks and ends the stream at the last one; readers still bound what they take.
            environ["wsgi.input_terminated"] = True
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        plantilla = "(sin ruta)"
        try:
            provider, valores = adapter.match()
            plantilla = provider.url
            if all(es_texto_valido(valor, MAXIMO_VALOR_RUTA) for valor in valores.values()):
                request.path_values = valores
                respuesta = provider.handle_request(request)
            else:
                # A page's route (the email link's) answers a page, as its document says, whoever asks.
                respuesta = _no_existe(pagina=not plantilla.startswith(PREFIJOS_JSON))
        except MethodNotAllowed as exc:
            respuesta = respuesta_error(405, "metodo_no_permitido",
                                        "La dirección existe, pero no admite el método " + request.method + ".")
            respuesta.headers["Allow"] = ", ".join(_permitidos(adapter, exc.valid_methods or ()))
        except NotFound:
            respuesta = _no_existe(pagina=quiere_pagina(request))
        for nombre, valor in encabezados_seguridad(respuesta.content_type or "", self.https).items():
            respuesta.headers.setdefault(nombre, valor)
        log.info("%s %s %s %.1f ms", request.method, plantilla, respuesta.status_code,
                 (time.perf_counter() - inicio) * 1000)
        return respuesta(environ, start_response)


class ServidorWeb(WebServer):
    deteniendo = False

    def unregister_provider(self, provider):
        # The container stops its entrypoints first and waits for its workers before stopping this server: from
        # the first route unregistered on, requests arriving on kept-alive connections are turned away (503),
        # so the workers in flight can finish within the grace instead of being joined by new ones.
        self.deteniendo = True
        super().unregister_provider(provider)

    def make_url_map(self):
        # No redirects to a "cleaner" path (merged or trailing slashes): a path is a route or it doesn't exist.
        url_map = Map(merge_slashes=False, strict_slashes=False)
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self):
        return AppBuzon(self, https=Config.desde_entorno().public_url.lower().startswith("https://"))

    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
        # eventlet's own access log prints the request line, secrets and all: AppBuzon logs instead.
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                           log=logging.getLogger("nameko.web.server"), log_output=False)


RESPUESTAS = Counter("buzon_http_respuestas_total",
                     "The gateway's HTTP answers by status code (the API's and the portal's): the 5xx rate is "
                     "what people meet when something fails.", ["codigo"])


class Ruta(HttpRequestHandler):
    """An entrypoint of the API: a handler raises, and the contract's error answer comes from here, the nameko
    way (a contract error is expected: the metrics count it as `rechazo`, a fault as `error`, never as `ok`).

    `errores` says how a failure is answered: "json" (the API), "pagina" (the portal: an HTML page, and a dead
    session sends the person to log in), "negociado" (HTML to a browser, JSON to a program)."""

    server = ServidorWeb()

    def __init__(self, method, url, errores: str = "json", **kwargs):
        kwargs.setdefault("expected_exceptions", (ErrorBuzon,))
        self.errores = errores
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        respuesta = self._responder(request)
        RESPUESTAS.labels(str(respuesta.status_code)).inc()
        return respuesta

    def _responder(self, request):
        # nameko's, with the request handed to the error answer (a page needs to know whom it answers).
        request.shallow = False
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            evento = Event()
            self.container.spawn_worker(self, args, kwargs,
                                        context_data=self.server.context_data_from_headers(request),
                                        handle_result=partial(self.handle_result, evento))
            return self.response_from_result(evento.wait())
        except Exception as exc:  # noqa: BLE001 - every failure gets the contract's answer
            if self.errores == "pagina" or (self.errores == "negociado" and quiere_pagina(request, solo_fuera_de_api=False)):
                return pagina_de_error(request, exc)
            return respuesta_de_excepcion(exc)


http = Ruta.decorator


def pagina_http(metodo: str, url: str):
    """A page of the portal: its failures are answered as pages."""
    return Ruta.decorator(metodo, url, errores="pagina")
