"""The render pool on small plain functions (no WeasyPrint, so each process starts in a fraction of a second): a
task past its time limit or whose process dies costs only that process, which is replaced; every process is named
for `ps` and `pgrep`; a stop ends them all, and so does the death of their owner."""
import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import eventlet
import pytest

from buzon_dev.procesos import nombre, padre, vivo
from buzon_dev.pruebas import esperar
from buzon_acuses import procesos
from buzon_acuses.procesos import (ErrorEnProceso, GrupoDeProcesos, GrupoDetenido, PlazoAgotado, ProcesoCaido,
                                   nombrar_proceso)

NOMBRE = "acuses-render"
CARPETA = Path(__file__).parent
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's")


@pytest.fixture
def pruebas(monkeypatch):
    """The module of test functions, importable by the pool's processes too (they inherit sys.path)."""
    monkeypatch.syspath_prepend(str(CARPETA))
    return importlib.import_module("renders_de_prueba")


@pytest.fixture
def grupo_de(pruebas):
    grupos = []

    def crear(procesos=2, plazo_s=5.0, funcion=None):
        grupo = GrupoDeProcesos(funcion or pruebas.tarea, procesos=procesos, plazo_s=plazo_s, nombre=NOMBRE,
                                dormir=eventlet.sleep)
        grupo.iniciar()
        grupos.append(grupo)
        return grupo

    yield crear
    for grupo in grupos:
        grupo.matar()



def pids_de_tareas(grupo, cuantas):
    """The pid of each process, asked from inside with tasks that overlap so that every process takes one."""
    hilos = [eventlet.spawn(grupo.ejecutar, "pid") for _ in range(cuantas)]
    return {hilo.wait() for hilo in hilos}


@linux
def test_each_process_is_named_for_ps_and_pgrep_under_its_owner(grupo_de):
    grupo = grupo_de(procesos=2)
    assert grupo.ejecutar("nombre") == NOMBRE
    assert esperar(lambda: all(nombre(pid) == NOMBRE for pid in grupo.pids()))
    assert len(grupo.pids()) == 2
    for pid in grupo.pids():
        assert padre(pid) == os.getpid()
    encontrados = subprocess.run(["pgrep", "-P", str(os.getpid()), "render"], capture_output=True, text=True)
    assert set(grupo.pids()) <= {int(p) for p in encontrados.stdout.split()}


def test_the_processes_run_below_their_owner_s_priority(grupo_de):
    grupo = grupo_de(procesos=1)
    grupo.ejecutar("pid")
    [pid] = grupo.pids()
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + procesos.CORTESIA


def test_a_name_is_cut_to_what_the_kernel_keeps_and_never_fails():
    nombrar_proceso("x" * 40)  # no error: the kernel keeps 15 characters and the pool never asks for more
    nombrar_proceso("ñandú")  # not ASCII: left as it was, silently
    assert GrupoDeProcesos(print, nombre="buzon-acuses-render").nombre == "buzon-acuses-re"


def test_results_and_exceptions_come_back(grupo_de):
    grupo = grupo_de(procesos=1)
    assert grupo.ejecutar("eco", {"folio": "REG-1", "bytes": b"\x00\xff" * 100_000}) == {
        "folio": "REG-1", "bytes": b"\x00\xff" * 100_000}
    antes = grupo.pids()
    with pytest.raises(ErrorEnProceso, match="ValueError: sin tipografía") as error:
        grupo.ejecutar("fallar", "sin tipografía")
    assert error.value.motivo == "error"
    # An exception is the function's, not the process's: the same process goes on.
    assert grupo.pids() == antes and grupo.ejecutar("eco", 7) == 7


def test_a_task_past_its_limit_is_abandoned_its_process_killed_and_replaced(grupo_de):
    grupo = grupo_de(procesos=2, plazo_s=1.0)
    antes = set(grupo.pids())
    inicio = time.monotonic()
    hilo = eventlet.spawn(grupo.ejecutar, "dormir", 60)
    eventlet.sleep(0.2)
    # The other process keeps working meanwhile: one hung task never blocks the rest.
    assert [grupo.ejecutar("eco", n) for n in range(20)] == list(range(20))
    with pytest.raises(PlazoAgotado) as error:
        hilo.wait()
    assert error.value.motivo == "plazo"
    assert time.monotonic() - inicio < 3
    despues = set(grupo.pids())
    [colgado] = antes - despues
    assert len(despues) == 2 and len(despues - antes) == 1
    # SIGKILLed without waiting: it is gone as soon as the kernel runs it again (below the owner's priority, on a
    # busy machine, a moment later).
    assert esperar(lambda: not vivo(colgado), plazo=10)
    assert pids_de_tareas(grupo, 2) == despues


def test_tasks_past_their_limit_at_once_each_get_their_own_timeout_and_the_pool_recovers(grupo_de):
    """Every process hung at once (an overloaded machine), with more tasks waiting for a place and the watcher
    running: each hung task is a PlazoAgotado (a "try again" for its download), whatever the others and the watcher
    start or collect meanwhile, and the tasks behind them are served by the replacements."""
    grupo = grupo_de(procesos=2, plazo_s=1.0)
    antes = set(grupo.pids())

    def ejecutar(*argumentos):
        try:
            return grupo.ejecutar(*argumentos)
        except Exception as exc:  # noqa: BLE001 - what each caller got is what is checked
            return exc

    def vigilar():
        # As the service's watcher does (every second there; here often, so it is there when a task times out).
        while True:
            grupo.revisar()
            eventlet.sleep(0.001)

    vigia = eventlet.spawn(vigilar)
    colgadas = [eventlet.spawn(ejecutar, "dormir", 60) for _ in range(2)]
    eventlet.sleep(0.2)
    detras = [eventlet.spawn(ejecutar, "eco", n) for n in range(4)]
    resultados = [hilo.wait() for hilo in colgadas]
    vigia.kill()
    assert all(isinstance(r, PlazoAgotado) for r in resultados), resultados
    assert [hilo.wait() for hilo in detras] == list(range(4))
    despues = set(grupo.pids())
    assert len(despues) == 2 and not antes & despues
    assert pids_de_tareas(grupo, 2) == despues


@pytest.mark.parametrize("orden, valor, causa", [("salir", 3, "código 3"), ("matarse", None, "SIGKILL")])
def test_a_process_that_dies_mid_task_is_replaced(grupo_de, orden, valor, causa):
    grupo = grupo_de(procesos=1)
    antes = grupo.pids()
    with pytest.raises(ProcesoCaido, match=causa) as error:
        grupo.ejecutar(orden, valor)
    assert error.value.motivo == "proceso"
    assert grupo.ejecutar("eco", "sigue") == "sigue"
    assert grupo.pids() and grupo.pids() != antes


def test_a_process_killed_from_outside_mid_task_fails_only_that_task(grupo_de):
    """As an operator's (or the fault suite's) kill -9 of a renderer in the middle of a render."""
    grupo = grupo_de(procesos=2, plazo_s=30)
    pid = grupo.ejecutar("pid")
    hilos = [eventlet.spawn(grupo.ejecutar, "dormir", 1.0) for _ in range(2)]
    eventlet.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    resultados = []
    for hilo in hilos:
        try:
            resultados.append(hilo.wait())
        except ProcesoCaido:
            resultados.append("caido")
    assert sorted(resultados, key=str) == [1.0, "caido"]
    assert len(grupo.pids()) == 2 and pid not in grupo.pids()


def test_a_process_that_died_while_idle_is_replaced_before_the_next_task(grupo_de):
    grupo = grupo_de(procesos=1)
    [pid] = grupo.pids()
    os.kill(pid, signal.SIGKILL)
    assert esperar(lambda: not vivo(pid) or pid not in grupo.pids())
    # Not this task's fault: it runs in a fresh process and succeeds.
    assert grupo.ejecutar("eco", "otra vez") == "otra vez"


@linux
def test_a_check_replaces_idle_processes_that_died_and_leaves_no_zombie(grupo_de):
    grupo = grupo_de(procesos=2)
    antes = grupo.pids()
    os.kill(antes[0], signal.SIGKILL)
    assert esperar(lambda: not vivo(antes[0]))
    grupo.revisar()
    assert not os.path.exists(f"/proc/{antes[0]}"), "el proceso muerto quedó como zombi"
    despues = grupo.pids()
    assert len(despues) == 2 and antes[1] in despues and antes[0] not in despues
    assert pids_de_tareas(grupo, 2) == set(despues)


def test_tasks_wait_their_turn_for_a_free_process(grupo_de):
    grupo = grupo_de(procesos=2)
    inicio = time.monotonic()
    hilos = [eventlet.spawn(grupo.ejecutar, "dormir", 0.3) for _ in range(6)]
    assert [hilo.wait() for hilo in hilos] == [0.3] * 6
    # Six tasks of 0.3 s on two processes: three rounds, never more than two at once.
    assert 0.85 < time.monotonic() - inicio < 3


@linux
def test_a_stop_lets_running_tasks_finish_then_leaves_no_process(grupo_de):
    grupo = grupo_de(procesos=2)
    pids = grupo.pids()
    hilo = eventlet.spawn(grupo.ejecutar, "dormir", 0.3)
    eventlet.sleep(0.05)
    grupo.detener(plazo_s=5)
    assert hilo.wait() == 0.3
    assert grupo.pids() == [] and not any(vivo(pid) for pid in pids)
    with pytest.raises(GrupoDetenido):
        grupo.ejecutar("eco", 1)


@linux
def test_a_stop_abandons_a_task_past_its_bound_and_leaves_no_process(grupo_de):
    grupo = grupo_de(procesos=2, plazo_s=60)
    pids = grupo.pids()
    hilo = eventlet.spawn(grupo.ejecutar, "dormir", 60)
    eventlet.sleep(0.2)
    inicio = time.monotonic()
    grupo.detener(plazo_s=0.5)
    assert time.monotonic() - inicio < 3
    # Abandoned through no fault of its own: GrupoDetenido, not a failure to count against the acuse.
    with pytest.raises(GrupoDetenido):
        hilo.wait()
    assert not any(vivo(pid) for pid in pids)


@linux
def test_kill_ends_every_process_at_once(grupo_de):
    grupo = grupo_de(procesos=3)
    pids = grupo.pids()
    assert len(pids) == 3
    grupo.matar()
    assert not any(vivo(pid) for pid in pids)


@linux
def test_the_processes_die_with_their_owner(pruebas, tmp_path):
    """Even when the owner is killed with SIGKILL and can't stop them, none is left orphaned."""
    dueno = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(CARPETA)!r})
            import renders_de_prueba
            from buzon_acuses.procesos import GrupoDeProcesos
            grupo = GrupoDeProcesos(renders_de_prueba.tarea, procesos=2, nombre={NOMBRE!r})
            grupo.iniciar()
            grupo.ejecutar("eco", 1)
            print(*grupo.pids(), flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in dueno.stdout.readline().split()]
        assert len(pids) == 2 and all(vivo(pid) for pid in pids)
        dueno.kill()
        dueno.wait(10)
        assert esperar(lambda: not any(vivo(pid) for pid in pids), plazo=10), "quedaron procesos huérfanos"
    finally:
        dueno.kill()
        dueno.wait(10)
