"""Lo que comparten los sumideros de desarrollo (correo y SMS): almacén en disco, página web y CLI.

Cada sumidero guarda lo que recibe en una carpeta porque la CLI, la página web y las pruebas lo leen desde otros
procesos; aquí está esa carpeta, el servidor web en su propio hilo y las acciones `servir` y `leer` de la CLI.
Lo propio de cada uno (SMTP y MIME en `correo`, el protocolo de `/sms` en `sms`) se queda en su módulo.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from jinja2 import DictLoader, Environment
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ZONA_MEXICO = ZoneInfo("America/Mexico_City")
# detener() espera como mucho este intervalo a que el servidor web lo note; el 0.5 s de serie alarga las pruebas.
POLL_S = 0.05


def carpeta_predeterminada(nombre: str) -> Path:
    return Path(os.environ.get("BUZON_DATA_DIR", "var")) / nombre


# --- Almacén en disco -------------------------------------------------------------------------------------------


class AlmacenJsonl:
    """Carpeta con un archivo que solo se extiende, una línea JSON por mensaje en el orden de llegada."""

    archivo: str

    def __init__(self, carpeta: str | os.PathLike):
        self.carpeta = Path(carpeta)
        self._candado = threading.Lock()

    def agregar(self, entrada: dict) -> None:
        self.carpeta.mkdir(parents=True, exist_ok=True)
        with self._candado, open(self.carpeta / self.archivo, "a", encoding="utf-8") as archivo:
            archivo.write(json.dumps(entrada, ensure_ascii=False) + "\n")

    def entradas(self) -> list[dict]:
        """Las entradas, la más reciente primero."""
        try:
            lineas = (self.carpeta / self.archivo).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entradas = []
        for linea in lineas:
            try:
                entradas.append(json.loads(linea))
            except ValueError:
                # Una línea a medio escribir por el servidor mientras otro proceso lee.
                continue
        entradas.reverse()
        return entradas


# --- Web ----------------------------------------------------------------------------------------------------------

_BASE_HTML = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{% block titulo %}{% endblock %}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
{% block estilo %}{% endblock %}
.nota{color:#666}
</style></head><body>{% block cuerpo %}{% endblock %}</body></html>"""


def entorno(plantillas: dict[str, str]) -> Environment:
    """Entorno Jinja con las plantillas del sumidero, que pueden extender la común "sumidero.html"."""
    return Environment(loader=DictLoader({"sumidero.html": _BASE_HTML, **plantillas}), autoescape=True)


class AplicacionWsgi:
    """Aplicación WSGI que despacha cada ruta de `rutas` al método del mismo nombre que su endpoint."""

    rutas: Map
    # None deja el cuerpo de las peticiones sin límite, como en werkzeug.
    maximo_cuerpo: int | None = None

    def __call__(self, environ, start_response):
        peticion = Request(environ)
        peticion.max_content_length = self.maximo_cuerpo
        adaptador = self.rutas.bind_to_environ(environ)
        try:
            endpoint, argumentos = adaptador.match()
            respuesta = getattr(self, endpoint)(peticion, **argumentos)
        except HTTPException as error:
            respuesta = self.respuesta_http(error)
        return respuesta(environ, start_response)

    def respuesta_http(self, error: HTTPException):
        return error


def respuesta_html(cuerpo: str) -> Response:
    return Response(cuerpo, mimetype="text/html")


def respuesta_json(datos, estado: int = 200) -> Response:
    return Response(json.dumps(datos, ensure_ascii=False), status=estado, mimetype="application/json")


def respuesta_error(estado: int, codigo: str, mensaje: str) -> Response:
    return respuesta_json({"error": {"codigo": codigo, "mensaje": mensaje}}, estado)


class ServidorWeb:
    """Servidor werkzeug con hilos, atendiendo en un hilo propio para que las pruebas lo arranquen en su proceso."""

    def __init__(self, host: str, puerto: int, aplicacion, nombre_hilo: str):
        self._servidor = make_server(host, puerto, aplicacion, threaded=True)
        self.puerto = self._servidor.server_port
        self._hilo = threading.Thread(
            target=self._servidor.serve_forever, kwargs={"poll_interval": POLL_S}, name=nombre_hilo, daemon=True
        )
        self._hilo.start()

    def detener(self) -> None:
        self._servidor.shutdown()
        self._servidor.server_close()
        self._hilo.join()


class Sumidero:
    """Base de los sumideros: `almacen` sobre su carpeta, e `iniciar`/`detener` también como `with`."""

    almacen: AlmacenJsonl

    @property
    def carpeta(self) -> Path:
        return self.almacen.carpeta

    def __enter__(self):
        return self.iniciar()

    def __exit__(self, *exc):
        self.detener()


# --- CLI ----------------------------------------------------------------------------------------------------------


class AccionesCli:
    """El subcomando `nombre` de buzon-dev, con las acciones `servir` y `leer` que tienen ambos sumideros."""

    def __init__(self, subparsers, nombre: str, ayuda: str):
        self.nombre = nombre
        subcomando = subparsers.add_parser(nombre, help=ayuda)
        self.acciones = subcomando.add_subparsers(dest="accion", required=True, metavar="ACCION")
        self.ayuda_carpeta = f"carpeta de los mensajes (predeterminada: $BUZON_DATA_DIR/{nombre}, o var/{nombre})"

    def servir(self, ayuda: str, func: Callable):
        """La acción `servir` con --carpeta y --host; el sumidero le añade sus puertos y opciones."""
        servir = self.acciones.add_parser("servir", help=ayuda)
        servir.add_argument("--carpeta", help=self.ayuda_carpeta)
        servir.add_argument("--host", default="127.0.0.1")
        servir.set_defaults(func=func)
        return servir

    def leer(self, ayuda: str, filtro: str, ayuda_filtro: str, func: Callable) -> None:
        leer = self.acciones.add_parser("leer", help=ayuda)
        leer.add_argument("--carpeta", help=self.ayuda_carpeta)
        leer.add_argument(filtro, help=ayuda_filtro)
        leer.add_argument("--ultimo", action="store_true", help="solo el más reciente (sale con 1 si no hay)")
        leer.add_argument("--json", action="store_true", help="salida JSON, como GET /api/mensajes")
        leer.set_defaults(func=func)


def carpeta_elegida(args, nombre: str) -> Path:
    return Path(args.carpeta) if args.carpeta else carpeta_predeterminada(nombre)


def servir_hasta_senal(sumidero, presentacion: str) -> int:
    """Anuncia el sumidero ya iniciado y lo detiene al llegar Ctrl-C o SIGTERM."""
    print(presentacion, flush=True)
    print(f"Mensajes en {sumidero.url_web} y en {sumidero.carpeta.resolve()}", flush=True)
    print("Ctrl-C para detener.", flush=True)
    try:
        esperar_senal()
    finally:
        sumidero.detener()
    return 0


def esperar_senal() -> None:
    """Bloquea hasta Ctrl-C o SIGTERM (el que manda `docker stop`)."""
    terminar = threading.Event()
    anterior = signal.signal(signal.SIGTERM, lambda *_: terminar.set())
    try:
        while not terminar.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, anterior)


def imprimir_mensajes(mensajes: list[dict], args, formato: Callable[[dict], str]) -> int:
    """La salida de `leer` para `mensajes` (el más reciente primero); sale con 1 si `--ultimo` no encuentra nada."""
    if args.ultimo:
        mensajes = mensajes[:1]
    if args.json:
        print(json.dumps({"mensajes": mensajes}, ensure_ascii=False, indent=2))
    elif not mensajes:
        print("No hay mensajes.", file=sys.stderr)
    else:
        # En la terminal se lee de arriba abajo: el más reciente al final.
        for mensaje in reversed(mensajes):
            print(formato(mensaje))
    return 1 if args.ultimo and not mensajes else 0
