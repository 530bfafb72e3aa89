"""Sumidero de correo: servidor SMTP de desarrollo que guarda cada mensaje y lo muestra en una página web.

Sustituye al servidor de correo real cuando `BUZON_SMTP_HOST` no está definido. Los mensajes se guardan en
disco (un `.eml` por mensaje y un índice JSON Lines) porque la CLI, la página web y las pruebas los leen desde
otros procesos.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
from datetime import datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from buzon_dev import sumidero
from buzon_dev.sumidero import ZONA_MEXICO, AlmacenJsonl, ServidorWeb, respuesta_error, respuesta_html, respuesta_json

NOMBRE = "correo"
INDICE = "indice.jsonl"
_URL = re.compile(r"https?://[^\s<>\"']+")


def carpeta_predeterminada() -> Path:
    return sumidero.carpeta_predeterminada(NOMBRE)


# --- Almacén en disco -------------------------------------------------------------------------------------------


class AlmacenCorreo(AlmacenJsonl):
    """Carpeta con un `.eml` por mensaje y un índice que solo se extiende (una línea JSON por mensaje)."""

    archivo = INDICE

    def guardar(self, contenido: bytes, de: str, para: list[str]) -> dict:
        self.carpeta.mkdir(parents=True, exist_ok=True)
        ahora = datetime.now(ZONA_MEXICO)
        # Ordenable por nombre y sin caracteres que estorben en una URL.
        id_mensaje = ahora.strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)
        mensaje = email.message_from_bytes(contenido, policy=email.policy.default)
        entrada = {
            "id": id_mensaje,
            "fecha": ahora.isoformat(timespec="seconds"),
            "de": de,
            "para": list(para),
            "asunto": _encabezado(mensaje, "Subject"),
            # The sender's id of the message, the same on each of its retries: what counts one message once.
            "message_id": _encabezado(mensaje, "Message-ID"),
        }
        (self.carpeta / f"{id_mensaje}.eml").write_bytes(contenido)
        # El .eml se escribe antes que su línea: quien lea el índice desde otro proceso siempre lo encuentra.
        self.agregar(entrada)
        return entrada

    def mensajes(self, para: str | None = None) -> list[dict]:
        entradas = self.entradas()
        if para:
            buscado = normalizar_direccion(para)
            entradas = [e for e in entradas if buscado in {normalizar_direccion(d) for d in e["para"]}]
        return [self._completar(e) for e in entradas]

    def mensaje(self, id_mensaje: str) -> dict | None:
        for entrada in self.entradas():
            if entrada["id"] == id_mensaje:
                return self._completar(entrada)
        return None

    def crudo(self, id_mensaje: str) -> bytes | None:
        # Solo ids del índice: el id llega en la URL y no debe poder salir de la carpeta.
        if not any(e["id"] == id_mensaje for e in self.entradas()):
            return None
        return (self.carpeta / f"{id_mensaje}.eml").read_bytes()

    def _completar(self, entrada: dict) -> dict:
        contenido = (self.carpeta / f"{entrada['id']}.eml").read_bytes()
        mensaje = email.message_from_bytes(contenido, policy=email.policy.default)
        return {**entrada, "texto": _parte(mensaje, "plain"), "html": _parte(mensaje, "html")}


def normalizar_direccion(direccion: str) -> str:
    # En una query string sin codificar, el "+" de "ana+buzon@x.mx" llega como espacio; un correo no lleva espacios.
    return direccion.strip().replace(" ", "+").lower()


def _encabezado(mensaje, nombre: str) -> str:
    try:
        return str(mensaje.get(nombre, "") or "")
    except Exception:  # un encabezado mal formado no debe tirar el sumidero
        return str(mensaje.get_all(nombre, [""])[0])


def _parte(mensaje, subtipo: str) -> str | None:
    parte = mensaje.get_body(preferencelist=(subtipo,))
    if parte is None:
        return None
    try:
        contenido = parte.get_content()
    except Exception:
        # Juego de caracteres desconocido o codificación rota: mejor texto aproximado que nada.
        carga = parte.get_payload(decode=True)
        contenido = carga.decode("utf-8", "replace") if carga is not None else None
    # SMTP carries CRLF line ends; a person copying a link from the terminal must not get a stray \r with it.
    return contenido.replace("\r\n", "\n") if contenido is not None else None


# --- SMTP ---------------------------------------------------------------------------------------------------------


class _ManejadorSmtp:
    def __init__(self, almacen: AlmacenCorreo):
        self.almacen = almacen

    async def handle_DATA(self, server, session, envelope):
        self.almacen.guardar(envelope.content, envelope.mail_from, envelope.rcpt_tos)
        return "250 Mensaje recibido"


class _ControladorSmtp(Controller):
    """Controller que admite el puerto 0: aiosmtpd no averigua el puerto que le asignó el sistema."""

    def _create_server(self):
        return self._crear_servidor()

    async def _crear_servidor(self):
        servidor = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=self.port)
        self.port = servidor.sockets[0].getsockname()[1]
        return servidor


# --- Web ----------------------------------------------------------------------------------------------------------

_PLANTILLAS = {
    "base.html": """{% extends "sumidero.html" %}
{%- block titulo %}{% block pagina %}{% endblock %} · Sumidero de correo{% endblock %}
{%- block estilo %}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}
iframe{width:100%;height:32rem;border:1px solid #ccc}{% endblock %}""",
    "lista.html": """{% extends "base.html" %}{% block pagina %}Mensajes{% endblock %}{% block cuerpo %}
<h1>Sumidero de correo</h1>
<p class="nota">Correos recibidos por el servidor SMTP de desarrollo, el más reciente primero.
{% if para %}Solo los enviados a <strong>{{ para }}</strong> (<a href="/">ver todos</a>).{% endif %}</p>
<form method="get"><label>Para: <input name="para" value="{{ para or '' }}"></label> <button>Filtrar</button></form>
{% if mensajes %}
<table><thead><tr><th>Fecha</th><th>Para</th><th>Asunto</th></tr></thead><tbody>
{% for m in mensajes %}<tr><td>{{ m.fecha }}</td><td>{{ m.para | join(", ") }}</td>
<td><a href="/mensajes/{{ m.id }}">{{ m.asunto or "(sin asunto)" }}</a></td></tr>
{% endfor %}</tbody></table>
{% else %}<p>No hay mensajes.</p>{% endif %}
{% endblock %}""",
    "detalle.html": """{% extends "base.html" %}{% block pagina %}{{ m.asunto }}{% endblock %}{% block cuerpo %}
<p><a href="/">← Todos los mensajes</a></p>
<h1>{{ m.asunto or "(sin asunto)" }}</h1>
<table>
<tr><th>Fecha</th><td>{{ m.fecha }}</td></tr>
<tr><th>De</th><td>{{ m.de }}</td></tr>
<tr><th>Para</th><td>{{ m.para | join(", ") }}</td></tr>
<tr><th>Original</th><td><a href="/mensajes/{{ m.id }}/eml">descargar .eml</a></td></tr>
</table>
<h2>Texto</h2>
{% if m.texto is not none %}<pre>{{ m.texto | enlazar }}</pre>{% else %}<p>El mensaje no tiene parte de texto.</p>{% endif %}
{% if m.html is not none %}
<h2>HTML</h2>
<iframe sandbox src="/mensajes/{{ m.id }}/html" title="Parte HTML del mensaje"></iframe>
<details><summary>Código fuente HTML</summary><pre>{{ m.html }}</pre></details>
{% endif %}
{% endblock %}""",
}


def enlazar(texto: str) -> Markup:
    """Escapa el texto y convierte en enlaces las URL que contiene."""
    partes = []
    ultimo = 0
    for encontrado in _URL.finditer(texto):
        url = encontrado.group(0).rstrip(".,;:)")
        partes.append(escape(texto[ultimo : encontrado.start()]))
        partes.append(Markup('<a href="{0}">{0}</a>').format(url))
        ultimo = encontrado.start() + len(url)
    partes.append(escape(texto[ultimo:]))
    return Markup("").join(partes)


_entorno = sumidero.entorno(_PLANTILLAS)
_entorno.filters["enlazar"] = enlazar


class AplicacionWeb(sumidero.AplicacionWsgi):
    def __init__(self, almacen: AlmacenCorreo):
        self.almacen = almacen
        self.rutas = Map(
            [
                Rule("/", endpoint="lista"),
                Rule("/mensajes/<id_mensaje>", endpoint="detalle"),
                Rule("/mensajes/<id_mensaje>/html", endpoint="html"),
                Rule("/mensajes/<id_mensaje>/eml", endpoint="eml"),
                Rule("/api/mensajes", endpoint="api_lista"),
                Rule("/api/mensajes/<id_mensaje>", endpoint="api_detalle"),
            ]
        )

    def lista(self, peticion):
        para = peticion.args.get("para") or None
        pagina = _entorno.get_template("lista.html").render(mensajes=self.almacen.mensajes(para), para=para)
        return respuesta_html(pagina)

    def detalle(self, peticion, id_mensaje):
        return respuesta_html(_entorno.get_template("detalle.html").render(m=self._buscar(id_mensaje)))

    def html(self, peticion, id_mensaje):
        mensaje = self._buscar(id_mensaje)
        if mensaje["html"] is None:
            raise NotFound()
        respuesta = respuesta_html(mensaje["html"])
        # Aunque se abra fuera del iframe, el HTML del mensaje no ejecuta scripts ni comparte el origen.
        respuesta.headers["Content-Security-Policy"] = "sandbox"
        return respuesta

    def eml(self, peticion, id_mensaje):
        crudo = self.almacen.crudo(id_mensaje)
        if crudo is None:
            raise NotFound()
        return Response(
            crudo,
            mimetype="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="{id_mensaje}.eml"'},
        )

    def api_lista(self, peticion):
        return respuesta_json({"mensajes": self.almacen.mensajes(peticion.args.get("para") or None)})

    def api_detalle(self, peticion, id_mensaje):
        mensaje = self.almacen.mensaje(id_mensaje)
        if mensaje is None:
            return respuesta_error(404, "no_encontrado", "No existe ese mensaje.")
        return respuesta_json(mensaje)

    def _buscar(self, id_mensaje):
        mensaje = self.almacen.mensaje(id_mensaje)
        if mensaje is None:
            raise NotFound()
        return mensaje


# --- Sumidero completo --------------------------------------------------------------------------------------------


class SumideroCorreo(sumidero.Sumidero):
    """Servidor SMTP y página web sobre la misma carpeta; el puerto 0 elige uno libre."""

    def __init__(self, carpeta, host: str = "127.0.0.1", puerto_smtp: int = 0, puerto_web: int = 0):
        self.almacen = AlmacenCorreo(carpeta)
        self.host = host
        self.puerto_smtp = puerto_smtp
        self.puerto_web = puerto_web
        self._smtp = None
        self._web = None

    @property
    def url_web(self) -> str:
        return f"http://{self.host}:{self.puerto_web}/"

    def iniciar(self) -> "SumideroCorreo":
        self.almacen.carpeta.mkdir(parents=True, exist_ok=True)
        self._smtp = _ControladorSmtp(_ManejadorSmtp(self.almacen), hostname=self.host, port=self.puerto_smtp)
        self._smtp.start()
        self.puerto_smtp = self._smtp.port
        try:
            self._web = ServidorWeb(self.host, self.puerto_web, AplicacionWeb(self.almacen), "correo-web")
        except BaseException:
            self._smtp.stop()
            raise
        self.puerto_web = self._web.puerto
        return self

    def detener(self) -> None:
        if self._web is not None:
            self._web.detener()
            self._web = None
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None

    def mensajes(self, para: str | None = None) -> list[dict]:
        return self.almacen.mensajes(para)


# --- CLI ----------------------------------------------------------------------------------------------------------


def registrar_cli(subparsers) -> None:
    cli = sumidero.AccionesCli(subparsers, NOMBRE, "sumidero de correo (SMTP de desarrollo)")
    servir = cli.servir("recibe correo por SMTP y lo muestra en una página web", _servir)
    servir.add_argument("--puerto-smtp", type=int, default=8025)
    servir.add_argument("--puerto-web", type=int, default=8103)
    cli.leer("muestra en la terminal los mensajes recibidos", "--para", "solo los mensajes a esta dirección", _leer)


def _servir(args) -> int:
    carpeta = sumidero.carpeta_elegida(args, NOMBRE)
    abierto = SumideroCorreo(carpeta, args.host, args.puerto_smtp, args.puerto_web).iniciar()
    return sumidero.servir_hasta_senal(abierto, f"Sumidero de correo: SMTP en {args.host}:{abierto.puerto_smtp}")


def _leer(args) -> int:
    mensajes = AlmacenCorreo(sumidero.carpeta_elegida(args, NOMBRE)).mensajes(args.para)
    return sumidero.imprimir_mensajes(mensajes, args, _formato_terminal)


def _formato_terminal(mensaje: dict) -> str:
    cuerpo = mensaje["texto"] if mensaje["texto"] is not None else "(sin parte de texto)"
    return (
        f"── {mensaje['fecha']}  {mensaje['id']}\n"
        f"De: {mensaje['de']}\n"
        f"Para: {', '.join(mensaje['para'])}\n"
        f"Asunto: {mensaje['asunto']}\n\n"
        f"{cuerpo.rstrip()}\n"
    )
