"""Sumidero de SMS: proveedor HTTP de desarrollo que habla el protocolo de API.md y guarda cada mensaje.

Sustituye al proveedor real cuando `BUZON_SMS_URL` no está definido. Guarda cada petición aceptada, también las
repetidas, para que las pruebas vean si un mensaje llegó dos veces; y puede fallar a voluntad para probar los
reintentos.
"""

from __future__ import annotations

import hmac
import os
import re
import threading
import time
from datetime import datetime
from pathlib import Path

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from buzon_dev import sumidero
from buzon_dev.sumidero import ZONA_MEXICO, AlmacenJsonl, ServidorWeb, respuesta_error, respuesta_html, respuesta_json

NOMBRE = "sms"
ARCHIVO = "mensajes.jsonl"
TELEFONO = re.compile(r"\+52\d{10}")
# Un proveedor real rechaza cuerpos grandes; uno de SMS legítimo cabe de sobra.
MAXIMO_CUERPO = 64 * 1024


def carpeta_predeterminada() -> Path:
    return sumidero.carpeta_predeterminada(NOMBRE)


def solo_digitos(telefono: str) -> str:
    # Compara por dígitos: en una query string sin codificar, el "+" de "+52…" llega como espacio.
    return re.sub(r"\D", "", telefono)


class AlmacenSms(AlmacenJsonl):
    """Una línea JSON por petición aceptada, en el orden de llegada."""

    archivo = ARCHIVO

    def guardar(self, cuerpo: dict) -> dict:
        entrada = {
            "id": cuerpo["id"],
            "fecha": datetime.now(ZONA_MEXICO).isoformat(timespec="seconds"),
            "to": cuerpo["to"],
            "from": cuerpo["from"],
            "text": cuerpo["text"],
        }
        self.agregar(entrada)
        return entrada

    def mensajes(self, to: str | None = None) -> list[dict]:
        """Los mensajes, el más reciente primero."""
        mensajes = self.entradas()
        if to:
            buscado = solo_digitos(to)
            mensajes = [m for m in mensajes if solo_digitos(m["to"]) == buscado]
        return mensajes


class _Fallas:
    """Cuántas de las próximas peticiones fallan (o durante cuántos segundos fallan todas), con qué estado y cuánto
    tardan en contestar."""

    def __init__(self, reloj=time.monotonic):
        self._candado = threading.Lock()
        self.reloj = reloj
        self.pendientes = 0
        self.hasta = 0.0
        self.estado = 503
        self.demora_s = 0.0

    def configurar(self, fallar: int, estado: int = 503, demora_s: float = 0.0, fallar_s: float = 0.0) -> None:
        with self._candado:
            self.pendientes, self.estado, self.demora_s = fallar, estado, demora_s
            self.hasta = self.reloj() + fallar_s

    def tomar(self) -> int | None:
        """El estado con que hay que fallar esta petición, o None si se atiende."""
        with self._candado:
            if self.reloj() < self.hasta:
                return self.estado
            if self.pendientes <= 0:
                return None
            self.pendientes -= 1
            return self.estado

    def como_dict(self) -> dict:
        with self._candado:
            return {"fallar": self.pendientes, "estado": self.estado, "demora_s": self.demora_s,
                    "fallar_s": round(max(self.hasta - self.reloj(), 0.0), 1)}


def validar_envio(cuerpo) -> str | None:
    """El problema del cuerpo de un `POST /sms`, o None si cumple el protocolo."""
    if not isinstance(cuerpo, dict):
        return "El cuerpo debe ser un objeto JSON."
    for campo in ("id", "to", "from", "text"):
        if not isinstance(cuerpo.get(campo), str) or not cuerpo[campo].strip():
            return f"Falta el campo «{campo}» o no es un texto."
    if not TELEFONO.fullmatch(cuerpo["to"]):
        return "«to» debe ser +52 seguido de 10 dígitos."
    return None


_PAGINA = sumidero.entorno(
    {
        "pagina.html": """{% extends "sumidero.html" %}{% block titulo %}Sumidero de SMS{% endblock %}
{%- block estilo %}td.texto{white-space:pre-wrap}{% endblock %}{% block cuerpo %}
<h1>Sumidero de SMS</h1>
<p class="nota">Mensajes recibidos por el proveedor de SMS de desarrollo, el más reciente primero; los reenvíos
del mismo id aparecen cada vez.
{% if to %}Solo los enviados a <strong>{{ to }}</strong> (<a href="/">ver todos</a>).{% endif %}</p>
{% if fallas.fallar %}<p><strong>Fallando:</strong> las próximas {{ fallas.fallar }} peticiones responderán
{{ fallas.estado }}.</p>{% endif %}
<form method="get"><label>Para: <input name="to" value="{{ to or '' }}"></label> <button>Filtrar</button></form>
{% if mensajes %}
<table><thead><tr><th>Fecha</th><th>Para</th><th>Texto</th><th>Id</th></tr></thead><tbody>
{% for m in mensajes %}<tr><td>{{ m.fecha }}</td><td>{{ m.to }}</td><td class="texto">{{ m.text }}</td>
<td>{{ m.id }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p>No hay mensajes.</p>{% endif %}
{% endblock %}"""
    }
).get_template("pagina.html")


class AplicacionSms(sumidero.AplicacionWsgi):
    maximo_cuerpo = MAXIMO_CUERPO

    def __init__(self, almacen: AlmacenSms, fallas: _Fallas, token: str | None = None):
        self.almacen = almacen
        self.fallas = fallas
        self.token = token
        self.rutas = Map(
            [
                Rule("/", endpoint="pagina", methods=["GET"]),
                Rule("/sms", endpoint="recibir", methods=["POST"]),
                Rule("/control", endpoint="control", methods=["GET", "POST"]),
                Rule("/api/mensajes", endpoint="api_mensajes", methods=["GET"]),
            ]
        )

    def respuesta_http(self, error: HTTPException):
        return respuesta_error(error.code, _codigo_http(error.code), error.description or error.name)

    def pagina(self, peticion):
        to = peticion.args.get("to") or None
        html = _PAGINA.render(mensajes=self.almacen.mensajes(to), to=to, fallas=self.fallas.como_dict())
        return respuesta_html(html)

    def recibir(self, peticion):
        estado = self.fallas.tomar()
        if estado is not None:
            # Simula un proveedor caído o lento: no toca la autorización ni el cuerpo, y no guarda nada.
            time.sleep(self.fallas.demora_s)
            return respuesta_error(estado, "falla_simulada", "Falla simulada por el sumidero de SMS.")
        if self.token is not None and not _bearer_valido(peticion, self.token):
            respuesta = respuesta_error(
                401, "no_autenticado", "Falta la cabecera Authorization o el token no es válido."
            )
            respuesta.headers["WWW-Authenticate"] = "Bearer"
            return respuesta
        if peticion.mimetype != "application/json":
            return respuesta_error(415, "tipo_no_admitido", "El cuerpo debe enviarse como application/json.")
        cuerpo = peticion.get_json(silent=True)
        problema = validar_envio(cuerpo)
        if problema is not None:
            return respuesta_error(400, "solicitud_invalida", problema)
        self.almacen.guardar(cuerpo)
        return respuesta_json({"id": cuerpo["id"]}, 202)

    def control(self, peticion):
        if peticion.method == "POST":
            cuerpo = peticion.get_json(silent=True, force=True)
            problema = _validar_control(cuerpo)
            if problema is not None:
                return respuesta_error(400, "solicitud_invalida", problema)
            self.fallas.configurar(cuerpo.get("fallar", 0), cuerpo.get("estado", 503), cuerpo.get("demora_s", 0),
                                   cuerpo.get("fallar_s", 0))
        return respuesta_json(self.fallas.como_dict())

    def api_mensajes(self, peticion):
        return respuesta_json({"mensajes": self.almacen.mensajes(peticion.args.get("to") or None)})


def _validar_control(cuerpo) -> str | None:
    if not isinstance(cuerpo, dict):
        return "El cuerpo debe ser un objeto JSON."
    fallar, estado, demora = cuerpo.get("fallar", 0), cuerpo.get("estado", 503), cuerpo.get("demora_s", 0)
    fallar_s = cuerpo.get("fallar_s", 0)
    if "fallar" not in cuerpo and "fallar_s" not in cuerpo:
        return "Indica «fallar» (cuántas peticiones) o «fallar_s» (durante cuántos segundos)."
    if not _entero(fallar) or fallar < 0:
        return "«fallar» debe ser un entero mayor o igual que 0."
    if isinstance(fallar_s, bool) or not isinstance(fallar_s, (int, float)) or not 0 <= fallar_s <= 3600:
        return "«fallar_s» debe ser un número de segundos entre 0 y 3600."
    if not _entero(estado) or not 400 <= estado <= 599:
        return "«estado» debe ser un código HTTP entre 400 y 599."
    if isinstance(demora, bool) or not isinstance(demora, (int, float)) or not 0 <= demora <= 60:
        return "«demora_s» debe ser un número de segundos entre 0 y 60."
    return None


def _entero(valor) -> bool:
    return isinstance(valor, int) and not isinstance(valor, bool)


def _bearer_valido(peticion, token: str) -> bool:
    esquema, _, valor = peticion.headers.get("Authorization", "").partition(" ")
    return esquema.lower() == "bearer" and hmac.compare_digest(valor.strip().encode(), token.encode())


def _codigo_http(estado: int) -> str:
    return {404: "no_encontrado", 405: "metodo_no_permitido", 413: "solicitud_demasiado_grande"}.get(
        estado, "error_http"
    )


class SumideroSms(sumidero.Sumidero):
    """Proveedor de SMS de desarrollo en su propio hilo; el puerto 0 elige uno libre."""

    def __init__(self, carpeta, host: str = "127.0.0.1", puerto: int = 0, token: str | None = None):
        self.almacen = AlmacenSms(carpeta)
        self.host = host
        self.puerto = puerto
        self.token = token
        self._fallas = _Fallas()
        self._servidor = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.puerto}/sms"

    @property
    def url_web(self) -> str:
        return f"http://{self.host}:{self.puerto}/"

    def iniciar(self) -> "SumideroSms":
        self.almacen.carpeta.mkdir(parents=True, exist_ok=True)
        aplicacion = AplicacionSms(self.almacen, self._fallas, self.token)
        self._servidor = ServidorWeb(self.host, self.puerto, aplicacion, "sms-web")
        self.puerto = self._servidor.puerto
        return self

    def detener(self) -> None:
        if self._servidor is not None:
            self._servidor.detener()
            self._servidor = None

    def mensajes(self, to: str | None = None) -> list[dict]:
        return self.almacen.mensajes(to)

    def fallar(self, n: int, estado: int = 503, demora_s: float = 0.0) -> None:
        """Las próximas `n` peticiones a /sms responden `estado` sin guardarse; `fallar(0)` lo anula."""
        self._fallas.configurar(n, estado, demora_s)


# --- CLI ----------------------------------------------------------------------------------------------------------


def registrar_cli(subparsers) -> None:
    cli = sumidero.AccionesCli(subparsers, NOMBRE, "sumidero de SMS (proveedor HTTP de desarrollo)")
    servir = cli.servir("recibe SMS por HTTP (POST /sms) y los muestra en una página web", _servir)
    servir.add_argument("--puerto", type=int, default=8102)
    servir.add_argument("--token", help="exige Authorization: Bearer TOKEN (predeterminado: $BUZON_SMS_TOKEN)")
    servir.add_argument("--fallar", type=int, default=0, metavar="N", help="las primeras N peticiones fallan")
    servir.add_argument("--estado", type=int, default=503, help="estado HTTP de las fallas (predeterminado: 503)")
    ayuda_to = "solo los enviados a este número (+52 y 10 dígitos)"
    cli.leer("muestra en la terminal los SMS recibidos", "--to", ayuda_to, _leer)


def _servir(args) -> int:
    token = args.token if args.token is not None else os.environ.get("BUZON_SMS_TOKEN") or None
    abierto = SumideroSms(sumidero.carpeta_elegida(args, NOMBRE), args.host, args.puerto, token)
    if args.fallar:
        abierto.fallar(args.fallar, args.estado)
    abierto.iniciar()
    presentacion = f"Sumidero de SMS: POST {abierto.url}" + (" (con token)" if token else "")
    return sumidero.servir_hasta_senal(abierto, presentacion)


def _leer(args) -> int:
    mensajes = AlmacenSms(sumidero.carpeta_elegida(args, NOMBRE)).mensajes(args.to)
    return sumidero.imprimir_mensajes(mensajes, args, _formato_terminal)


def _formato_terminal(m: dict) -> str:
    return f"── {m['fecha']}  {m['id']}\nPara: {m['to']}  De: {m['from']}\n{m['text']}\n"
