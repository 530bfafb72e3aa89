"""The health probe (`buzon-servicio NOMBRE --salud`): the heartbeat every process keeps, read without HTTP.

Unit tests move the clock by hand; the integration tests run the real `buzon-servicio` in a RabbitMQ vhost of its
own, and prove liveness is about *this* process: a process cut off from the broker (its vhost deleted) is
unhealthy while it still runs, and a killed one once its window has passed.
"""
import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
import pytest

from buzon_comun import salud
from buzon_comun.latido import Latido, con_latido, consumidores, tiene_rpc_salud
from buzon_comun.ejecutar import main
from buzon_dev.pruebas import esperar
from buzon_dev.sistema import borrar_vhost, puerto_libre, vhost_propio

BIN = Path(sys.executable).parent
AHORA = 1_000_000.0


def escribir(carpeta: Path, nombre: str, pid: int, en: float, servicio: str | None = None, rpc_salud=True) -> None:
    carpeta.mkdir(parents=True, exist_ok=True)
    salud.escribir_latido(salud.archivo_latido(carpeta, nombre, pid), {
        "nombre": nombre, "pid": pid, "servicio": servicio or nombre.replace("-", "_"), "en": en,
        "rpc_salud": rpc_salud})


def ajustes(carpeta: Path, ventana_s: float = 30.0) -> salud.Ajustes:
    return salud.Ajustes(carpeta=carpeta, intervalo_s=5.0, ventana_s=ventana_s)


def sondear(carpeta, nombre, **opciones):
    opciones.setdefault("ahora", lambda: AHORA)
    return salud.sondear(nombre, ajustes(carpeta), uri="amqp://nadie", **opciones)


# --- reading heartbeats (no broker) ---

def test_a_fresh_heartbeat_is_alive_and_an_old_one_is_not(tmp_path):
    escribir(tmp_path, "contactos", 10, AHORA - 29)
    escribir(tmp_path, "auth", 11, AHORA - 31)
    vivo = sondear(tmp_path, "contactos")
    assert vivo.sano and vivo.codigo == 0 and "contactos: vivo (pid 10" in vivo.mensaje
    viejo = sondear(tmp_path, "auth")
    assert not viejo.sano and viejo.codigo == 1
    assert "hace 31 s" in viejo.mensaje and "ventana de 30 s" in viejo.mensaje
    assert sondear(tmp_path, "auth", ventana_s=40).sano


def test_no_heartbeat_names_the_folder_and_the_variable(tmp_path):
    resultado = sondear(tmp_path / "vacia", "bitacora")
    assert not resultado.sano
    assert str(tmp_path / "vacia") in resultado.mensaje and "BUZON_SALUD_DIR" in resultado.mensaje


def test_the_newest_process_of_a_kind_outlives_the_file_of_one_that_died(tmp_path):
    # A container restarted in the same pod finds its predecessor's file in the emptyDir.
    escribir(tmp_path, "acuses", 1, AHORA - 3600)
    escribir(tmp_path, "acuses", 7, AHORA - 1)
    assert "pid 7" in sondear(tmp_path, "acuses").mensaje
    # --pid asks for one process: the dead one is not alive.
    assert not sondear(tmp_path, "acuses", pid=1).sano
    assert "no hay latido del pid 9" in sondear(tmp_path, "acuses", pid=9).mensaje


def test_a_kind_is_not_taken_for_another_whose_name_it_begins(tmp_path):
    escribir(tmp_path, "acuses-render", 5, AHORA)
    assert not sondear(tmp_path, "acuses").sano
    escribir(tmp_path, "notificaciones-correo", 6, AHORA)
    assert not sondear(tmp_path, "notificaciones").sano
    assert sondear(tmp_path, "acuses-render").sano


def test_without_a_name_every_kind_in_the_folder_must_be_alive(tmp_path):
    assert not sondear(tmp_path, None).sano
    escribir(tmp_path, "gateway", 1, AHORA - 1, rpc_salud=False)
    assert sondear(tmp_path, None).sano
    escribir(tmp_path, "sms", 2, AHORA - 100)
    resultado = sondear(tmp_path, None)
    assert not resultado.sano and resultado.mensaje.startswith("sms:")


def test_a_half_written_or_foreign_file_is_not_a_heartbeat(tmp_path):
    (tmp_path / "auth.3.latido").write_text("{no es json", encoding="utf-8")
    (tmp_path / "auth.4.latido").write_text(json.dumps({"otra": "cosa"}), encoding="utf-8")
    assert not sondear(tmp_path, "auth").sano


# --- readiness (the kind's salud RPC, faked here) ---

def test_ready_asks_the_kinds_salud_rpc_and_the_gateway_the_broker(tmp_path):
    escribir(tmp_path, "notificaciones-sms", 3, AHORA)
    escribir(tmp_path, "gateway", 4, AHORA, rpc_salud=False)
    llamadas, buses = [], []

    def llamar(uri, servicio, plazo_s):
        llamadas.append((servicio, plazo_s))

    def bus(uri, plazo_s):
        buses.append(plazo_s)

    listo = sondear(tmp_path, "notificaciones-sms", listo=True, plazo_s=2, llamar=llamar, bus=bus)
    assert listo.sano and "notificaciones-sms: listo (pid 3" in listo.mensaje
    assert llamadas == [("notificaciones_sms", 2)] and buses == []
    assert sondear(tmp_path, "gateway", listo=True, plazo_s=2, llamar=llamar, bus=bus).sano
    assert buses == [2]
    # Liveness alone asks nobody.
    assert sondear(tmp_path, "gateway", llamar=llamar, bus=bus).sano and len(llamadas) == 1 and len(buses) == 1


def test_not_ready_says_why(tmp_path):
    escribir(tmp_path, "contactos", 3, AHORA)
    resultado = sondear(tmp_path, "contactos", listo=True, llamar=lambda *_: "contactos no respondió su RPC salud en 5 s")
    assert not resultado.sano and resultado.codigo == 1
    assert resultado.mensaje == "contactos: no está listo: contactos no respondió su RPC salud en 5 s"


def test_a_dead_process_is_not_ready_and_nobody_is_asked(tmp_path):
    escribir(tmp_path, "contactos", 3, AHORA - 60)
    resultado = sondear(tmp_path, "contactos", listo=True, llamar=lambda *_: pytest.fail("no debe preguntar"))
    assert not resultado.sano


# --- the heartbeat writer ---

class Contenedor:
    """What the heartbeat reads of its nameko container."""

    def __init__(self, service_name: str):
        self.service_name = service_name
        self.entrypoints = set()
        self.shared_extensions = {}


class Reloj:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_the_heartbeat_is_written_at_most_every_interval_and_removed_on_stop(tmp_path):
    reloj = Reloj()
    contenedor = Contenedor("notificaciones_correo")
    latido = Latido("notificaciones-correo", salud.Ajustes(tmp_path / "s", 5.0, 30.0), reloj).bind(
        contenedor, "_latido_salud")
    latido.setup()
    archivo = salud.archivo_latido(tmp_path / "s", "notificaciones-correo", os.getpid())
    latido.latir()
    primero = json.loads(archivo.read_text(encoding="utf-8"))
    assert primero["servicio"] == "notificaciones_correo" and primero["pid"] == os.getpid()
    assert primero["rpc_salud"] is False
    reloj.t = 4.9
    latido.latir()
    assert json.loads(archivo.read_text(encoding="utf-8"))["en"] == primero["en"]
    reloj.t = 5.0
    time.sleep(0.01)  # the wall clock the file holds must move, for this assertion only
    latido.latir()
    assert json.loads(archivo.read_text(encoding="utf-8"))["en"] > primero["en"]
    latido.stop()
    assert not archivo.exists()
    reloj.t = 100.0
    latido.latir()  # the consumer loop going round once more while stopping
    assert not archivo.exists()


def test_an_unwritable_folder_is_logged_once_and_never_raises(tmp_path, caplog):
    (tmp_path / "archivo").write_text("no soy carpeta", encoding="utf-8")
    contenedor = Contenedor("auth")
    reloj = Reloj()
    latido = Latido("auth", salud.Ajustes(tmp_path / "archivo" / "s", 1.0, 30.0), reloj).bind(contenedor, "x")
    latido.setup()
    for t in (0, 2, 4):
        reloj.t = t
        latido.latir()
    assert len([r for r in caplog.records if "BUZON_SALUD_DIR" in r.getMessage()]) == 1
    latido.kill()


# Every kind `buzon-servicio` runs: each gets the heartbeat on its consumer loop, and every one but the gateway
# answers a `salud` RPC.
TIPOS = sorted(ep.name for ep in entry_points(group="buzon.servicios"))


def test_every_worker_kind_is_covered():
    assert {"auth", "contactos", "notificaciones", "notificaciones-correo", "notificaciones-sms", "activacion",
            "acuses", "bitacora", "gateway"} <= set(TIPOS)


@pytest.mark.parametrize("nombre", TIPOS)
def test_every_kind_gets_a_heartbeat_on_its_consumer_loop(nombre, tmp_path):
    from nameko.containers import ServiceContainer

    clase = next(ep for ep in entry_points(group="buzon.servicios") if ep.name == nombre).load()
    envuelta = con_latido(clase, nombre, ajustes(tmp_path))
    assert envuelta.name == clase.name and issubclass(envuelta, clase)
    contenedor = ServiceContainer(envuelta, {"AMQP_URI": "amqp://nadie"})
    assert [d for d in contenedor.dependencies if isinstance(d, Latido)]
    assert consumidores(contenedor), "sin bucle de consumo no hay latido"
    assert tiene_rpc_salud(contenedor) == (nombre != "gateway")


# --- the command line ---

def test_the_cli_probe_answers_1_with_a_spanish_message_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BUZON_SALUD_DIR", str(tmp_path))
    assert main(["contactos", "--salud"]) == 1
    assert "contactos: no hay latido" in capsys.readouterr().err
    escribir(tmp_path, "contactos", 12, time.time())
    assert main(["contactos", "--salud"]) == 0
    assert "contactos: vivo (pid 12" in capsys.readouterr().out
    monkeypatch.setenv("BUZON_SALUD_VENTANA_S", "nada")
    assert main(["contactos", "--salud"]) == 1
    assert "BUZON_SALUD_VENTANA_S" in capsys.readouterr().err


def test_running_needs_a_name(capsys):
    with pytest.raises(SystemExit) as salida:
        main([])
    assert salida.value.code == 2 and "falta NOMBRE" in capsys.readouterr().err


# --- against the local broker: the real command, a process of its own ---

@pytest.fixture
def vhost(request):
    nombre = f"buzon-salud-{os.getpid()}-{request.node.name[:40]}"
    yield vhost_propio(nombre)
    borrar_vhost(nombre)


class Proceso:
    """`buzon-servicio NOMBRE` as an operator starts it, heartbeat every 0.2 s into a folder of the test."""

    def __init__(self, nombre: str, carpeta: Path, entorno: dict):
        self.nombre = nombre
        self.carpeta = carpeta
        self.entorno = entorno
        self.registro = carpeta.parent / f"{nombre}.log"
        with open(self.registro, "wb") as registro:
            self.proceso = subprocess.Popen([str(BIN / "buzon-servicio"), nombre], env=entorno, stdout=registro,
                                            stderr=subprocess.STDOUT)

    def sonda(self, *opciones: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "buzon-servicio"), self.nombre, "--salud", *opciones], env=self.entorno,
                              capture_output=True, text=True, timeout=30)

    def esperar_latido(self) -> None:
        def late() -> bool:
            resultado = salud.sondear(self.nombre, salud.Ajustes(self.carpeta, 0.2, 2.0), uri="", pid=self.proceso.pid)
            return self.proceso.poll() is not None or resultado.sano

        esperar(late, plazo=60, mensaje=f"{self.nombre} no latió")
        assert self.proceso.poll() is None, self.registro.read_text(errors="replace")

    def latido(self) -> salud.LatidoLeido:
        return salud.leer_latidos(self.carpeta, self.nombre, self.proceso.pid)[0]

    def terminar(self) -> None:
        if self.proceso.poll() is None:
            self.proceso.kill()
        self.proceso.wait(timeout=30)


@pytest.fixture
def lanzar(tmp_path, vhost, url_bd):
    lanzados = []
    carpeta = tmp_path / "salud"

    def lanzar_(nombre: str, **variables: str) -> Proceso:
        entorno = {**os.environ, "BUZON_AMQP_URI": vhost, "BUZON_DATABASE_URL": url_bd,
                   "BUZON_DATA_DIR": str(tmp_path / "datos"), "BUZON_SALUD_DIR": str(carpeta),
                   "BUZON_SALUD_INTERVALO_S": "0.2", "BUZON_METRICAS_PUERTO": "0",
                   "BUZON_GATEWAY_PORT": str(puerto_libre()), **variables}
        proceso = Proceso(nombre, carpeta, entorno)
        lanzados.append(proceso)
        return proceso

    yield lanzar_
    for proceso in lanzados:
        proceso.terminar()


def esperar_ventana(latido: salud.LatidoLeido, ventana_s: float) -> None:
    """Until the window after `latido` has passed (nothing refreshes it any more: its process is dead or cut off)."""
    time.sleep(max(0.0, latido.en + ventana_s - time.time()) + 0.1)


def test_a_running_service_is_alive_and_ready_and_dead_once_killed(lanzar):
    activacion = lanzar("activacion")
    activacion.esperar_latido()
    vivo = activacion.sonda()
    assert vivo.returncode == 0 and f"activacion: vivo (pid {activacion.proceso.pid}" in vivo.stdout
    listo = activacion.sonda("--listo", "--plazo", "5")
    assert listo.returncode == 0, listo.stderr
    assert "activacion: listo" in listo.stdout
    # Another kind has no heartbeat here: the same folder does not make it alive.
    otro = subprocess.run([str(BIN / "buzon-servicio"), "contactos", "--salud"], env=activacion.entorno,
                          capture_output=True, text=True, timeout=30)
    assert otro.returncode == 1 and "contactos: no hay latido" in otro.stderr

    activacion.proceso.send_signal(signal.SIGKILL)
    activacion.proceso.wait(timeout=10)
    ultimo = activacion.latido()  # a killed process leaves its file behind
    esperar_ventana(ultimo, 1.0)
    muerto = activacion.sonda("--ventana", "1")
    assert muerto.returncode == 1 and "más que la ventana de 1 s" in muerto.stderr, muerto.stderr
    # Its kind has nobody to answer any more either: the request expires with the deadline.
    sin_respuesta = activacion.sonda("--listo", "--plazo", "1", "--ventana", "3600")
    assert sin_respuesta.returncode == 1
    assert "activacion no respondió su RPC salud en 1 s" in sin_respuesta.stderr


def test_a_process_cut_off_from_the_broker_is_not_alive_though_it_runs(lanzar, vhost):
    # Its database is not there: alive (its own loop and connection are fine) but not ready.
    activacion = lanzar("activacion", BUZON_DATABASE_URL="postgresql://buzon:buzon@127.0.0.1:5432/no_existe_h4")
    activacion.esperar_latido()
    sin_bd = activacion.sonda("--listo", "--plazo", "5", "--ventana", "2")
    assert sin_bd.returncode == 1 and "activacion no llega a su base de datos" in sin_bd.stderr, sin_bd.stderr

    # Deleting its vhost closes its connection and every reconnection fails: nameko retries forever.
    borrar_vhost(vhost.rsplit("/", 1)[1])
    esperar(lambda: activacion.sonda("--ventana", "1").returncode == 1, plazo=30,
            mensaje="el latido siguió sin conexión con RabbitMQ")
    assert activacion.proceso.poll() is None, "the process still runs: only its heartbeat tells"
    assert "no está conectado a RabbitMQ" in activacion.sonda("--ventana", "1").stderr


def test_the_gateway_has_a_heartbeat_too_and_a_graceful_stop_removes_it(lanzar):
    gateway = lanzar("gateway")
    gateway.esperar_latido()
    listo = gateway.sonda("--listo", "--plazo", "5")
    assert listo.returncode == 0 and "gateway: listo" in listo.stdout, listo.stderr
    gateway.proceso.send_signal(signal.SIGTERM)
    assert gateway.proceso.wait(timeout=30) == 0
    ido = gateway.sonda()
    assert ido.returncode == 1 and "gateway: no hay latido" in ido.stderr


def test_the_probe_loads_neither_eventlet_nor_nameko(tmp_path):
    """Kubernetes runs it every few seconds in every pod: it must not pay for the service's stack."""
    codigo = ("import sys\nfrom buzon_comun import entrada\nrc = entrada.main(['auth', '--salud'])\n"
              "print(rc, sorted(m for m in ('eventlet', 'nameko', 'sqlalchemy') if m in sys.modules))")
    salida = subprocess.run([sys.executable, "-c", codigo], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BUZON_SALUD_DIR": str(tmp_path)})
    assert salida.stdout.split("\n")[-2] == f"{salud.ENFERMO} []", salida.stdout + salida.stderr
