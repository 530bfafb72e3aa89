"""The Buzón's campaign as a `make bench` scenario (issue 13): the Institute deposits N notifications while people
validate their phones, and a validation code must not wait behind the campaign's avisos.

On a system already started by `banco` (its own database and vhost), with people already active (Particulares and
Patrones with a validated email and mobile, through the bench's own `flujo`):
1. idle: K people register a phone, one every `INTERVALO_S`, each timed from the registration's request to its code
   at the SMS sink, then validate it with that code;
2. the campaign: N deposits through `POST /api/v1/notificaciones` with the development system's key, from a few
   concurrent depositors (each a kept-alive connection) as fast as they get answers (or at `--ritmo`), spread over
   the active people (a Patrón's now for the whole RFC, now naming one of its RPs); the system admits
   `--limite-depositos` per second (BUZON_DEPOSITOS_POR_SEGUNDO) and a depositor honours its 429 (waits the
   Retry-After, sends the same body again), those 429s counted apart from errors; once its first aviso reaches a sink, K more people
   register and validate a phone at the same pace, timed the same way;
3. until every aviso (one per validated medio of the addressee: an email and an SMS each) reached the sinks, then
   until the queues drain; the CPU each process spent from the first deposit to the drain, per notification.

Arrivals are read from the sinks' own files (the SMS sink's `mensajes.jsonl`, the mail sink's index) by one
greenthread that follows them as they grow (`Vigia`): no page of a sink is asked thousands of times during the
measurement. The figures go to their own section of docs/rendimiento.md (`seccion`); `banco correr` runs this
after its comparisons, `banco campana` alone on a system of its own (`python -m buzon_dev.banco campana -h`).
"""
from __future__ import annotations

import base64
import json
import os
import platform
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import eventlet
import eventlet.event
import requests

from buzon_dev import banco, fallas
from buzon_dev.correo import INDICE
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.sistema import Sistema

# A deposit refused this many times by the system's limit (429) is given up and counted as an error: the limit
# admits some deposit every second, so only a system that never lets this one in gets there.
MAXIMO_REINTENTOS_429 = 120
# A phone registered every this many seconds, in both phases: a steady trickle of people waiting for a code.
INTERVALO_S = 0.5
# What an aviso says (notificaciones' template aviso_notificacion, email subject and SMS text).
AVISO = re.compile(r"Tienes un mensaje en tu Buz[oó]n IMSS")
# A one-page PDF: the campaign measures the flow of deposits and avisos, not the storage of big documents. Signed
# with the development key of the Institute's documents that the system trusts (buzon_dev.sistema): each deposit's
# signature is verified, as in production.
DOCUMENTO = base64.b64encode(firmar_pdf(pdf_de_prueba("Invitacion a regularizar tus cuotas obrero patronales"),
                                        carpeta_de_pruebas())).decode("ascii")
# The section's marks in the report: `banco campana` replaces what is between them and leaves the rest.
INICIO = "<!-- campaña: generado por make bench (python -m buzon_dev.banco campana) -->"
FIN = "<!-- fin de la campaña -->"
META_RAZON = 2.0


# --- the people ------------------------------------------------------------------------------------------------

@dataclass
class Patron(fallas.Persona):
    registros: list = field(default_factory=list)   # its RPs in the padrón


def patrones(cuantos: int, sistema: Sistema, llave) -> list[Patron]:
    """Patrones (personas morales) of their own, each with two RPs added to the system's padrón (call it before the
    system starts: contactos imports the padrón at its start), logged in by their legal representative's e.firma."""
    gente = []
    filas = []
    for i in range(cuantos):
        letras = "F" + fallas._LETRAS[i // 20 % 20] + fallas._LETRAS[i % 20]
        rfc = f"{letras}040404A{i % 10}{i // 10 % 10}"
        persona = Patron(numero=i, rfc=rfc, curp=f"RECP800101HDFRST0{i % 10}", correo=f"patron.{i}@campana.example.mx",
                         telefono=f"54{i:08d}", ip=f"10.24.{i // 250}.{i % 250 + 1}",
                         registros=[f"C{i:08d}10", f"C{i:08d}20"])
        persona.emitido = sistema.pki.emitir(rfc, f"PATRON DE CAMPANA {i} SA DE CV",
                                             rfc_representante=f"RECP800101A{i % 10}{i // 10 % 10}",
                                             curp_representante=persona.curp, llave=llave)
        filas += [f"{rfc},{rp},PATRON DE CAMPANA {i} SA DE CV\n" for rp in persona.registros]
        gente.append(persona)
    with open(sistema.padron, "a", encoding="utf-8") as padron:
        padron.writelines(filas)
    return gente


# --- what reached the sinks ------------------------------------------------------------------------------------

class Vigia:
    """Follows the sinks' files from their current end: when each validation code (by phone) and each aviso (by
    channel and message id) was first seen, by this process's clock, every `cada_s`."""

    def __init__(self, sistema: Sistema, cada_s: float = 0.01):
        self.archivos = {"sms": sistema.datos / "sms" / "mensajes.jsonl", "correo": sistema.datos / "correo" / INDICE}
        self.posicion = {canal: _tamano(ruta) for canal, ruta in self.archivos.items()}
        self.resto = {canal: b"" for canal in self.archivos}
        self.cada_s = cada_s
        self.codigos: dict[str, tuple[str, float]] = {}      # "+52…" -> (code, first seen)
        self.avisos: dict[tuple[str, str], float] = {}      # (channel, message id) -> first seen
        self.repetidos = 0                                  # an aviso's id seen again (a provider drops it)
        self._hilo = None

    def __enter__(self) -> "Vigia":
        self._hilo = eventlet.spawn(self._seguir)
        return self

    def __exit__(self, *_):
        self._hilo.kill()
        self.leer()

    def _seguir(self) -> None:
        while True:
            self.leer()
            eventlet.sleep(self.cada_s)

    def leer(self) -> None:
        ahora = time.monotonic()
        for canal, ruta in self.archivos.items():
            try:
                with open(ruta, "rb") as archivo:
                    archivo.seek(self.posicion[canal])
                    nuevo = archivo.read()
            except FileNotFoundError:
                continue
            self.posicion[canal] += len(nuevo)
            *lineas, self.resto[canal] = (self.resto[canal] + nuevo).split(b"\n")
            for linea in lineas:
                self._anotar(canal, json.loads(linea), ahora)

    def _anotar(self, canal: str, entrada: dict, ahora: float) -> None:
        texto, id_ = (entrada["text"], entrada["id"]) if canal == "sms" else (entrada["asunto"], entrada["message_id"])
        if AVISO.search(texto or ""):
            if (canal, id_) in self.avisos:
                self.repetidos += 1
            else:
                self.avisos[(canal, id_)] = ahora
        elif canal == "sms" and (codigo := fallas.CODIGO.findall(texto)):
            self.codigos.setdefault(entrada["to"], (codigo[0], ahora))

    def ultimo_aviso(self) -> float | None:
        return max(self.avisos.values(), default=None)


def _tamano(ruta: Path) -> int:
    try:
        return ruta.stat().st_size
    except FileNotFoundError:
        return 0


# --- the measurements ------------------------------------------------------------------------------------------

@dataclass
class Fase:
    """The phones validated in one phase, in seconds: from each registration's request to its code at the SMS sink
    (`sms`, the measure), to the registration's answer (`registro`: gateway, auth, contactos), and from that answer
    to the code (`cola`: the outbox, the bus and the SMS worker, what the avisos' own queues keep clear; it may be
    below zero when the code beats the answer)."""
    sms: list = field(default_factory=list)
    registro: list = field(default_factory=list)
    cola: list = field(default_factory=list)


@dataclass
class Resultado:
    notificaciones: int
    depositantes: int
    ritmo: float                            # deposits per second asked of the depositors; 0: as fast as answered
    particulares: int
    patrones: int
    telefonos: int
    limite: int = 0                         # the system's BUZON_DEPOSITOS_POR_SEGUNDO (0: unknown)
    aceptadas: int = 0
    limitados: int = 0                      # 429s of the deposits' limit, each retried after its Retry-After
    tiempos_deposito: list = field(default_factory=list)
    depositos_s: float = float("nan")       # from the first deposit sent to the last answered
    avisos_esperados: int = 0
    avisos_llegados: int = 0
    repetidos: int = 0
    avisos_s: float = float("nan")          # from the first deposit sent to the last aviso seen
    reposo: Fase = field(default_factory=Fase)
    campana: Fase = field(default_factory=Fase)
    con_avisos_en_camino: int = 0           # of campana's codes, those that arrived before the campaign's last aviso
    drenado_s: float = 0.0
    cpu: dict = field(default_factory=dict)
    errores: Counter = field(default_factory=Counter)

    @property
    def razon_p95(self) -> float:
        reposo = banco.percentil(self.reposo.sms, 95)
        return banco.percentil(self.campana.sms, 95) / reposo if reposo else float("nan")


def validar_telefono(sistema: Sistema, vigia: Vigia, persona: fallas.Persona, fase: Fase, errores: Counter,
                     plazo_s: float = 120) -> float | None:
    """A logged-in person registers their phone and validates it with the code, timed into `fase`; when the code
    arrived (or None)."""
    s = requests.Session()
    s.headers.update(persona.cabecera)
    destino = "+52" + persona.telefono
    inicio = time.monotonic()
    try:
        registrado = s.post(f"{sistema.api}/medios-contacto", timeout=60,
                            json={"mecanismo": "telefono", "valor": persona.telefono})
    except requests.RequestException:
        registrado = None
    respondido = time.monotonic()
    if registrado is None or registrado.status_code != 201:
        errores[f"registro del celular: {registrado.status_code if registrado is not None else 'sin respuesta'}"] += 1
        return None
    if not banco._hasta(lambda: destino in vigia.codigos, plazo_s=plazo_s, paso_s=0.005):
        errores["código de validación sin llegar"] += 1
        return None
    codigo, llegada = vigia.codigos[destino]
    fase.sms.append(llegada - inicio)
    fase.registro.append(respondido - inicio)
    fase.cola.append(llegada - respondido)
    validado = s.post(f"{sistema.api}/medios-contacto/{registrado.json()['id']}/validacion", timeout=60,
                      json={"codigo": codigo})
    if validado.status_code != 200:
        errores[f"validación del celular: {validado.status_code}"] += 1
    return llegada


def validar_al_paso(sistema: Sistema, vigia: Vigia, gente: list[fallas.Persona], fase: Fase,
                    errores: Counter) -> list[float | None]:
    """One person every INTERVALO_S starts registering their phone; when each code arrived, once all are done."""
    hilos = []
    for persona in gente:
        hilos.append(eventlet.spawn(validar_telefono, sistema, vigia, persona, fase, errores))
        eventlet.sleep(INTERVALO_S)
    return [hilo.wait() for hilo in hilos]


def depositos(activos: list[fallas.Persona], n: int, serie: str) -> list[dict]:
    """n deposits spread over the active people, a Patrón's alternately for the whole RFC and naming one RP."""
    cuerpos = []
    for i in range(n):
        persona = activos[i % len(activos)]
        cuerpo = {"rfc": persona.rfc, "asunto": f"Invitación a regularizar tus cuotas obrero patronales {i}",
                  "area": "Subdelegación de campaña", "tipo_acto": "Invitación", "referencia": f"CAMP-{serie}-{i}",
                  "documento": DOCUMENTO}
        vuelta = i // len(activos)
        if isinstance(persona, Patron) and vuelta % 2:
            cuerpo["registros_patronales"] = [persona.registros[vuelta // 2 % len(persona.registros)]]
        cuerpos.append(cuerpo)
    return cuerpos


def _reintentar_en(respuesta) -> float | None:
    """The seconds a 429 asks to wait: its body's `reintentar_en_s` (a fraction of a second: the deposits are
    admitted evenly spaced), else its Retry-After (whole seconds); None for any other answer."""
    if respuesta is None or respuesta.status_code != 429:
        return None
    try:
        return max(float(respuesta.json()["error"]["reintentar_en_s"]), 0.0)
    except (ValueError, KeyError, TypeError):
        pass
    try:
        return max(float(respuesta.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def depositar(sistema: Sistema, clave: str, cuerpos: list[dict], concurrencia: int, resultado: Resultado,
              ritmo: float = 0) -> None:
    """Every deposit, `concurrencia` at a time, each depositor on a kept-alive connection; with a `ritmo`, the i-th
    deposit is not sent before i/ritmo seconds from the first (a depositing system that paces its campaign). A 429
    (the system's deposits per second, BUZON_DEPOSITOS_POR_SEGUNDO) is honoured as API.md asks: the depositor waits
    its Retry-After and sends the same body again (the same referencia never makes a second notification); those
    429s are counted apart, not as errors, and the deposit's time is that of the attempt answered otherwise."""
    pendientes = enumerate(cuerpos)
    comienzo = time.monotonic()

    def depositante():
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {clave}"
        for i, cuerpo in pendientes:
            if ritmo > 0:
                eventlet.sleep(max(0.0, comienzo + i / ritmo - time.monotonic()))
            for _ in range(MAXIMO_REINTENTOS_429 + 1):
                inicio = time.monotonic()
                try:
                    respuesta = s.post(f"{sistema.api}/notificaciones", json=cuerpo, timeout=60)
                except requests.RequestException:
                    respuesta = None
                espera = _reintentar_en(respuesta)
                if espera is None:
                    break
                resultado.limitados += 1
                eventlet.sleep(espera)
            resultado.tiempos_deposito.append(time.monotonic() - inicio)
            if respuesta is not None and respuesta.status_code == 201:
                resultado.aceptadas += 1
                continue
            try:
                motivo = f"{respuesta.status_code} {respuesta.json()['error']['codigo']}"
            except (AttributeError, ValueError, KeyError, TypeError):
                motivo = str(respuesta.status_code) if respuesta is not None else "sin respuesta"
            resultado.errores[f"depósito: {motivo}"] += 1

    hilos = [eventlet.spawn(depositante) for _ in range(concurrencia)]
    for hilo in hilos:
        hilo.wait()


def clave_del_sistema(sistema: Sistema) -> str:
    from buzon_comun.config import Config
    from buzon_gateway.notificaciones_buzon import clave_desarrollo

    return clave_desarrollo(Config.desde_entorno(sistema.entorno))


def correr_campana(sistema: Sistema, vhost: str, llave, activos: list[fallas.Persona], *, notificaciones: int,
                   depositantes: int, telefonos: int, ritmo: float = 0, por_activar: list[fallas.Persona] = (),
                   plazo_s: float = 900) -> Resultado:
    """The scenario on a started system whose `activos` are active with a validated email and mobile each; those
    `por_activar` go through the bench's guide first (their step times are not reported, their failures are)."""
    # From a calm system: what ran before (the bench's comparisons) has drained, its pace at rest is known.
    banco._hasta(lambda: not any(banco.colas(vhost).values()), plazo_s=plazo_s, paso_s=1)
    eventlet.sleep(2)
    reposo = banco.ritmo_en_reposo(sistema)
    activacion = banco.Medidas()
    fallas.en_paralelo(lambda persona: banco.flujo(sistema, persona, llave, activacion), por_activar, 10)
    activos = [p for p in [*activos, *por_activar] if p.activada]
    cuantos_patrones = sum(1 for p in activos if isinstance(p, Patron))
    resultado = Resultado(notificaciones, depositantes, ritmo, len(activos) - cuantos_patrones, cuantos_patrones, telefonos,
                          limite=int(sistema.entorno.get("BUZON_DEPOSITOS_POR_SEGUNDO", "0") or 0))
    banco.esperar_drenado(sistema, vhost, reposo)
    resultado.errores.update({f"activación: {k}": v for k, v in activacion.errores.items()})
    if not activos:
        resultado.errores["nadie activo a quien notificar"] += 1
        return resultado
    en_reposo, durante = (fallas.personas(f"campana{fase}", indice, telefonos, sistema, llave)
                          for fase, indice in (("reposo", 7), ("durante", 6)))
    cliente = fallas.Cliente(sistema, fallas.Registro(), plazo_s=60)
    fallas.en_paralelo(lambda persona: cliente.ingresar(persona, llave), en_reposo + durante, 8)
    resultado.errores.update(f"ingreso: {motivo}" for motivo in cliente.registro.errores.elements())
    clave = clave_del_sistema(sistema)
    cuerpos = depositos(activos, notificaciones, uuid.uuid4().hex[:8])

    with Vigia(sistema) as vigia:
        validar_al_paso(sistema, vigia, en_reposo, resultado.reposo, resultado.errores)
        eventlet.sleep(2)  # the idle phase's confirmations and events settle before the campaign
        antes = banco.muestra_cpu(sistema)
        inicio = time.monotonic()
        depositado = eventlet.event.Event()

        def durante_la_campana():
            # From the campaign's first aviso at a sink (none if no deposit was accepted).
            banco._hasta(lambda: vigia.avisos or (depositado.ready() and not resultado.aceptadas), plazo_s=plazo_s,
                         paso_s=0.01)
            if vigia.avisos:
                return validar_al_paso(sistema, vigia, durante, resultado.campana, resultado.errores)

        medir = eventlet.spawn(durante_la_campana)
        depositar(sistema, clave, cuerpos, depositantes, resultado, ritmo)
        resultado.depositos_s = time.monotonic() - inicio
        depositado.send()
        # One aviso per validated medio of the addressee: each active person has an email and a mobile.
        resultado.avisos_esperados = 2 * resultado.aceptadas
        banco._hasta(lambda: len(vigia.avisos) >= resultado.avisos_esperados, plazo_s=plazo_s, paso_s=0.05)
        llegadas = medir.wait() or []
        ultimo = vigia.ultimo_aviso()
    resultado.avisos_llegados, resultado.repetidos = len(vigia.avisos), vigia.repetidos
    resultado.avisos_s = (ultimo - inicio) if ultimo else float("nan")
    resultado.con_avisos_en_camino = sum(1 for llegada in llegadas if llegada and ultimo and llegada <= ultimo)
    resultado.drenado_s = banco.esperar_drenado(sistema, vhost, reposo)
    resultado.cpu = banco.diferencia(antes, banco.muestra_cpu(sistema))
    if resultado.avisos_llegados < resultado.avisos_esperados:
        resultado.errores["avisos sin llegar"] += resultado.avisos_esperados - resultado.avisos_llegados
    if resultado.repetidos:
        resultado.errores["avisos repetidos en el sumidero"] += resultado.repetidos
    return resultado


# --- the report ------------------------------------------------------------------------------------------------

def seccion(r: Resultado) -> str:
    """The campaign's section of docs/rendimiento.md, between its marks."""
    ms = lambda valores, p: banco.percentil(valores, p) * 1000  # noqa: E731
    aceptadas = max(r.aceptadas, 1)
    total_cpu = sum(r.cpu.values()) * 1000
    filas_cpu = [f"| {tipo} | {segundos * 1000 / aceptadas:.1f} |"
                 for tipo, segundos in sorted(r.cpu.items(), key=lambda par: -par[1])]
    errores = sum(r.errores.values())
    razon = r.razon_p95
    lineas = [
        INICIO,
        "## Campaña del Buzón: notificaciones mientras otras personas validan su celular (issue 13)",
        "",
        f"- Fecha: {time.strftime('%Y-%m-%d %H:%M %Z')}; máquina: {os.cpu_count()} núcleos, "
        f"{platform.processor() or platform.machine()}, {platform.system()} {platform.release()}.",
        f"- Corrida: {r.notificaciones} depósitos por `POST /api/v1/notificaciones` con la clave del sistema de "
        f"desarrollo, {r.depositantes} a la vez (cada depositante con su conexión"
        + (f", a un ritmo de {r.ritmo:g} depósitos/s" if r.ritmo else ", tan rápido como se les responde")
        + "; el sistema da turnos a "
        + (f"{r.limite} depósitos/s por sistema depositante, `BUZON_DEPOSITOS_POR_SEGUNDO`" if r.limite
           else "los depósitos/s de su configuración")
        + ", y el gateway retiene cada depósito hasta su turno"
        + f"), a {r.particulares + r.patrones} "
        f"personas activas ({r.particulares} Particulares y {r.patrones} Patrones, correo y celular validados: dos "
        f"avisos por notificación); {r.telefonos} celulares registrados y validados en reposo y {r.telefonos} más "
        f"durante la campaña, uno cada {INTERVALO_S:g} s.",
        f"- Depósitos: {r.aceptadas} aceptados en {r.depositos_s:.1f} s: **{r.aceptadas / r.depositos_s:.0f} "
        f"depósitos/s**; p50 {ms(r.tiempos_deposito, 50):.0f} ms, p95 {ms(r.tiempos_deposito, 95):.0f} ms "
        f"(la respuesta que no fue 429, con la espera de su turno); **{r.limitados} respuestas 429** (turno a más "
        f"de 1 s), cada una reintentada con el mismo cuerpo tras su Retry-After (no son errores).",
        f"- Avisos: {r.avisos_llegados} de {r.avisos_esperados} en los sumideros {r.avisos_s:.1f} s después del "
        f"primer depósito: **{r.avisos_llegados / r.avisos_s:.0f} avisos/s** (correo y SMS); las colas drenaron "
        f"{r.drenado_s:.0f} s después.",
        f"- SMS de validación, del registro del celular a su código en el sumidero: p95 en reposo "
        f"{ms(r.reposo.sms, 95):.0f} ms, durante la campaña {ms(r.campana.sms, 95):.0f} ms "
        f"({r.con_avisos_en_camino} de {len(r.campana.sms)} códigos llegaron con avisos aún en camino): "
        f"**{razon:.2f}×**; meta ≤ {META_RAZON:g}×: {'cumple' if razon <= META_RAZON else '**no cumple**'}.",
        f"- Errores: {errores}" + (f" ({', '.join(f'{k}: {v}' for k, v in r.errores.most_common())})"
                                    if errores else "") + ".",
        "",
        "ms de reloj de cada celular: del registro a su código en el sumidero (la medida), del registro a su "
        "respuesta (gateway, auth, contactos) y de esa respuesta al código (bandeja de salida, RabbitMQ y el "
        "trabajador de SMS: lo que las colas propias de los avisos protegen):",
        "",
        "| celulares | veces | SMS p50 | SMS p95 | respuesta p50 | respuesta p95 | de la respuesta al código p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(f"| {nombre} | {len(f.sms)} | " + " | ".join(f"{ms(getattr(f, m), p):.0f}" for m in ("sms", "registro", "cola")
                                                     for p in (50, 95)) + " |"
          for nombre, f in (("en reposo", r.reposo), ("durante la campaña", r.campana))),
        "| razón | | " + " | ".join(_razon(getattr(r.campana, m), getattr(r.reposo, m), p)
                                    for m in ("sms", "registro", "cola") for p in (50, 95)) + " |",
        "",
        "CPU por notificación y por proceso, del primer depósito a las colas drenadas (incluye los celulares "
        "validados durante la campaña y el gasto en reposo del sistema):",
        "",
        "| proceso | ms de CPU por notificación |",
        "| --- | --- |",
        *filas_cpu,
        f"| **total** | **{total_cpu / aceptadas:.1f}** |",
        "",
        "Para repetirla sola (su propio sistema, solo esta sección cambia): `make bench-campana` "
        "(`BENCH_ARGS=\"--notificaciones 2000 --telefonos 40\"`); `make bench` la corre al final de la corrida "
        "completa con sus personas activas (`--campana 0` la omite).",
        FIN,
    ]
    return "\n".join(lineas)


def _razon(valores: list, referencia: list, p: float) -> str:
    base = banco.percentil(referencia, p)
    return f"{banco.percentil(valores, p) / base:.2f}×" if base > 0 else "—"


def escribir(ruta: Path, texto_seccion: str) -> None:
    """The section in the report, in place of the previous one, or before the hand-written notes if it had none."""
    anterior = ruta.read_text(encoding="utf-8") if ruta.exists() else ""
    if INICIO in anterior and FIN in anterior:
        nuevo = anterior[:anterior.index(INICIO)] + texto_seccion + anterior[anterior.index(FIN) + len(FIN):]
    elif banco.MARCA_NOTAS in anterior:
        corte = anterior.index(banco.MARCA_NOTAS)
        nuevo = anterior[:corte] + texto_seccion + "\n\n" + anterior[corte:]
    else:
        nuevo = anterior + ("\n" if anterior and not anterior.endswith("\n") else "") + texto_seccion + "\n"
    ruta.parent.mkdir(parents=True, exist_ok=True)
    ruta.write_text(nuevo, encoding="utf-8")


def seccion_anterior(ruta: Path) -> str:
    """The report's campaign section as it stands (kept by a run that doesn't measure it), or ''."""
    anterior = ruta.read_text(encoding="utf-8") if ruta.exists() else ""
    if INICIO in anterior and FIN in anterior:
        return anterior[anterior.index(INICIO):anterior.index(FIN) + len(FIN)]
    return ""
