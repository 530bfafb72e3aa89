"""The fault suite's machinery: real work through the gateway while a fault is injected, then the count.

A scenario drives a burst of people through the guide (log in, register an email and a mobile; some of them then
validate both with what reached the sinks, sign the Solicitud and download their acuses), injects its fault when
part of the burst is sent, repairs it, and waits until every promise can be checked: exactly one validation
message per accepted registration (counted by message id: a provider may receive one id twice and drop the
repeat), one confirmation per validation, every acuse stored, no 500. Nothing here is a stopwatch assertion:
the figures go to a report (docs/fiabilidad.md) and only the promises are asserted by the tests.

Faults touch only what the suite started (the system's processes, the stand-ins) or what the test machine
provides (the local RabbitMQ and PostgreSQL, through their usual commands), and every injector repairs what it
broke in a `finally`, even when interrupted.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import eventlet
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from buzon_dev.procesos import hijos, linea, nombre
from buzon_dev.sistema import Sistema

CODIGO = re.compile(r"(?<!\d)\d{5}(?!\d)")
CONCURRENCIA = 16
TIEMPO_ENTREGA_S = 240


@dataclass(frozen=True)
class Escala:
    personas: int               # people who register an email and a mobile in each scenario
    activaciones: int           # of them, those who go on to validate both and activate
    corte_s: float              # how long a provider or a service stays down
    presupuesto_s: float        # the whole suite's time: past it, no wait goes on (and what is missing fails)


ESCALAS = {
    # `make test-fallas`: the figures (about 12 minutes on 2 cores).
    "completa": Escala(personas=300, activaciones=50, corte_s=60, presupuesto_s=2400),
    # Inside `make test`: the same scenarios, about 3 minutes in all.
    "breve": Escala(personas=24, activaciones=4, corte_s=12, presupuesto_s=600),
}


# The suite's time budget (`iniciar_presupuesto`): every wait of every scenario is bounded by what is left of it,
# so a system that never delivers fails the suite in bounded time instead of stalling `make test`.
_fin_del_presupuesto: float | None = None


def iniciar_presupuesto(segundos: float) -> None:
    global _fin_del_presupuesto
    _fin_del_presupuesto = time.monotonic() + segundos


def _plazo(pedido_s: float) -> float:
    if _fin_del_presupuesto is None:
        return pedido_s
    return max(min(pedido_s, _fin_del_presupuesto - time.monotonic()), 1.0)


def escala_de_entorno() -> Escala:
    return ESCALAS[os.environ.get("BUZON_FALLAS_ESCALA", "breve")]


# --- the people ------------------------------------------------------------------------------------------------

_LETRAS = "BCDFGHJKLMNPQRSTVWXZ"


@dataclass
class Persona:
    numero: int
    rfc: str
    curp: str
    correo: str
    telefono: str
    ip: str
    emitido: object = None
    token: str | None = None
    medios: dict = field(default_factory=dict)      # mecanismo -> medio (as the gateway answered)
    claves: dict = field(default_factory=dict)      # mecanismo -> Idempotency-Key of its registration
    activada: bool = False

    @property
    def cabecera(self) -> dict:
        cabecera = {"X-Forwarded-For": self.ip}
        if self.token:
            cabecera["Authorization"] = f"Bearer {self.token}"
        return cabecera


def personas(escenario: str, indice: int, cuantas: int, sistema: Sistema, llave: rsa.RSAPrivateKey) -> list[Persona]:
    """People of their own for one scenario (its `indice` keeps their RFCs, addresses and phones apart from every
    other scenario's), so nothing is shared between scenarios: limits, duplicates, one activation per RFC."""
    gente = []
    for i in range(cuantas):
        letras = _LETRAS[indice % len(_LETRAS)] + "A" + _LETRAS[i // len(_LETRAS) % len(_LETRAS)] + _LETRAS[
            i % len(_LETRAS)]
        rfc = f"{letras}800101A{i % 10}{i // 10 % 10}"
        curp = f"{letras}800101HDFRST0{i % 10}"
        persona = Persona(numero=i, rfc=rfc, curp=curp, correo=f"{escenario}.{i}@fallas.example.mx",
                          telefono=f"5{indice}{i:08d}", ip=f"10.{indice + 20}.{i // 250}.{i % 250 + 1}")
        persona.emitido = sistema.pki.emitir(rfc, f"PERSONA {escenario.upper()} {i}", curp, llave=llave)
        gente.append(persona)
    return gente


def _firmar(llave: rsa.RSAPrivateKey, texto: str) -> str:
    return base64.b64encode(llave.sign(texto.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


# --- what was asked and what came back -------------------------------------------------------------------------

@dataclass
class Registro:
    """Every request of a scenario and its answer."""
    enviadas: int = 0
    codigos: Counter = field(default_factory=Counter)       # status -> count
    errores: Counter = field(default_factory=Counter)       # contract code of each 4xx/5xx -> count
    internos: list = field(default_factory=list)            # the 500s: (method, path, body)

    def anotar(self, metodo: str, ruta: str, respuesta: requests.Response | None) -> None:
        self.enviadas += 1
        if respuesta is None:
            self.codigos["sin_respuesta"] += 1
            return
        self.codigos[respuesta.status_code] += 1
        if respuesta.status_code >= 400:
            try:
                self.errores[f"{respuesta.status_code} {respuesta.json()['error']['codigo']}"] += 1
            except (ValueError, KeyError, TypeError):
                self.errores[str(respuesta.status_code)] += 1
        if respuesta.status_code == 500:
            self.internos.append((metodo, ruta, respuesta.text[:300]))


class Cliente:
    """An integrator's client: every request with a deadline, recorded."""

    def __init__(self, sistema: Sistema, registro: Registro, plazo_s: float = 30):
        self.sistema = sistema
        self.registro = registro
        self.plazo_s = plazo_s

    def pedir(self, metodo: str, ruta: str, persona: Persona | None = None, **kwargs) -> requests.Response | None:
        cabeceras = {**(persona.cabecera if persona else {}), **kwargs.pop("headers", {})}
        try:
            respuesta = requests.request(metodo, self.sistema.url + ruta, headers=cabeceras, timeout=self.plazo_s,
                                         **kwargs)
        except requests.RequestException:
            respuesta = None
        self.registro.anotar(metodo, ruta, respuesta)
        return respuesta

    def ingresar(self, persona: Persona, llave: rsa.RSAPrivateKey) -> bool:
        reto = self.pedir("POST", "/api/v1/sesiones/retos", persona)
        if reto is None or reto.status_code != 201:
            return False
        sesion = self.pedir("POST", "/api/v1/sesiones", persona, json={
            "certificado": base64.b64encode(persona.emitido.cer_der).decode("ascii"),
            "reto": reto.json()["reto"], "firma": _firmar(llave, reto.json()["reto"])})
        if sesion is None or sesion.status_code != 201:
            return False
        persona.token = sesion.json()["token"]
        return True

    def registrar(self, persona: Persona, mecanismo: str) -> None:
        """One registration, with an Idempotency-Key an integrator keeps to retry it safely."""
        clave = persona.claves.setdefault(mecanismo, str(uuid.uuid4()))
        valor = persona.correo if mecanismo == "correo" else persona.telefono
        respuesta = self.pedir("POST", "/api/v1/medios-contacto", persona, headers={"Idempotency-Key": clave},
                               json={"mecanismo": mecanismo, "valor": valor})
        if respuesta is not None and respuesta.status_code == 201:
            persona.medios[mecanismo] = respuesta.json()


def en_paralelo(funcion, elementos, concurrencia: int = CONCURRENCIA) -> None:
    pool = eventlet.GreenPool(concurrencia)
    for _ in pool.imap(funcion, elementos):
        pass


# --- the sinks: what reached people ----------------------------------------------------------------------------

def correos(sistema: Sistema) -> list[dict]:
    respuesta = requests.get(f"http://127.0.0.1:{sistema.puertos['correo_web']}/api/mensajes", timeout=30)
    return respuesta.json()["mensajes"]


def sms(sistema: Sistema) -> list[dict]:
    return requests.get(f"http://127.0.0.1:{sistema.puertos['sms']}/api/mensajes", timeout=30).json()["mensajes"]


@dataclass
class Buzones:
    """The messages each person got, split in validations and confirmations, as sets of message ids."""
    validacion_correo: dict = field(default_factory=dict)
    confirmacion_correo: dict = field(default_factory=dict)
    validacion_sms: dict = field(default_factory=dict)
    confirmacion_sms: dict = field(default_factory=dict)
    enlaces: dict = field(default_factory=dict)         # address -> validation link
    codigos: dict = field(default_factory=dict)         # phone (+52…) -> code
    entregas: Counter = field(default_factory=Counter)  # (destination, message id) -> times delivered


def leer_buzones(sistema: Sistema) -> Buzones:
    buzones = Buzones()
    for correo in correos(sistema):
        for para in correo["para"]:
            buzones.entregas[(para.lower(), correo["message_id"])] += 1
            enlaces = re.findall(re.escape(sistema.url) + r"[^\s<>\"']+", correo.get("texto") or "")
            destino = buzones.validacion_correo if enlaces else buzones.confirmacion_correo
            destino.setdefault(para.lower(), set()).add(correo["message_id"])
            if enlaces:
                buzones.enlaces[para.lower()] = enlaces[0]
    for mensaje in sms(sistema):
        buzones.entregas[(mensaje["to"], mensaje["id"])] += 1
        codigo = CODIGO.findall(mensaje["text"])
        destino = buzones.validacion_sms if codigo else buzones.confirmacion_sms
        destino.setdefault(mensaje["to"], set()).add(mensaje["id"])
        if codigo:
            buzones.codigos[mensaje["to"]] = codigo[0]
    return buzones


@dataclass
class Cuenta:
    esperados: int = 0
    entregados: int = 0
    perdidos: list = field(default_factory=list)
    duplicados: list = field(default_factory=list)
    sin_solicitud: int = 0
    repetidos: int = 0          # one message id delivered more than once (the provider drops the repeat)


def contar(gente: list[Persona], buzones: Buzones) -> Cuenta:
    """Exactly one validation message per accepted registration, one confirmation per validation."""
    cuenta = Cuenta()
    esperados: list[tuple[dict, str]] = []
    for persona in gente:
        if "correo" in persona.medios:
            esperados.append((buzones.validacion_correo, persona.correo))
            if persona.activada:
                esperados.append((buzones.confirmacion_correo, persona.correo))
        if "telefono" in persona.medios:
            esperados.append((buzones.validacion_sms, "+52" + persona.telefono))
            if persona.activada:
                esperados.append((buzones.confirmacion_sms, "+52" + persona.telefono))
    for buzon, destino in esperados:
        cuenta.esperados += 1
        ids = buzon.get(destino, set())
        if not ids:
            cuenta.perdidos.append(destino)
        else:
            cuenta.entregados += 1
        if len(ids) > 1:
            cuenta.duplicados.append(destino)
    aceptados = {p.correo for p in gente if "correo" in p.medios} | {
        "+52" + p.telefono for p in gente if "telefono" in p.medios}
    propios = {p.correo for p in gente} | {"+52" + p.telefono for p in gente}
    cuenta.sin_solicitud = sum(1 for buzon in (buzones.validacion_correo, buzones.validacion_sms)
                               for destino in buzon if destino in propios and destino not in aceptados)
    cuenta.repetidos = sum(n - 1 for (destino, _), n in buzones.entregas.items() if destino in propios and n > 1)
    return cuenta


def esperar_entregas(sistema: Sistema, gente: list[Persona], plazo_s: float = TIEMPO_ENTREGA_S) -> tuple[Buzones, float]:
    """Wait until nothing expected is missing (or the deadline passes); the mailboxes then and the wait."""
    plazo_s = _plazo(plazo_s)
    inicio = time.monotonic()
    while True:
        buzones = leer_buzones(sistema)
        if not contar(gente, buzones).perdidos or time.monotonic() - inicio > plazo_s:
            return buzones, time.monotonic() - inicio
        eventlet.sleep(1)


# --- the flow ------------------------------------------------------------------------------------------------

def registrar_todos(cliente: Cliente, gente: list[Persona], llave, al_avance=None) -> None:
    """Log in and register an email and a mobile for each person; `al_avance(enviados)` after each person."""
    hechos = [0]

    def una(persona: Persona) -> None:
        if cliente.ingresar(persona, llave):
            cliente.registrar(persona, "correo")
            cliente.registrar(persona, "telefono")
        hechos[0] += 1
        if al_avance:
            al_avance(hechos[0])

    en_paralelo(una, gente)


def reintentar_fallidos(cliente: Cliente, gente: list[Persona], llave) -> None:
    """What an integrator does after an outage: retry what failed, with the same Idempotency-Key."""
    def una(persona: Persona) -> None:
        if persona.token is None and not cliente.ingresar(persona, llave):
            return
        for mecanismo in ("correo", "telefono"):
            if mecanismo not in persona.medios:
                cliente.registrar(persona, mecanismo)

    en_paralelo(una, gente)


def activar(cliente: Cliente, sistema: Sistema, persona: Persona, llave, buzones: Buzones) -> bool:
    """Validate both with what reached the sinks, sign the Solicitud; True once active."""
    enlace = buzones.enlaces.get(persona.correo)
    codigo = buzones.codigos.get("+52" + persona.telefono)
    if not enlace or not codigo or len(persona.medios) < 2:
        return False
    try:
        validado = requests.get(enlace, timeout=30)
    except requests.RequestException:
        validado = None
    cliente.registro.anotar("GET", "/medios-contacto/validar/<token>", validado)
    cliente.pedir("POST", f"/api/v1/medios-contacto/{persona.medios['telefono']['id']}/validacion", persona,
                  json={"codigo": codigo})
    solicitud = cliente.pedir("GET", "/api/v1/activacion/solicitud", persona)
    if solicitud is None or solicitud.status_code != 200:
        return False
    activada = cliente.pedir("POST", "/api/v1/activacion", persona, json={
        "certificado": base64.b64encode(persona.emitido.cer_der).decode("ascii"),
        "firma": _firmar(llave, solicitud.json()["cadena_original"])})
    persona.activada = activada is not None and activada.status_code in (201, 409)
    return persona.activada


def acuses_esperados(persona: Persona) -> list[str]:
    rutas = [f"/api/v1/medios-contacto/{medio['id']}/acuses/{tipo}" for medio in persona.medios.values()
             for tipo in (("registro", "validacion") if persona.activada else ("registro",))]
    if persona.activada:
        rutas.append("/api/v1/activacion/acuse")
    return rutas


def esperar_acuses(sistema: Sistema, gente: list[Persona], plazo_s: float = TIEMPO_ENTREGA_S) -> tuple[int, int]:
    """(expected, stored): every acuse of the activated people downloadable as a PDF."""
    pendientes = [(p, ruta) for p in gente if p.activada for ruta in acuses_esperados(p)]
    esperados = len(pendientes)
    limite = time.monotonic() + _plazo(plazo_s)
    while pendientes and time.monotonic() < limite:
        faltan = []
        for persona, ruta in pendientes:
            try:
                respuesta = requests.get(sistema.url + ruta, headers=persona.cabecera, timeout=30)
            except requests.RequestException:
                respuesta = None
            if respuesta is None or respuesta.status_code != 200 or not respuesta.content.startswith(b"%PDF"):
                faltan.append((persona, ruta))
        pendientes = faltan
        if pendientes:
            eventlet.sleep(2)
    return esperados, esperados - len(pendientes)


def esperar_salud(sistema: Sistema, plazo_s: float = 180) -> float:
    """Seconds until /health answers 200 (the whole system answers again)."""
    plazo_s = _plazo(plazo_s)
    inicio = time.monotonic()
    while time.monotonic() - inicio < plazo_s:
        try:
            if requests.get(sistema.url + "/health", timeout=6).status_code == 200:
                return time.monotonic() - inicio
        except requests.RequestException:
            pass
        eventlet.sleep(0.5)
    raise AssertionError(f"el sistema no volvió a responder en {plazo_s} s")


# --- the processes of the system under test --------------------------------------------------------------------

def procesos(sistema: Sistema, servicio: str) -> list[int]:
    """The processes `buzon-servicio <servicio>` the system's launcher runs now."""
    lanzador = int((sistema.datos / "var" / "buzon.pid").read_text())
    return sorted(pid for pid in hijos(lanzador) if _es_servicio(linea(pid), servicio))


def _es_servicio(linea: list[str], servicio: str) -> bool:
    # `buzon-servicio NAME`, run by the interpreter its script names: [python, …/buzon-servicio, NAME, …].
    for i, parte in enumerate(linea[:-1]):
        if parte.endswith("buzon-servicio"):
            return linea[i + 1] == servicio
    return False


def renderizadores(sistema: Sistema) -> list[int]:
    """The acuse render processes (their OS name has "render"), under the renderers' processes."""
    encontrados = []
    for servicio in procesos(sistema, "acuses-render"):
        encontrados.extend(pid for pid in hijos(servicio) if "render" in nombre(pid))
    return encontrados


def senal(pids: list[int], numero: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, numero)
        except ProcessLookupError:
            pass


# --- the local RabbitMQ and PostgreSQL, through their usual commands --------------------------------------------

def _ejecutar(*comando: str, plazo_s: float = 120) -> None:
    subprocess.run(list(comando), check=True, capture_output=True, timeout=plazo_s)


def detener_rabbitmq() -> None:
    _ejecutar("rabbitmqctl", "stop_app")


def iniciar_rabbitmq() -> None:
    _ejecutar("rabbitmqctl", "start_app")
    _ejecutar("rabbitmqctl", "await_startup")


def _cluster_postgresql() -> str:
    return sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]


def detener_postgresql() -> None:
    _ejecutar("pg_ctlcluster", "--skip-systemctl-redirect", _cluster_postgresql(), "main", "stop", "-m", "fast")


def iniciar_postgresql() -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_postgresql(), "main", "start"],
                   capture_output=True, timeout=120)
    limite = time.monotonic() + 60
    while time.monotonic() < limite:
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("PostgreSQL no volvió")


# --- the report ----------------------------------------------------------------------------------------------

@dataclass
class Resultado:
    escenario: str
    descripcion: str
    registro: Registro
    cuenta: Cuenta
    acuses: tuple[int, int]
    recuperacion_s: float
    entrega_s: float
    notas: list = field(default_factory=list)

    @property
    def cumple(self) -> bool:
        return (not self.cuenta.perdidos and not self.cuenta.duplicados and not self.registro.internos
                and self.acuses[0] == self.acuses[1])

    def fila(self) -> str:
        r = self.registro
        aceptadas = r.codigos.get(201, 0)
        fallidas = ", ".join(f"{codigo}: {n}" for codigo, n in sorted(r.errores.items())) or "ninguna"
        return (f"| {self.escenario} | {r.enviadas} | {aceptadas} | {fallidas} | {len(r.internos)} | "
                f"{self.cuenta.esperados} | {self.cuenta.entregados} | {len(self.cuenta.perdidos)} | "
                f"{len(self.cuenta.duplicados)} | {self.cuenta.repetidos} | {self.acuses[0]} / {self.acuses[1]} | "
                f"{self.recuperacion_s:.1f} | {self.entrega_s:.1f} | {'sí' if self.cumple else '**NO**'} |")


def escribir_informe(resultados: list[Resultado], ruta: Path, escala_nombre: str, escala: Escala,
                     duracion_s: float) -> None:
    maquina = f"{os.cpu_count()} núcleos, {os.uname().sysname} {os.uname().release}"
    lineas = [
        "# Fiabilidad: el sistema bajo fallas",
        "",
        "Generado por la suite de fallas (`make test-fallas`, o `make test` a escala breve): cada escenario manda",
        "trabajo real por el gateway mientras inyecta su falla y luego cuenta lo que llegó a los sumideros de",
        "correo y SMS y lo que guardó acuses. Regenerar: `make test-fallas`.",
        "",
        f"- Fecha: {time.strftime('%Y-%m-%d %H:%M %Z')}; máquina: {maquina}.",
        f"- Escala «{escala_nombre}»: {escala.personas} personas por escenario (cada una registra un correo y un "
        f"celular), {escala.activaciones} de ellas validan ambos, firman y descargan sus acuses; cortes de "
        f"proveedores y servicios de {escala.corte_s:.0f} s. Duración de la suite: {duracion_s:.0f} s.",
        "- Los mensajes se cuentan por id (el protocolo deja al proveedor descartar un mismo id recibido dos veces):",
        "  «perdidos» son solicitudes aceptadas sin su mensaje; «duplicados», dos mensajes distintos para una;",
        "  «repetidos», entregas de un mismo id más de una vez (las descarta el proveedor).",
        "- Las solicitudes rechazadas durante una falla (503) se reintentan después con la misma",
        "  `Idempotency-Key`, como haría un integrador.",
        "",
        "| escenario | solicitudes | aceptadas (201) | fallidas (código: n) | 500 | mensajes esperados | "
        "entregados | perdidos | duplicados | repetidos | acuses esperados / guardados | recuperación (s) | "
        "todo entregado (s) | cumple |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(r.fila() for r in resultados),
        "",
        "Escenarios:",
        *(f"- **{r.escenario}**: {r.descripcion}" + ("" if not r.notas else " " + " ".join(r.notas))
          for r in resultados),
        "",
        "«recuperación»: desde que la falla termina hasta que `/health` vuelve a responder 200. «todo entregado»:",
        "desde el final del trabajo hasta que el último mensaje esperado llegó.",
        "",
    ]
    ruta.parent.mkdir(parents=True, exist_ok=True)
    ruta.write_text("\n".join(lineas), encoding="utf-8")


def resumen_json(resultados: list[Resultado]) -> str:
    return json.dumps([{"escenario": r.escenario, "cumple": r.cumple, "perdidos": r.cuenta.perdidos[:10],
                        "duplicados": r.cuenta.duplicados[:10], "internos": r.registro.internos[:5],
                        "acuses": r.acuses} for r in resultados], ensure_ascii=False, indent=1)


SENALES = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGSTOP": signal.SIGSTOP, "SIGCONT": signal.SIGCONT}
