"""`make bench`: what an activation costs, measured on the whole system, and each path against its baseline.

The whole guide for N people at concurrency C through the gateway of a system started with `make up` (its own
database and RabbitMQ vhost, the development stand-ins): log in, register an email and a mobile, validate both with
what reached the sinks, sign the Solicitud, download the acuse. It reports activations per minute, errors, p50/p95
of each step, and the CPU each process spent (services, render processes, RabbitMQ, PostgreSQL) until every queue
drained, per activation. Then each path against its baseline, measured in the same run (these machines are shared
and noisy: only ratios of one run mean anything):
- a nameko RPC round trip (through `buzon_comun.remoto`) against a raw kombu request/reply;
- an authenticated gateway route (`GET /api/v1/sesiones/actual`) against a bare nameko `@http` endpoint;
- an acuse from its request to its PDF against a raw WeasyPrint render of the same HTML;
- a cheap RPC of acuses (`salud`) while 20 acuses render against idle;
- 300 emails through one worker against a raw smtplib loop on one connection, and two workers against one.
Last, the Buzón's campaign (buzon_dev.campana, issue 13): N deposits through the API to the people it activated and
a few Patrones, while other people validate their phones, against the same validations at rest (`--campana 0`
leaves it out; `banco campana` runs it alone on a system of its own and rewrites only its section). The bench's
system admits `--limite-depositos` deposits per second per system (BUZON_DEPOSITOS_POR_SEGUNDO, 8 by default here).
It writes docs/rendimiento.md (a table, with the machine and the date). `python -m buzon_dev.banco --help`.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import smtplib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import partial  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from buzon_dev import fallas, procesos  # noqa: E402
from buzon_dev.sistema import Sistema, borrar_vhost, vaciar, vhost_propio  # noqa: E402

RAIZ = Path(__file__).resolve().parents[2]
SERVICIOS = ("gateway", "auth", "contactos", "notificaciones", "notificaciones-correo", "notificaciones-sms",
             "activacion", "acuses", "acuses-render", "bitacora", "buzon")
PASOS = ("ingreso", "registro_correo", "registro_telefono", "validacion_correo", "validacion_telefono",
         "solicitud", "activacion", "acuse")
API_RABBIT = os.environ.get("BUZON_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")


# The renderers as a cluster runs them: one render process each (a pod per core, scaled by replicas). The flow
# runs with one renderer; the scaling comparison adds a second.
PROCESOS_POR_RENDERIZADOR = 1


# --- CPU of the processes ------------------------------------------------------------------------------------

TICS = os.sysconf("SC_CLK_TCK")


def _tiempos(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of its children that ended) in seconds."""
    try:
        campos = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return (int(campos[11]) + int(campos[12])) / TICS, (int(campos[13]) + int(campos[14])) / TICS


def _por_nombre(nombre: str) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and procesos.nombre(int(p.name)) == nombre]


def muestra_cpu(sistema: Sistema) -> dict[str, dict[int, float]]:
    """The CPU seconds each process of each kind has spent so far, by pid (deltas are taken between two samples,
    so a process that started in between counts whole and one restarted keeps what it spent)."""
    muestra: dict[str, dict[int, float]] = {}
    for servicio in SERVICIOS:
        for pid in fallas.procesos(sistema, servicio):
            propio, hijos = _tiempos(pid)
            if servicio != "acuses-render":
                muestra.setdefault(servicio, {})[pid] = propio
                continue
            # One row for the renderers: each one's own process and its render processes (those that ended,
            # replaced or killed, count through their parent).
            muestra.setdefault("render", {})[pid] = propio
            muestra["render"][-pid] = hijos
            for hijo in procesos.hijos(pid):
                if "render" in procesos.nombre(hijo):
                    muestra["render"][hijo] = _tiempos(hijo)[0]
    muestra["rabbitmq"] = {pid: _tiempos(pid)[0] for pid in _por_nombre("beam.smp")}
    postgres = _por_nombre("postgres")
    # Backends that ended count through the postmaster (the oldest postgres process).
    maestro = min(postgres) if postgres else None
    muestra["postgresql"] = {pid: sum(_tiempos(pid)) if pid == maestro else _tiempos(pid)[0] for pid in postgres}
    return muestra


def diferencia(antes: dict, despues: dict) -> dict[str, float]:
    return {tipo: sum(s - antes.get(tipo, {}).get(pid, 0.0) for pid, s in pids.items())
            for tipo, pids in despues.items()}


# --- the guide, for one person ---------------------------------------------------------------------------------

@dataclass
class Medidas:
    tiempos: dict = field(default_factory=lambda: {paso: [] for paso in PASOS})
    errores: Counter = field(default_factory=Counter)
    activaciones: int = 0


def _medir(medidas: Medidas, paso: str, funcion):
    inicio = time.monotonic()
    respuesta = funcion()
    medidas.tiempos[paso].append(time.monotonic() - inicio)
    if respuesta is None or respuesta.status_code >= 400:
        medidas.errores[f"{paso}: {respuesta.status_code if respuesta is not None else 'sin respuesta'}"] += 1
    return respuesta


def _hasta(condicion, plazo_s: float = 120, paso_s: float = 0.5):
    limite = time.monotonic() + plazo_s
    while time.monotonic() < limite:
        resultado = condicion()
        if resultado:
            return resultado
        eventlet.sleep(paso_s)
    return None


def flujo(sistema: Sistema, persona: fallas.Persona, llave, medidas: Medidas) -> None:
    """The guide for one person, each step timed, the way a person's browser (one kept-alive connection) does it."""
    s = requests.Session()
    s.headers["X-Forwarded-For"] = persona.ip
    api = sistema.api
    reto = _medir(medidas, "ingreso", lambda: s.post(f"{api}/sesiones/retos", timeout=60))
    if reto is None or reto.status_code != 201:
        return
    sesion = _medir(medidas, "ingreso", lambda: s.post(f"{api}/sesiones", timeout=60, json={
        "certificado": base64.b64encode(persona.emitido.cer_der).decode("ascii"), "reto": reto.json()["reto"],
        "firma": fallas._firmar(llave, reto.json()["reto"])}))
    if sesion is None or sesion.status_code != 201:
        return
    persona.token = sesion.json()["token"]
    s.headers["Authorization"] = f"Bearer {persona.token}"
    medios = {}
    for mecanismo, valor in (("correo", persona.correo), ("telefono", persona.telefono)):
        registrado = _medir(medidas, f"registro_{mecanismo}", lambda: s.post(
            f"{api}/medios-contacto", timeout=60, json={"mecanismo": mecanismo, "valor": valor}))
        if registrado is None or registrado.status_code != 201:
            return
        medios[mecanismo] = registrado.json()
    web = f"http://127.0.0.1:{sistema.puertos['correo_web']}/api/mensajes"
    enlace = _hasta(lambda: next((e for c in requests.get(web, params={"para": persona.correo}, timeout=30).json()[
        "mensajes"] for e in re.findall(re.escape(sistema.url) + r"[^\s<>\"']+", c.get("texto") or "")), None))
    sms = f"http://127.0.0.1:{sistema.puertos['sms']}/api/mensajes"
    codigo = _hasta(lambda: next((c for m in requests.get(sms, params={"to": "+52" + persona.telefono}, timeout=30)
                                  .json()["mensajes"] for c in fallas.CODIGO.findall(m["text"])), None))
    if not enlace or not codigo:
        medidas.errores["mensaje de validación sin llegar"] += 1
        return
    _medir(medidas, "validacion_correo", lambda: s.get(enlace, timeout=60))
    _medir(medidas, "validacion_telefono", lambda: s.post(
        f"{api}/medios-contacto/{medios['telefono']['id']}/validacion", timeout=60, json={"codigo": codigo}))
    solicitud = _medir(medidas, "solicitud", lambda: s.get(f"{api}/activacion/solicitud", timeout=60))
    if solicitud is None or solicitud.status_code != 200:
        return
    activada = _medir(medidas, "activacion", lambda: s.post(f"{api}/activacion", timeout=60, json={
        "certificado": base64.b64encode(persona.emitido.cer_der).decode("ascii"),
        "firma": fallas._firmar(llave, solicitud.json()["cadena_original"])}))
    if activada is None or activada.status_code != 201:
        return
    persona.activada = True
    persona.medios = medios
    inicio = time.monotonic()
    pdf = _hasta(lambda: (r := s.get(f"{api}/activacion/acuse", timeout=60)).status_code == 200 and r)
    medidas.tiempos["acuse"].append(time.monotonic() - inicio)
    if not pdf:
        medidas.errores["acuse: sin llegar"] += 1
        return
    medidas.activaciones += 1


def colas(vhost: str) -> dict[str, int]:
    respuesta = requests.get(f"{API_RABBIT}/queues/{requests.utils.quote(vhost, safe='')}", timeout=10)
    return {c["name"]: c.get("messages", 0) for c in respuesta.json()}


def ritmo_en_reposo(sistema: Sistema, segundos: float = 5) -> float:
    """CPU seconds per second the whole system spends doing nothing (its timers, the broker's own upkeep)."""
    antes = muestra_cpu(sistema)
    eventlet.sleep(segundos)
    return sum(diferencia(antes, muestra_cpu(sistema)).values()) / segundos


def esperar_drenado(sistema: Sistema, vhost: str, reposo: float, plazo_s: float = 600) -> float:
    """Until no queue holds work and the system's CPU is back to its resting pace for 3 s in a row (what is still
    working without a message in a queue, such as an acuse's render, shows as CPU). Seconds waited."""
    inicio = time.monotonic()
    pendientes: dict = {}
    tranquilos = 0
    anterior = muestra_cpu(sistema)
    while time.monotonic() - inicio < plazo_s:
        eventlet.sleep(1)
        actual = muestra_cpu(sistema)
        gasto = sum(diferencia(anterior, actual).values())
        anterior = actual
        pendientes = {n: m for n, m in colas(vhost).items() if m}
        tranquilos = tranquilos + 1 if not pendientes and gasto <= reposo * 2 + 0.05 else 0
        if tranquilos >= 3:
            return time.monotonic() - inicio
    print(f"banco: sin drenar tras {plazo_s:.0f} s: {pendientes}", file=sys.stderr, flush=True)
    return time.monotonic() - inicio


def comprobar(sistema: Sistema, gente: list[fallas.Persona], medidas: Medidas) -> None:
    """After the measurement: every message reached its sink exactly once and every acuse is there (downloading
    them all costs CPU that the run does not count)."""
    buzones, _ = fallas.esperar_entregas(sistema, gente, plazo_s=60)
    cuenta = fallas.contar(gente, buzones)
    if cuenta.perdidos:
        medidas.errores["mensajes sin llegar"] += len(cuenta.perdidos)
    if cuenta.duplicados:
        medidas.errores["mensajes repetidos"] += len(cuenta.duplicados)
    esperados, guardados = fallas.esperar_acuses(sistema, gente, plazo_s=120)
    if guardados < esperados:
        medidas.errores["acuses sin guardar"] += esperados - guardados


def percentil(valores: list[float], p: float) -> float:
    if not valores:
        return float("nan")
    ordenados = sorted(valores)
    return ordenados[min(len(ordenados) - 1, int(round(p / 100 * (len(ordenados) - 1))))]


# --- the baselines ---------------------------------------------------------------------------------------------

def correr_eco(amqp: str, puerto: int) -> None:
    """A process with the baselines' servers: a nameko service with an RPC that echoes (our entrypoint), a bare
    nameko `@http` endpoint, and a raw kombu consumer that answers request/reply by hand."""
    from kombu import Connection, Producer, Queue
    from nameko.runners import ServiceRunner
    from nameko.web.handlers import http

    from buzon_comun.servicio import rpc

    class Eco:
        name = "banco_eco"

        @rpc
        def eco(self, valor):
            return valor

        @http("GET", "/eco")
        def eco_http(self, request):
            return 200, "ok"

    def crudo():
        with Connection(amqp) as conexion:
            canal = conexion.channel()
            productor = Producer(canal)

            def responder(cuerpo, mensaje):
                productor.publish(cuerpo, routing_key=mensaje.properties["reply_to"],
                                  correlation_id=mensaje.properties["correlation_id"], serializer="json",
                                  delivery_mode=1)
                mensaje.ack()

            with conexion.Consumer(Queue("banco.crudo", durable=False, auto_delete=True), callbacks=[responder],
                                   accept=["json"]):
                while True:
                    conexion.drain_events()

    runner = ServiceRunner({"AMQP_URI": amqp, "max_workers": 10, "serializer": "json",
                            "WEB_SERVER_ADDRESS": f"127.0.0.1:{puerto}"})
    runner.add_service(Eco)
    runner.start()
    eventlet.spawn(crudo)
    runner.wait()


class Eco:
    """The baselines' process, started and stopped around the measurements."""

    def __init__(self, amqp: str):
        from buzon_dev.sistema import puerto_libre

        self.amqp = amqp
        self.puerto = puerto_libre()
        self.proceso = subprocess.Popen([sys.executable, "-m", "buzon_dev.banco", "eco", "--amqp", amqp,
                                         "--puerto", str(self.puerto)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _hasta(lambda: requests.get(f"http://127.0.0.1:{self.puerto}/eco", timeout=2).status_code == 200
               if self._escucha() else False, plazo_s=60)

    def _escucha(self) -> bool:
        import socket

        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.puerto)) == 0

    def detener(self) -> None:
        self.proceso.terminate()
        try:
            self.proceso.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proceso.kill()


def kombu_crudo(amqp: str, n: int) -> list[float]:
    """n request/reply round trips by hand: publish with reply_to, wait for the answer on an exclusive queue."""
    from kombu import Connection, Producer, Queue

    tiempos = []
    with Connection(amqp) as conexion:
        canal = conexion.channel()
        respuestas = Queue(f"banco.respuestas.{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
        recibido = {}

        def al_recibir(cuerpo, mensaje):
            recibido[mensaje.properties["correlation_id"]] = cuerpo
            mensaje.ack()

        with conexion.Consumer(respuestas, callbacks=[al_recibir], accept=["json"]):
            productor = Producer(canal)
            for i in range(n):
                correlacion = str(uuid.uuid4())
                inicio = time.monotonic()
                productor.publish({"valor": i}, routing_key="banco.crudo", reply_to=respuestas.name,
                                  correlation_id=correlacion, serializer="json", delivery_mode=1)
                while correlacion not in recibido:
                    conexion.drain_events(timeout=10)
                tiempos.append(time.monotonic() - inicio)
    return tiempos


def rpc_nameko(amqp: str, destino: str, metodo: str, args: list, n: int) -> list[float]:
    """n calls through `buzon_comun.remoto.Remoto`, from a worker of a nameko service, as services call."""
    from nameko.runners import ServiceRunner
    from nameko.standalone.rpc import ClusterRpcProxy

    from buzon_comun.remoto import Remoto
    from buzon_comun.servicio import rpc

    remoto = Remoto(destino)

    class Medidor:
        name = f"banco_medidor_{uuid.uuid4().hex[:8]}"
        objetivo = remoto

        @rpc
        def medir(self, metodo, args, n):
            tiempos = []
            for _ in range(n):
                inicio = time.monotonic()
                getattr(self.objetivo, metodo)(*args)
                tiempos.append(time.monotonic() - inicio)
            return tiempos

    config = {"AMQP_URI": amqp, "max_workers": 10, "serializer": "json"}
    runner = ServiceRunner(config)
    runner.add_service(Medidor)
    runner.start()
    try:
        with ClusterRpcProxy(config, timeout=300) as proxy:
            return getattr(proxy, Medidor.name).medir(metodo, args, n)
    finally:
        runner.stop()


def peticiones_por_segundo(url: str, cabeceras: dict, segundos: float, concurrencia: int) -> float:
    """Requests per second `concurrencia` kept-alive clients get from `url` over `segundos`."""
    import http.client
    from urllib.parse import urlsplit

    partes = urlsplit(url)
    cuenta = [0]
    fin = time.monotonic() + segundos

    def cliente():
        conexion = http.client.HTTPConnection(partes.netloc, timeout=30)
        while time.monotonic() < fin:
            conexion.request("GET", partes.path, headers=cabeceras)
            respuesta = conexion.getresponse()
            respuesta.read()
            if respuesta.status == 200:
                cuenta[0] += 1
        conexion.close()

    hilos = [eventlet.spawn(cliente) for _ in range(concurrencia)]
    for hilo in hilos:
        hilo.wait()
    return cuenta[0] / segundos


def render_crudo(html: str, n: int, opciones: dict | None = None) -> list[float]:
    """n WeasyPrint renders of `html` (with the template version's `opciones` of write_pdf, e.g. PDF/UA) in a warmed
    process of their own (as the acuses' renderers run)."""
    programa = ("import sys, time, json, weasyprint\n"
                "html = sys.stdin.read()\n"
                f"opciones = json.loads({json.dumps(json.dumps(opciones or {}))})\n"
                "weasyprint.HTML(string=html).write_pdf(**opciones)\n"
                "t = []\n"
                f"for _ in range({n}):\n"
                "    i = time.monotonic(); weasyprint.HTML(string=html).write_pdf(**opciones)\n"
                "    t.append(time.monotonic() - i)\n"
                "print(json.dumps(t))\n")
    salida = subprocess.run([sys.executable, "-c", programa], input=html, capture_output=True, text=True,
                            timeout=600, check=True)
    return json.loads(salida.stdout)


def opciones_vigentes() -> dict:
    """The write_pdf options of the template version new acuses are issued with."""
    from buzon_acuses import documento

    return dict(documento.PLANTILLAS[documento.PLANTILLA_VIGENTE].opciones_pdf)


def solicitud_de_banco(folio: str) -> dict:
    """An activation's acuse request as `activacion` sends it (a Particular with an email and a mobile)."""
    return {"folio": folio, "tipo": "activacion", "rfc": "BANC800101AB1", "emitido_en": "2026-11-29T12:00:00-06:00",
            "titular": {"rfc": "BANC800101AB1", "nombre": "PERSONA DE BANCO DE PRUEBAS", "curp": "BANC800101HDFRST01",
                        "tipo_persona": "fisica", "rfc_representante": None},
            "datos": {"tipo_usuario": "particular", "registros_patronales": [],
                      "medios": [{"mecanismo": "correo", "valor": "banco@example.mx"},
                                 {"mecanismo": "telefono", "valor": "+525512345678"}],
                      "texto": "Solicitud y manifestación de conformidad para el uso del Buzón IMSS. " * 8,
                      "cadena_original": f"||1.0|activacion|{folio}|BANC800101AB1||", "firma": "A" * 344,
                      "numero_certificado": "30001000000500003416"}}


def html_de_un_acuse(public_url: str) -> str:
    """The HTML the acuses service renders for `solicitud_de_banco`, built by its own code."""
    import tempfile

    from buzon_acuses import documento
    from buzon_acuses.cadena import cadena_original
    from buzon_acuses.sello import desarrollo

    solicitud = solicitud_de_banco("ACT-2026-99000000")
    sello = desarrollo(Path(tempfile.mkdtemp()))
    cadena = cadena_original(solicitud)
    return documento.html(solicitud, cadena=cadena, sello=sello.sellar(cadena), public_url=public_url,
                          codigo="ABCDEFGHIJKLMNOP")


class Bus:
    """Events and RPC calls from outside the services, as a script of an operator would make them."""

    def __init__(self, amqp: str):
        from nameko.standalone.events import event_dispatcher

        self.config = {"AMQP_URI": amqp, "serializer": "json"}
        self.despachar = event_dispatcher(self.config)

    def evento(self, origen: str, evento) -> None:
        from datetime import datetime, timezone

        from buzon_comun.eventos import mensaje

        self.despachar(origen, evento.TIPO, mensaje(evento, ahora=datetime.now(timezone.utc)))

    def llamar(self, servicio: str, metodo: str, *args, plazo_s: float = 60):
        from nameko.standalone.rpc import ClusterRpcProxy

        with ClusterRpcProxy(self.config, timeout=plazo_s) as proxy:
            return getattr(getattr(proxy, servicio), metodo)(*args)


def pedir_acuses(bus: Bus, folios: list[str]) -> None:
    from buzon_comun.eventos import AcuseSolicitado

    for folio in folios:
        bus.evento("activacion", AcuseSolicitado(**solicitud_de_banco(folio)))


def descargar(amqp: str, folio: str, rfc: str = "BANC800101AB1", plazo_s: float = 120) -> float:
    """Seconds until the PDF of `folio` is in hand, asking the way the gateway does (`acuses.pdf`) every 10 ms."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from buzon_comun.errores import NoEncontrado, ServicioNoDisponible

    inicio = time.monotonic()
    with ClusterRpcProxy({"AMQP_URI": amqp, "serializer": "json"}, timeout=plazo_s) as proxy:
        while time.monotonic() - inicio < plazo_s:
            try:
                proxy.acuses.pdf(folio, rfc)
                return time.monotonic() - inicio
            except (NoEncontrado, ServicioNoDisponible):
                eventlet.sleep(0.01)
    raise AssertionError(f"el acuse {folio} no llegó en {plazo_s} s")


def acuses_contra_render(sistema: Sistema, n: int) -> tuple[list[float], list[float]]:
    """(seconds from each request to its PDF in hand, one at a time; raw WeasyPrint renders of the same HTML)."""
    amqp = sistema.entorno["BUZON_AMQP_URI"]
    bus = Bus(amqp)
    tiempos = []
    for i in range(n):
        folio = f"ACT-2026-91{i:06d}"
        inicio = time.monotonic()
        pedir_acuses(bus, [folio])
        descargar(amqp, folio)
        tiempos.append(time.monotonic() - inicio)
    return tiempos, render_crudo(html_de_un_acuse(sistema.url), n, opciones_vigentes())


def salud_de_acuses(amqp: str, mientras=None, n: int = 200) -> list[float]:
    """Round trips of `acuses.salud` (a cheap RPC), one after another: n of them, or while `mientras` runs."""
    from nameko.standalone.rpc import ClusterRpcProxy

    tiempos = []
    with ClusterRpcProxy({"AMQP_URI": amqp, "serializer": "json"}, timeout=60) as proxy:
        hilo = eventlet.spawn(mientras) if mientras else None
        while (len(tiempos) < n) if hilo is None else not hilo.dead:
            inicio = time.monotonic()
            proxy.acuses.salud()
            tiempos.append(time.monotonic() - inicio)
            eventlet.sleep(0.005)
        if hilo is not None:
            hilo.wait()
    return tiempos


def emitidos(engine, folios: list[str]) -> int:
    """How many of `folios` acuses has issued (its own table, read as an operator would: no call renders them)."""
    from sqlalchemy import text

    with engine.connect() as conexion:
        return conexion.execute(text("SELECT count(*) FROM acuses.acuses WHERE folio = ANY(:folios)"),
                                {"folios": folios}).scalar_one()


def salud_durante_renders(sistema: Sistema, renders: int, rafagas: int = 3) -> tuple[list[float], list[float]]:
    """(`acuses.salud` idle; the same while `renders` acuses render at once, on their first downloads).

    Each burst's acuses are asked for and issued first (their seal and code, milliseconds each in acuses' loop),
    and the figure is taken while all of them are downloaded at once, by a process of their own as clients are:
    the renders the goal speaks of. `rafagas` bursts, so that the p99 rests on a few hundred calls."""
    from sqlalchemy import create_engine

    from buzon_comun.db import normalizar_url

    amqp = sistema.entorno["BUZON_AMQP_URI"]
    reposo = salud_de_acuses(amqp, n=300)
    durante: list[float] = []
    engine = create_engine(normalizar_url(sistema.entorno["BUZON_DATABASE_URL"]))
    try:
        for rafaga in range(rafagas):
            folios = [f"ACT-2026-9{2 + rafaga}{i:06d}" for i in range(renders)]
            pedir_acuses(Bus(amqp), folios)
            if not _hasta(lambda: emitidos(engine, folios) == renders, plazo_s=120, paso_s=0.2):
                raise AssertionError(f"acuses no emitió los {renders} acuses pedidos")
            durante += salud_de_acuses(amqp, mientras=partial(descargar_rafaga, amqp, folios))
    finally:
        engine.dispose()
    return reposo, durante


def renders_por_segundo(sistema: Sistema, n: int, serie: int) -> float:
    """First downloads per second of `n` acuses asked for and issued beforehand, all downloaded at once (from a
    process of their own): what the renderers give, the rest of the way being the same for every acuse."""
    from sqlalchemy import create_engine

    from buzon_comun.db import normalizar_url

    amqp = sistema.entorno["BUZON_AMQP_URI"]
    folios = [f"ACT-2026-{serie}{i:06d}" for i in range(n)]
    engine = create_engine(normalizar_url(sistema.entorno["BUZON_DATABASE_URL"]))
    try:
        pedir_acuses(Bus(amqp), folios)
        if not _hasta(lambda: emitidos(engine, folios) == n, plazo_s=120, paso_s=0.2):
            raise AssertionError(f"acuses no emitió los {n} acuses pedidos")
    finally:
        engine.dispose()
    inicio = time.monotonic()
    descargar_rafaga(amqp, folios)
    return n / (time.monotonic() - inicio)


def descargar_rafaga(amqp: str, folios: list[str]) -> None:
    """The `descargas` subcommand, in a process of its own, until every acuse of `folios` is in hand."""
    proceso = subprocess.Popen([sys.executable, "-m", "buzon_dev.banco", "descargas", "--amqp", amqp, *folios])
    while proceso.poll() is None:
        eventlet.sleep(0.01)
    if proceso.returncode != 0:
        raise AssertionError("no se descargaron los acuses de la ráfaga")


def descargar_todos(amqp: str, folios: list[str]) -> None:
    """Every acuse of `folios` downloaded at once (the `descargas` subcommand, a process of its own)."""
    hilos = [eventlet.spawn(descargar, amqp, folio) for folio in folios]
    for hilo in hilos:
        hilo.wait()


def smtplib_crudo(puerto: int, n: int, prefijo: str) -> float:
    """Seconds to hand n messages to the mail server over one connection."""
    inicio = time.monotonic()
    with smtplib.SMTP("127.0.0.1", puerto, timeout=30) as smtp:
        for i in range(n):
            mensaje = EmailMessage()
            mensaje["From"], mensaje["To"] = "banco@buzon.example", f"{prefijo}.{i}@banco.example.mx"
            mensaje["Subject"], mensaje["Message-ID"] = "Banco", f"<{prefijo}.{i}@banco>"
            # About the size of a validation email of the system (a text part and an HTML part).
            mensaje.set_content("Buzón IMSS: valida tu correo electrónico en https://buzon.example/x\n" + "x" * 700)
            mensaje.add_alternative("<html><body><p>Buzón IMSS</p>" + "<p>" + "x" * 1500 + "</p></body></html>",
                                    subtype="html")
            smtp.send_message(mensaje)
    return time.monotonic() - inicio


def mensajes_en_el_sumidero(sistema: Sistema) -> int:
    """Messages the mail sink has taken: the lines of its index (cheaper than its web page, read every 20 ms)."""
    from buzon_dev.correo import INDICE

    try:
        with open(sistema.datos / "correo" / INDICE, "rb") as indice:
            return sum(1 for _ in indice)
    except FileNotFoundError:
        return 0


def correos_por_el_sistema(sistema: Sistema, n: int, prefijo: str) -> float:
    """Seconds until n validation emails asked on the bus (as contactos asks) reached the mail sink."""
    from buzon_comun.eventos import CorreoSolicitado

    from datetime import datetime, timedelta, timezone

    from buzon_comun.reloj import iso_mexico

    bus = Bus(sistema.entorno["BUZON_AMQP_URI"])
    vence = iso_mexico(datetime.now(timezone.utc) + timedelta(hours=72))
    ya = mensajes_en_el_sumidero(sistema)
    inicio = time.monotonic()
    for i in range(n):
        bus.evento("contactos", CorreoSolicitado(
            id_mensaje=str(uuid.uuid4()), para=f"{prefijo}.{i}@banco.example.mx", plantilla="validacion_correo",
            datos={"enlace": f"{sistema.url}/medios-contacto/validar/{uuid.uuid4().hex}", "vence_en": vence,
                   "nombre": "PERSONA DE BANCO"}, referencia=f"banco-{prefijo}-{i}"))
    if not _hasta(lambda: mensajes_en_el_sumidero(sistema) >= ya + n, plazo_s=600, paso_s=0.02):
        raise AssertionError(f"no llegaron los {n} correos de {prefijo}")
    return time.monotonic() - inicio


def tiempos_de_la_maquina() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU of the machine, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        campos = [float(v) for v in stat.readline().split()[1:]]
    inactivo = campos[3] + campos[4]  # idle + iowait
    return sum(campos) - inactivo, sum(campos)


def nucleos_ocupados(antes: tuple[float, float], despues: tuple[float, float]) -> float:
    """How many of the machine's cores were busy, on average, between two readings of `tiempos_de_la_maquina`."""
    ocupado, total = despues[0] - antes[0], despues[1] - antes[1]
    return (ocupado / total) * (os.cpu_count() or 1) if total else float("nan")


class Replica:
    """One more process of a service, as an operator scales a worker kind (`buzon-servicio NAME`)."""

    def __init__(self, sistema: Sistema, servicio: str):
        from buzon_dev.sistema import BIN

        self.proceso = subprocess.Popen([str(BIN / "buzon-servicio"), servicio], env={
            **sistema.entorno, "BUZON_METRICAS_PUERTO": "0"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eventlet.sleep(8)  # its start (imports, connection, consumers) is not what is measured

    def detener(self) -> None:
        self.proceso.terminate()
        try:
            self.proceso.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proceso.kill()


@dataclass
class Comparacion:
    nombre: str
    medida: str
    base: str
    valor: float
    referencia: float
    unidad: str
    meta: str
    # True when the goal is for the measure to be at most (`<=`) or at least (`>=`) `limite` × the baseline.
    como: str = "<="
    limite: float = 1.0

    @property
    def razon(self) -> float:
        return self.valor / self.referencia if self.referencia else float("nan")

    @property
    def cumple(self) -> bool:
        return self.razon <= self.limite if self.como == "<=" else self.razon >= self.limite


# --- the report ----------------------------------------------------------------------------------------------

# What follows this line in the report is written by hand (the analysis, the path onwards): a run keeps it.
MARCA_NOTAS = "<!-- notas: lo que sigue lo escriben personas; make bench lo conserva -->"
# The goal for the CPU of a whole activation, every process included.
META_CPU_MS = 400


def informe(ruta: Path, parametros: dict, medidas: Medidas, duracion_s: float, drenado_s: float, cpu: dict,
            comparaciones: list[Comparacion], campana: str | None = None) -> str:
    """The report: this run's figures, then the campaign's section (`campana`, or the last one written when this run
    didn't measure it), then what people wrote after MARCA_NOTAS."""
    from buzon_dev import campana as escenario

    activaciones = max(medidas.activaciones, 1)
    total_cpu_ms = sum(cpu.values()) * 1000
    filas_cpu = [f"| {tipo} | {segundos * 1000 / activaciones:.0f} |" for tipo, segundos in
                 sorted(cpu.items(), key=lambda par: -par[1])]
    filas_pasos = [f"| {paso} | {len(medidas.tiempos[paso])} | {percentil(medidas.tiempos[paso], 50) * 1000:.0f} | "
                   f"{percentil(medidas.tiempos[paso], 95) * 1000:.0f} |" for paso in PASOS]
    filas_comparaciones = [
        f"| {c.nombre} | {c.medida}: {c.valor:.4g} {c.unidad} | {c.base}: {c.referencia:.4g} {c.unidad} | "
        f"{c.razon:.2f}× | {c.meta} | {'—' if c.limite == float('inf') else 'sí' if c.cumple else '**no**'} |"
        for c in comparaciones]
    lineas = [
        "# Rendimiento: lo que cuesta una activación",
        "",
        "Generado por `make bench` (`python -m buzon_dev.banco`). Cada cifra de abajo sale de una sola corrida; las",
        "comparaciones son razones contra su referencia medida en la misma corrida (la máquina es compartida y",
        "ruidosa: solo las razones de una corrida dicen algo).",
        "",
        f"- Fecha: {time.strftime('%Y-%m-%d %H:%M %Z')}; máquina: {os.cpu_count()} núcleos, {platform.processor() or platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
        f"- Corrida: {parametros['usuarios']} personas, {parametros['concurrencia']} a la vez, cada una: ingreso con "
        "e.firma, registro de un correo y un celular, validación de ambos con lo que llegó a los sumideros, firma de "
        "la Solicitud y descarga de su acuse.",
        f"- Activaciones: {medidas.activaciones} en {duracion_s:.0f} s: **{medidas.activaciones / duracion_s * 60:.0f} "
        f"activaciones/min**; errores: {sum(medidas.errores.values())}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in medidas.errores.most_common())})" if medidas.errores else "") + ".",
        f"- CPU por activación, todos los procesos, hasta drenar las colas ({drenado_s:.0f} s después del último "
        f"paso): **{total_cpu_ms / activaciones:.0f} ms** (incluye el gasto en reposo del sistema, "
        f"{parametros['reposo'] * 1000:.0f} ms de CPU por segundo: sus temporizadores y el mantenimiento de RabbitMQ); "
        f"meta ≤ {META_CPU_MS} ms: {'cumple' if total_cpu_ms / activaciones <= META_CPU_MS else '**no cumple**'}.",
        "",
        "## CPU por activación y por proceso",
        "",
        "| proceso | ms de CPU por activación |",
        "| --- | --- |",
        *filas_cpu,
        f"| **total** | **{total_cpu_ms / activaciones:.0f}** |",
        "",
        "## Pasos (ms de reloj, del lado de quien llama)",
        "",
        "| paso | veces | p50 | p95 |",
        "| --- | --- | --- | --- |",
        *filas_pasos,
        "",
        "## Cada camino contra su referencia (misma corrida)",
        "",
        "| camino | medida | referencia | razón | meta | cumple |",
        "| --- | --- | --- | --- | --- | --- |",
        *filas_comparaciones,
        "",
    ]
    campana = campana or escenario.seccion_anterior(ruta)
    if campana:
        lineas += [campana, ""]
    texto = "\n".join(lineas)
    ruta.parent.mkdir(parents=True, exist_ok=True)
    anterior = ruta.read_text(encoding="utf-8") if ruta.exists() else ""
    notas = anterior[anterior.index(MARCA_NOTAS):] if MARCA_NOTAS in anterior else ""
    ruta.write_text(texto + ("\n" + notas if notas else ""), encoding="utf-8")
    return texto


# --- the run ---------------------------------------------------------------------------------------------------

def sistema_de_banco(args, nombre_vhost: str) -> Sistema:
    """A system of the bench's own: its database emptied, its own vhost and data folder."""
    vaciar(args.base_de_datos)
    amqp = vhost_propio(nombre_vhost)
    datos = Path(args.datos or __import__("tempfile").mkdtemp(prefix="buzon-banco-"))
    return Sistema(datos, args.base_de_datos, RAIZ, BUZON_AMQP_URI=amqp, BUZON_VENTANA_VALIDACION_S="3600",
                   BUZON_LOG_LEVEL=args.bitacora, BUZON_ACUSES_PROCESOS=str(PROCESOS_POR_RENDERIZADOR),
                   BUZON_DEPOSITOS_POR_SEGUNDO=str(args.limite_depositos))


def correr(args) -> int:
    from buzon_dev import campana

    nombre_vhost = f"buzon-banco-{os.getpid()}"
    sistema = sistema_de_banco(args, nombre_vhost)
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    comparaciones: list[Comparacion] = []
    resultado = None
    # The campaign's Patrones go into the padrón before contactos imports it at its start.
    patrones = campana.patrones(args.patrones, sistema, llave) if args.campana else []
    try:
        with sistema.en_marcha():
            gente = fallas.personas("banco", 9, args.usuarios, sistema, llave)
            medidas = Medidas()
            eventlet.sleep(3)  # the services' own start (migrations, warm-ups) is not part of the run
            reposo = ritmo_en_reposo(sistema)
            antes = muestra_cpu(sistema)
            inicio = time.monotonic()
            fallas.en_paralelo(lambda persona: flujo(sistema, persona, llave, medidas), gente, args.concurrencia)
            duracion = time.monotonic() - inicio
            drenado = esperar_drenado(sistema, nombre_vhost, reposo)
            cpu = diferencia(antes, muestra_cpu(sistema))
            comprobar(sistema, gente, medidas)
            print(f"banco: {medidas.activaciones} activaciones en {duracion:.0f} s; CPU total "
                  f"{sum(cpu.values()):.1f} s", flush=True)
            if not args.sin_comparaciones:
                comparaciones = comparar(sistema, llave, args)
            if args.campana:
                resultado = campana.correr_campana(
                    sistema, nombre_vhost, llave, gente, por_activar=patrones, notificaciones=args.campana,
                    depositantes=args.depositantes, telefonos=args.telefonos, ritmo=args.ritmo)
    finally:
        borrar_vhost(nombre_vhost)
    texto = informe(Path(args.informe), {"usuarios": args.usuarios, "concurrencia": args.concurrencia,
                                         "reposo": reposo}, medidas,
                    duracion, drenado, cpu, comparaciones, campana.seccion(resultado) if resultado else None)
    print(texto)
    return 0 if (medidas.activaciones == args.usuarios and not medidas.errores
                 and not (resultado and resultado.errores)) else 1


def comparar(sistema: Sistema, llave, args) -> list[Comparacion]:
    amqp = sistema.entorno["BUZON_AMQP_URI"]
    n = args.llamadas
    comparaciones = []
    eco = Eco(amqp)
    try:
        crudo = kombu_crudo(amqp, n)
        nameko = rpc_nameko(amqp, "banco_eco", "eco", [1], n)
        comparaciones.append(Comparacion("RPC de nameko (buzon_comun.remoto) contra kombu a mano", "mediana",
                                         "kombu a mano", statistics.median(nameko) * 1000,
                                         statistics.median(crudo) * 1000, "ms", "≤ 2×", "<=", 2.0))
        persona = fallas.personas("bancoruta", 8, 1, sistema, llave)[0]
        assert fallas.Cliente(sistema, fallas.Registro()).ingresar(persona, llave)
        sesion = rpc_nameko(amqp, "auth", "sesion", [persona.token], n)
        comparaciones.append(Comparacion("auth.sesion contra kombu a mano", "mediana", "kombu a mano",
                                         statistics.median(sesion) * 1000, statistics.median(crudo) * 1000, "ms",
                                         "(informativa)", "<=", float("inf")))
        cabecera = {"Authorization": f"Bearer {persona.token}", "X-Forwarded-For": persona.ip}
        desnudo = peticiones_por_segundo(f"http://127.0.0.1:{eco.puerto}/eco", {}, args.segundos_http, 20)
        ruta = peticiones_por_segundo(f"{sistema.url}/api/v1/sesiones/actual", cabecera, args.segundos_http, 20)
        comparaciones.append(Comparacion("GET /api/v1/sesiones/actual contra un @http de nameko desnudo",
                                         "peticiones/s", "@http desnudo", ruta, desnudo, "/s", "≥ 0.5×", ">=", 0.5))
    finally:
        eco.detener()

    acuse, crudo_render = acuses_contra_render(sistema, args.renders)
    comparaciones.append(Comparacion("un acuse, de su solicitud al PDF en mano, contra WeasyPrint a mano del mismo "
                                     "HTML", "mediana", "WeasyPrint a mano", statistics.median(acuse) * 1000,
                                     statistics.median(crudo_render) * 1000, "ms", "(informativa)", "<=",
                                     float("inf")))
    reposo, durante = salud_durante_renders(sistema, args.renders)
    comparaciones.append(Comparacion(f"acuses.salud mientras se generan {args.renders} acuses, contra en reposo",
                                     "p99", "en reposo", percentil(durante, 99) * 1000, percentil(reposo, 99) * 1000,
                                     "ms", "≤ 2×", "<=", 2.0))
    comparaciones.append(Comparacion(f"acuses.salud mientras se generan {args.renders} acuses, contra en reposo",
                                     "mediana", "en reposo", statistics.median(durante) * 1000,
                                     statistics.median(reposo) * 1000, "ms", "(informativa)", "<=", float("inf")))

    n = args.renders * 2
    uno = renders_por_segundo(sistema, n, 95)
    segundo = Replica(sistema, "acuses-render")
    try:
        dos = renders_por_segundo(sistema, n, 96)
    finally:
        segundo.detener()
    comparaciones.append(Comparacion(f"{n} primeras descargas de acuses a la vez, con dos renderizadores contra uno "
                                     f"({PROCESOS_POR_RENDERIZADOR} proceso de render cada uno)", "acuses/s",
                                     "un renderizador", dos, uno, "/s", "(informativa)", ">=", 0.0))

    crudo_correo = smtplib_crudo(sistema.puertos["smtp"], args.correos, "crudo")
    antes = tiempos_de_la_maquina()
    uno = correos_por_el_sistema(sistema, args.correos, "uno")
    ocupados = nucleos_ocupados(antes, tiempos_de_la_maquina())
    comparaciones.append(Comparacion(f"núcleos ocupados mientras un trabajador envía {args.correos} correos (lo que "
                                     "queda para un segundo)", "núcleos", "núcleos de la máquina", ocupados,
                                     float(os.cpu_count() or 1), "", "(informativa)", "<=", float("inf")))
    comparaciones.append(Comparacion(f"{args.correos} correos con un trabajador contra smtplib a mano (una conexión)",
                                     "segundos", "smtplib a mano", uno, crudo_correo, "s", "≤ 1.2×", "<=", 1.2))
    segundo = Replica(sistema, "notificaciones-correo")
    try:
        dos = correos_por_el_sistema(sistema, args.correos, "dos")
    finally:
        segundo.detener()
    comparaciones.append(Comparacion(f"{args.correos} correos con dos trabajadores contra uno", "correos/s",
                                     "un trabajador", args.correos / dos, args.correos / uno, "/s", "≥ 1.7×", ">=",
                                     1.7))
    return comparaciones


def correr_campana_sola(args) -> int:
    """`banco campana`: a system of its own, Particulares and Patrones activated through the guide, the campaign;
    only the report's campaign section changes."""
    from buzon_dev import campana

    nombre_vhost = f"buzon-banco-{os.getpid()}"
    sistema = sistema_de_banco(args, nombre_vhost)
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    gente = fallas.personas("campana", 5, args.particulares, sistema, llave) + campana.patrones(
        args.patrones, sistema, llave)
    try:
        with sistema.en_marcha():
            eventlet.sleep(3)  # the services' own start is not part of the run
            resultado = campana.correr_campana(sistema, nombre_vhost, llave, [], por_activar=gente,
                                               notificaciones=args.notificaciones, depositantes=args.depositantes,
                                               telefonos=args.telefonos, ritmo=args.ritmo)
    finally:
        borrar_vhost(nombre_vhost)
    texto = campana.seccion(resultado)
    campana.escribir(Path(args.informe), texto)
    print(texto)
    return 0 if not resultado.errores else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m buzon_dev.banco", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="orden")
    correr_p = sub.add_parser("correr", help="la corrida completa (make bench)")
    correr_p.add_argument("--usuarios", type=int, default=100)
    correr_p.add_argument("--concurrencia", type=int, default=20)
    correr_p.add_argument("--llamadas", type=int, default=500, help="llamadas RPC de cada comparación")
    correr_p.add_argument("--segundos-http", type=float, default=10.0)
    correr_p.add_argument("--correos", type=int, default=300)
    correr_p.add_argument("--renders", type=int, default=20)
    correr_p.add_argument("--sin-comparaciones", action="store_true")
    correr_p.add_argument("--campana", type=int, default=2000, metavar="N",
                          help="al final, la campaña del Buzón con N depósitos (0 la omite)")
    campana_p = sub.add_parser("campana", help="solo la campaña del Buzón, en un sistema propio (make bench-campana)")
    campana_p.add_argument("--notificaciones", type=int, default=2000)
    campana_p.add_argument("--particulares", type=int, default=40, help="Particulares activos a quienes notificar")
    campana_p.set_defaults(func=correr_campana_sola)
    for p in (correr_p, campana_p):
        p.add_argument("--patrones", type=int, default=10, help="Patrones activos a quienes notificar en la campaña")
        p.add_argument("--depositantes", type=int, default=4, help="depósitos a la vez en la campaña")
        p.add_argument("--ritmo", type=float, default=0,
                       help="depósitos por segundo que piden los depositantes (0: tan rápido como se les responde)")
        # 8: about half of the ~17/s at which unpaced depositors saturate this bench's 2 cores, the occupancy the
        # capacity model plans for (docs/capacidad.md, u = 0.6); a person's SMS then stays within 2× of idle.
        p.add_argument("--limite-depositos", type=int, default=8,
                       help="BUZON_DEPOSITOS_POR_SEGUNDO del sistema: depósitos por segundo que admite a cada sistema "
                            "depositante (8 en esta máquina de 2 núcleos)")
        p.add_argument("--telefonos", type=int, default=40,
                       help="celulares validados en reposo, y otros tantos durante la campaña")
        p.add_argument("--informe", default=str(RAIZ / "docs" / "rendimiento.md"))
        p.add_argument("--base-de-datos", default=os.environ.get(
            "BUZON_BANCO_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_banco"))
        p.add_argument("--datos", default=None)
        p.add_argument("--bitacora", default="INFO")
    correr_p.set_defaults(func=correr)
    descargas = sub.add_parser("descargas", help="(interno) descarga a la vez los acuses de los folios dados")
    descargas.add_argument("--amqp", required=True)
    descargas.add_argument("folios", nargs="+")
    descargas.set_defaults(func=lambda a: descargar_todos(a.amqp, a.folios) or 0)
    eco = sub.add_parser("eco", help="(interno) el proceso de las referencias")
    eco.add_argument("--amqp", required=True)
    eco.add_argument("--puerto", type=int, required=True)
    eco.set_defaults(func=lambda a: correr_eco(a.amqp, a.puerto) or 0)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
