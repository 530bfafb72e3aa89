"""The local launcher behind `make run`, `make up` and `make down`.

It starts each development stand-in whose variable is unset (PKI and OCSP responder, mail sink, SMS sink),
points the services at it, runs the migrations as one step, starts every service and the gateway (as many
processes of each as `BUZON_REPLICAS`/`BUZON_REPLICAS_<SERVICIO>` ask), waits for `/health` to answer 200 and
prints where to go. It supervises what it started the way Kubernetes would: a process that ends is started again
after a growing delay, and given up loudly after `BUZON_REINICIOS_MAXIMOS` restarts in a row, the rest kept
running. Ctrl-C or SIGTERM stops everything it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buzon_comun.config import PUERTOS_DESARROLLO, Config
from buzon_dev.procesos import vivo

def servicios() -> list[str]:
    """Every service the packages declare, the gateway last (it answers /health once the rest are up)."""
    from importlib.metadata import entry_points

    return sorted((ep.name for ep in entry_points(group="buzon.servicios")), key=lambda n: (n == "gateway", n))


PLAZO_ARRANQUE_S = 90
PLAZO_PARADA_S = 15
PASSWORD_DESARROLLO = "12345678a"

# The development padrón: the persona moral is a Patrón with three Registros Patronales; the persona física
# has none, so she goes through the flow as a Particular.
PADRON_DESARROLLO = (
    ("EDE0101013A2", "Y6012345107", "EMPRESA DE DEMOSTRACION SA DE CV"),
    ("EDE0101013A2", "Y6012346105", "EMPRESA DE DEMOSTRACION SA DE CV"),
    ("EDE0101013A2", "E8512345100", "EMPRESA DE DEMOSTRACION SA DE CV"),
)

# The development e.firmas the launcher issues so that a person can log in at once.
EFIRMAS_DESARROLLO = (
    {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09"},
    {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV",
     "rfc_representante": "MAVA800101RS5", "curp_representante": "MAVA800101MDFRRN09"},
)


def _bin(nombre: str) -> str:
    return str(Path(sys.executable).with_name(nombre))


def _url_salud(config: Config) -> str:
    return f"http://127.0.0.1:{config.gateway_port}/health"


def salud_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as respuesta:
            return respuesta.status == 200
    except (urllib.error.URLError, OSError):
        return False


# --- The supervisor: restart what ends, with backoff, and give up loudly ---

@dataclass(frozen=True)
class Politica:
    """How a supervised process is restarted. The first restart comes within a second (a crash is usually a one-off);
    a process that keeps crashing waits longer each time, so that a broken one does not spin the CPU or flood
    the log; after `reinicios_maximos` restarts in a row it is left down. A run of `estable_s` ends the streak."""

    retrasos_s: tuple[float, ...] = (1, 2, 4, 8, 16, 30)
    estable_s: float = 60
    reinicios_maximos: int = 5


def politica_desde_entorno(entorno: Mapping[str, str]) -> Politica:
    valor = entorno.get("BUZON_REINICIOS_MAXIMOS", "").strip()
    if not valor:
        return Politica()
    try:
        maximos = int(valor)
    except ValueError:
        maximos = -1
    if maximos < 0:
        raise SystemExit(f"BUZON_REINICIOS_MAXIMOS debe ser un entero de 0 en adelante (vale {valor!r}).")
    return Politica(reinicios_maximos=maximos)


class Reinicios:
    """The restart decisions for one process, from times its caller passes (no clock, no process inside)."""

    def __init__(self, politica: Politica):
        self.politica = politica
        self.seguidos = 0
        self._arranque: float | None = None

    def arrancado(self, ahora: float) -> None:
        self._arranque = ahora

    def termino(self, ahora: float) -> float | None:
        """The process ended at `ahora`: the delay before starting it again, or None to give it up."""
        if self._arranque is not None and ahora - self._arranque >= self.politica.estable_s:
            self.seguidos = 0
        self._arranque = None
        if self.seguidos >= self.politica.reinicios_maximos:
            return None
        retrasos = self.politica.retrasos_s
        retraso = retrasos[min(self.seguidos, len(retrasos) - 1)]
        self.seguidos += 1
        return retraso


def _avisar(texto: str) -> None:
    # With a time: an operator reading buzon.log after a fault wants to know when each process came back.
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} buzon: {texto}", file=sys.stderr, flush=True)


def _salida(codigo: int | None) -> str:
    if codigo is not None and codigo < 0:
        try:
            return f"código {codigo}, {signal.Signals(-codigo).name}"
        except ValueError:
            pass
    return f"código {codigo}"


@dataclass
class Proceso:
    nombre: str
    grupo: str
    comando: tuple[str, ...]
    reinicios: Reinicios
    popen: subprocess.Popen | None = None
    reinicio_en: float | None = None
    abandonado: bool = False
    arranques: int = 0

    def vivo(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Supervisor:
    """Starts processes and keeps them running: `vigilar` (called every half second) restarts what ended when its
    delay is due; `detener` stops everything and nothing is restarted from then on. One process given up leaves
    the others running, as Kubernetes keeps the other pods: the system runs degraded and /health names what is
    missing."""

    def __init__(self, entorno: dict | None = None, politica: Politica = Politica(),
                 reloj: Callable[[], float] = time.monotonic, avisar: Callable[[str], None] = _avisar,
                 plazo_parada_s: float = PLAZO_PARADA_S):
        self.entorno = entorno
        self.politica = politica
        self.reloj = reloj
        self.avisar = avisar
        self.plazo_parada_s = plazo_parada_s
        self.procesos: list[Proceso] = []
        self.deteniendo = False

    def lanzar(self, nombre: str, *comando: str, grupo: str | None = None) -> Proceso:
        proceso = Proceso(nombre, grupo or nombre, tuple(comando), Reinicios(self.politica))
        self.procesos.append(proceso)
        self._iniciar(proceso)
        return proceso

    def _iniciar(self, proceso: Proceso) -> None:
        proceso.reinicio_en = None
        try:
            proceso.popen = subprocess.Popen(list(proceso.comando), env=self.entorno)
        except OSError as exc:
            proceso.popen = None
            self.avisar(f"no se pudo iniciar {proceso.nombre}: {exc}")
            self._termino(proceso, None)
            return
        proceso.arranques += 1
        proceso.reinicios.arrancado(self.reloj())

    def pedir_parada(self) -> None:
        """Safe from a signal handler: from now on nothing is restarted."""
        self.deteniendo = True

    def vigilar(self) -> None:
        for proceso in self.procesos:
            if self.deteniendo:
                return
            if proceso.popen is not None and proceso.popen.poll() is not None:
                codigo = proceso.popen.returncode
                proceso.popen = None
                self._termino(proceso, codigo)
            elif proceso.reinicio_en is not None and self.reloj() >= proceso.reinicio_en:
                self._iniciar(proceso)
                if proceso.popen is not None:
                    self.avisar(f"{proceso.nombre} reiniciado (pid {proceso.popen.pid}).")

    def _termino(self, proceso: Proceso, codigo: int | None) -> None:
        retraso = proceso.reinicios.termino(self.reloj())
        if retraso is None:
            proceso.abandonado = True
            grupo = [p for p in self.procesos if p.grupo == proceso.grupo]
            quedan = sum(not p.abandonado for p in grupo)
            resto = (f"quedan {quedan} de {len(grupo)} procesos de {proceso.grupo}" if len(grupo) > 1
                     else f"sin {proceso.nombre}")
            self.avisar(f"ERROR: el proceso {proceso.nombre} terminó ({_salida(codigo)}) tras "
                        f"{proceso.reinicios.seguidos} reinicios seguidos y no se reinicia más; el sistema queda "
                        f"DEGRADADO ({resto}); los demás procesos siguen en marcha.")
            return
        proceso.reinicio_en = self.reloj() + retraso
        self.avisar(f"el proceso {proceso.nombre} terminó ({_salida(codigo)}); se reinicia en {retraso:g} s "
                    f"(reinicio {proceso.reinicios.seguidos} de {self.politica.reinicios_maximos}).")

    def grupos_abandonados(self) -> set[str]:
        """The groups (a service and its replicas) whose every process was given up."""
        grupos = {p.grupo for p in self.procesos}
        return {g for g in grupos if all(p.abandonado for p in self.procesos if p.grupo == g)}

    def detener(self) -> None:
        """SIGTERM to everything (the last started first), a grace period for all of them together, then SIGKILL."""
        self.deteniendo = True
        vivos = [p.popen for p in reversed(self.procesos) if p.popen is not None]
        for popen in vivos:
            if popen.poll() is None:
                popen.terminate()
        limite = time.monotonic() + self.plazo_parada_s
        for popen in vivos:
            try:
                popen.wait(timeout=max(0.1, limite - time.monotonic()))
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def replicas(servicio: str, entorno: Mapping[str, str]) -> int:
    """How many processes of a service to run: BUZON_REPLICAS_<SERVICIO>, else BUZON_REPLICAS, else 1."""
    propia = "BUZON_REPLICAS_" + servicio.upper().replace("-", "_")
    for variable in (propia, "BUZON_REPLICAS"):
        valor = entorno.get(variable, "").strip()
        if not valor:
            continue
        try:
            cuantas = int(valor)
        except ValueError:
            cuantas = 0
        if cuantas < 1:
            raise SystemExit(f"{variable} debe ser un entero de 1 en adelante (vale {valor!r}).")
        return cuantas
    return 1


@dataclass
class Sistema:
    entorno: dict
    data_dir: Path
    supervisor: Supervisor
    replicas: dict[str, int] = field(default_factory=dict)
    avisos: list = field(default_factory=list)

    def lanzar(self, nombre: str, *comando: str) -> None:
        self.supervisor.lanzar(nombre, *comando)

    def preparar_sustitutos(self) -> None:
        e = self.entorno
        datos = self.data_dir
        if not os.environ.get("BUZON_SAT_CA_DIR"):
            from buzon_dev.pki import PKI

            pki = PKI.abrir(datos / "pki")
            e["BUZON_SAT_CA_DIR"] = str(pki.carpeta_ca)
            self.avisos.append(f"AC de desarrollo (perfil SAT): {pki.carpeta_ca}")
            for datos_efirma in EFIRMAS_DESARROLLO:
                ruta_cer, ruta_key = _efirma_de_desarrollo(pki, datos_efirma, datos / "efirmas")
                self.avisos.append(
                    f"e.firma de desarrollo {datos_efirma['rfc']} ({datos_efirma['nombre']}):\n"
                    f"    .cer {ruta_cer}\n    .key {ruta_key}\n    contraseña: {PASSWORD_DESARROLLO}"
                )
            if not os.environ.get("BUZON_OCSP_URL"):
                puerto = PUERTOS_DESARROLLO["ocsp"]
                self.lanzar("ocsp", _bin("buzon-dev"), "ocsp", "--carpeta", str(datos / "pki"), "--puerto", str(puerto))
                e["BUZON_OCSP_URL"] = f"http://127.0.0.1:{puerto}/"
                self.avisos.append(f"Respondedor OCSP de desarrollo: {e['BUZON_OCSP_URL']}")
        elif not os.environ.get("BUZON_OCSP_URL"):
            raise SystemExit("Con BUZON_SAT_CA_DIR configurado hace falta BUZON_OCSP_URL (el respondedor OCSP de SAT).")
        if not os.environ.get("BUZON_DOCUMENTOS_CA_DIR"):
            from buzon_dev.documentos import FirmaDocumentos

            documentos = FirmaDocumentos.abrir(datos / "pki-documentos")
            e["BUZON_DOCUMENTOS_CA_DIR"] = str(documentos.carpeta_ca)
            self.avisos.append(f"AC de desarrollo de los documentos del Instituto: {documentos.carpeta_ca} "
                               f"(firma un PDF: buzon-dev documentos firmar ENTRADA SALIDA)")
        if not os.environ.get("BUZON_PADRON_CSV"):
            ruta = datos / "padron-desarrollo.csv"
            datos.mkdir(parents=True, exist_ok=True)
            ruta.write_text("rfc,registro_patronal,razon_social\n"
                            + "".join(f"{rfc},{rp},{razon}\n" for rfc, rp, razon in PADRON_DESARROLLO), encoding="utf-8")
            e["BUZON_PADRON_CSV"] = str(ruta)
            self.avisos.append(f"Padrón de desarrollo: {ruta}")
        if not os.environ.get("BUZON_SMTP_HOST"):
            smtp, web = PUERTOS_DESARROLLO["correo_smtp"], PUERTOS_DESARROLLO["correo_web"]
            self.lanzar("correo", _bin("buzon-dev"), "correo", "servir", "--carpeta", str(datos / "correo"),
                        "--puerto-smtp", str(smtp), "--puerto-web", str(web))
            e["BUZON_SMTP_HOST"], e["BUZON_SMTP_PORT"] = "127.0.0.1", str(smtp)
            self.avisos.append(f"Correos enviados (buzón de desarrollo): http://127.0.0.1:{web}/")
        if not os.environ.get("BUZON_SMS_URL"):
            puerto = PUERTOS_DESARROLLO["sms"]
            self.lanzar("sms", _bin("buzon-dev"), "sms", "servir", "--carpeta", str(datos / "sms"), "--puerto", str(puerto))
            e["BUZON_SMS_URL"] = f"http://127.0.0.1:{puerto}/sms"
            self.avisos.append(f"SMS enviados (receptor de desarrollo): http://127.0.0.1:{puerto}/")

    def migrar(self) -> None:
        resultado = subprocess.run([_bin("buzon-migrar")], env=self.entorno)
        if resultado.returncode != 0:
            raise SystemExit("Las migraciones fallaron; el sistema no se inicia.")

    def iniciar_servicios(self) -> None:
        # Every process keeps `buzon-servicio NAME` as its command line: operators and tools find them by it.
        for servicio, cuantas in self.replicas.items():
            for replica in range(1, cuantas + 1):
                nombre = servicio if cuantas == 1 else f"{servicio}#{replica}"
                self.supervisor.lanzar(nombre, _bin("buzon-servicio"), servicio, grupo=servicio)

    def esperar_salud(self, url: str) -> bool:
        """True once /health answers 200; False if asked to stop meanwhile. A process that ends while starting
        is restarted like any other; the start fails when /health stays silent, or a service is given up."""
        limite = time.monotonic() + PLAZO_ARRANQUE_S
        while time.monotonic() < limite:
            if self.supervisor.deteniendo:
                return False
            if salud_ok(url):
                return True
            self.supervisor.vigilar()
            perdidos = sorted(self.supervisor.grupos_abandonados() & self.replicas.keys())
            if perdidos:
                raise SystemExit(f"{', '.join(perdidos)} no logró arrancar; el sistema no se inicia.")
            time.sleep(0.5)
        raise SystemExit(f"El sistema no respondió en {url} en {PLAZO_ARRANQUE_S} s.")


def _efirma_de_desarrollo(pki, datos: dict, carpeta: Path) -> tuple[Path, Path]:
    """A development e.firma at a stable path (<data>/efirmas/<RFC>.cer/.key), issued again only when it
    lapses or was revoked, so that the paths in the README keep working from one run to the next."""
    from cryptography import x509

    rfc = datos["rfc"]
    ruta_cer, ruta_key = carpeta / f"{rfc}.cer", carpeta / f"{rfc}.key"
    if ruta_cer.exists() and ruta_key.exists():
        certificado = x509.load_der_x509_certificate(ruta_cer.read_bytes())
        vigente = certificado.not_valid_after_utc.timestamp() > time.time() + 86400
        if vigente and pki.estado(certificado.serial_number) == "good":
            return ruta_cer, ruta_key
    emitido = pki.emitir(rfc, datos["nombre"], datos.get("curp"), rfc_representante=datos.get("rfc_representante"),
                         curp_representante=datos.get("curp_representante"), password=PASSWORD_DESARROLLO)
    carpeta.mkdir(parents=True, exist_ok=True)
    ruta_cer.write_bytes(emitido.cer_der)
    ruta_key.write_bytes(emitido.key_der)
    return ruta_cer, ruta_key


def ejecutar(args) -> int:
    try:
        config = Config.desde_entorno()
        politica = politica_desde_entorno(os.environ)
        cuantas = {servicio: replicas(servicio, os.environ) for servicio in servicios()}
    except SystemExit as salida:
        print(f"buzon: {salida}", file=sys.stderr)
        return 1
    entorno = dict(os.environ)
    entorno["BUZON_DATA_DIR"] = str(config.data_dir)
    entorno.setdefault("PYTHONUNBUFFERED", "1")
    supervisor = Supervisor(entorno, politica)
    sistema = Sistema(entorno, config.data_dir, supervisor, cuantas)

    def al_recibir(_signum, _frame):
        supervisor.pedir_parada()

    signal.signal(signal.SIGINT, al_recibir)
    signal.signal(signal.SIGTERM, al_recibir)
    try:
        if _puerto_ocupado(config.gateway_port):
            raise SystemExit(f"El puerto {config.gateway_port} ya está en uso (¿otro sistema en marcha? "
                             "make down con su BUZON_DATA_DIR, o BUZON_GATEWAY_PORT para usar otro).")
        sistema.preparar_sustitutos()
        sistema.migrar()
        if not supervisor.deteniendo:
            sistema.iniciar_servicios()
        if sistema.esperar_salud(_url_salud(config)):
            _anunciar(config, sistema)
            while not supervisor.deteniendo:
                supervisor.vigilar()
                time.sleep(0.5)
        print("buzon: deteniendo…", flush=True)
        return 0
    except SystemExit as salida:
        print(f"buzon: {salida}", file=sys.stderr)
        return 1
    finally:
        supervisor.detener()


def _anunciar(config: Config, sistema: Sistema) -> None:
    lineas = [
        "",
        "Buzón IMSS en marcha.",
        f"  API:       {config.public_url}/api/v1/openapi.json",
        f"  Salud:     {config.public_url}/health",
        f"  Métricas:  {config.public_url}/metrics",
        *("  " + aviso for aviso in sistema.avisos),
        "",
        "Inicie sesión con una e.firma de desarrollo (la llave privada no sale de su equipo):",
        f"  BUZON_FIRMA_PASSWORD={PASSWORD_DESARROLLO} .venv/bin/buzon-firma login --url {config.public_url} \\",
        f"      --cer {sistema.data_dir}/efirmas/MAVA800101RS5.cer --key {sistema.data_dir}/efirmas/MAVA800101RS5.key",
        *_clave_de_sistema(config),
        "Ctrl-C detiene todo.",
        "",
    ]
    print("\n".join(lineas), flush=True)


def _clave_de_sistema(config: Config) -> list[str]:
    """Without BUZON_SISTEMAS_DEPOSITANTES the gateway takes one development system's key: how to deposit with it."""
    if config.sistemas_depositantes:
        return []
    from buzon_gateway.notificaciones_buzon import clave_desarrollo  # the gateway's own, made once per data folder

    return ["Deposite notificaciones como el sistema de desarrollo «desarrollo» (POST /api/v1/notificaciones):",
            f"  Authorization: Bearer {clave_desarrollo(config)}"]


# --- make up / make down: the same system in the background ---

def _archivo_pid(config: Config) -> Path:
    return config.data_dir / "buzon.pid"


def arriba(args) -> int:
    config = Config.desde_entorno()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    pid_archivo = _archivo_pid(config)
    if pid_archivo.exists() and vivo(int(pid_archivo.read_text())):
        print(f"El sistema ya está en marcha (pid {pid_archivo.read_text().strip()}).")
        return 0 if salud_ok(_url_salud(config)) else 1
    if _puerto_ocupado(config.gateway_port):
        print(f"El puerto {config.gateway_port} ya está en uso por un sistema que este BUZON_DATA_DIR no inició "
              "(make down con el suyo, o BUZON_GATEWAY_PORT para usar otro).", file=sys.stderr)
        return 1
    bitacora = config.data_dir / "buzon.log"
    with open(bitacora, "ab") as salida:
        proceso = subprocess.Popen([_bin("buzon-dev"), "local"], stdout=salida, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    pid_archivo.write_text(str(proceso.pid))
    limite = time.monotonic() + PLAZO_ARRANQUE_S + 30
    while time.monotonic() < limite:
        if salud_ok(_url_salud(config)):
            print(f"Buzón IMSS en marcha en {config.public_url} (bitácora: {bitacora}).")
            return 0
        if proceso.poll() is not None:
            pid_archivo.unlink(missing_ok=True)
            print(f"El sistema no arrancó; vea la bitácora {bitacora}:", file=sys.stderr)
            print(bitacora.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"El sistema no respondió a tiempo; vea {bitacora}.", file=sys.stderr)
    return 1


def abajo(args) -> int:
    config = Config.desde_entorno()
    pid_archivo = _archivo_pid(config)
    if not pid_archivo.exists():
        print("El sistema no estaba en marcha.")
        return 0
    pid = int(pid_archivo.read_text())
    if vivo(pid):
        os.kill(pid, signal.SIGTERM)
        limite = time.monotonic() + PLAZO_PARADA_S + 10
        while vivo(pid) and time.monotonic() < limite:
            time.sleep(0.2)
        if vivo(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_archivo.unlink(missing_ok=True)
    print("Sistema detenido.")
    return 0


def _puerto_ocupado(puerto: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) == 0


def registrar_cli(subparsers) -> None:
    local = subparsers.add_parser("local", help="inicia todo el sistema en primer plano (make run)")
    local.set_defaults(func=ejecutar)
    subparsers.add_parser("up", help="inicia el sistema en segundo plano y espera a /health (make up)").set_defaults(func=arriba)
    subparsers.add_parser("down", help="detiene lo que inició 'up' (make down)").set_defaults(func=abajo)
