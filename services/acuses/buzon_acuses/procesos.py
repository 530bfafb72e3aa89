"""A small pool of spawned processes that runs one function, where any one process can be killed and replaced.

`concurrent.futures.ProcessPoolExecutor` can't abandon one task: a render that hangs holds its process for good,
and a process that dies breaks the whole pool (every other task in flight fails with it). Here each process has
its own pipe and runs one task at a time, so the owner can kill exactly the one that is late or gone, start
another in its place, and leave the rest alone.

- `spawn`, never `fork`: the owner is an eventlet-patched service, and a fork would copy its hub and sockets.
- The owner waits for a process's answer with the `esperar_lectura(fd, plazo_s)` it is given (in the service, the
  eventlet hub wakes the caller when the pipe has the answer; elsewhere `select`), and for a free place on a
  condition notified when one frees up, so no wait polls, none blocks an event loop, and this module stays free
  of eventlet and nameko. `al_cerrar(fd)` is told before a pipe is closed (the hub forgets it, so a waiter on it
  wakes and its number can be reused).
- Each process names itself (`prctl(PR_SET_NAME)`, e.g. "acuses-render"), so `pgrep render` or `ps -o comm`
  find it under its owner, and asks the kernel to kill it if its owner dies, so none is left orphaned.
"""
from __future__ import annotations

import ctypes
import itertools
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

ESPERA_S = 0.005
# The kernel keeps at most 15 bytes of a process's name (comm).
LARGO_NOMBRE = 15
MAXIMO_DETALLE = 300
# A process killed with SIGKILL is gone in milliseconds; this only bounds a wait that should never be long.
PLAZO_FIN_S = 5.0
# The longest a waiter sleeps before looking again whether the pool was stopped meanwhile.
REVISION_S = 0.5

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


class FallaDeRender(Exception):
    """A task that didn't give its result; `motivo` names why, as the metrics count it."""

    motivo = "error"


class PlazoAgotado(FallaDeRender):
    motivo = "plazo"


class ProcesoCaido(FallaDeRender):
    motivo = "proceso"


class ErrorEnProceso(FallaDeRender):
    """The function raised in its process; the message carries the exception's type and text."""

    motivo = "error"


class GrupoDetenido(Exception):
    """The pool is stopping or stopped: the task was not run (or was abandoned), through no fault of its own."""


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def nombrar_proceso(nombre: str) -> None:
    """Give the calling process the name `ps -o comm`, `pgrep` and /proc/<pid>/comm show (Linux only)."""
    libc = _libc()
    if libc is None:
        return
    try:
        libc.prctl(_PR_SET_NAME, nombre.encode("ascii")[:LARGO_NOMBRE], 0, 0, 0)
    except (AttributeError, UnicodeEncodeError):
        pass


def morir_con(padre: int) -> None:
    """Have the kernel kill this process when its owner dies (even by SIGKILL): no render outlives its service."""
    libc = _libc()
    if libc is not None:
        try:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except AttributeError:
            pass
    # The owner may have died before the request above was made: then nobody would ever send the signal.
    if os.getppid() != padre:
        os._exit(0)


def _principal(conexion, funcion: Callable, al_iniciar: Callable | None, nombre: str, padre: int) -> None:
    """The body of each process: name itself, warm up, then answer one task at a time until told to stop."""
    nombrar_proceso(nombre)
    morir_con(padre)
    # Renders are batch work: below the event loops of the services (acuses' own included), so a burst of renders
    # uses the CPU they leave and never slows the cheap calls (measured in make bench: acuses.salud's p99).
    os.nice(CORTESIA)
    # An eventlet-patched owner makes its socket pairs non-blocking, and that flag travels with this end: here
    # the wait for the next task is meant to block.
    os.set_blocking(conexion.fileno(), True)
    # Ctrl-C in a terminal reaches the whole process group; the owner decides when its processes stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if al_iniciar is not None:
        al_iniciar()
    while True:
        try:
            mensaje = conexion.recv()
        except (EOFError, OSError):
            return  # the owner is gone
        if mensaje is None:
            return
        numero, argumentos = mensaje
        try:
            respuesta = (numero, True, funcion(*argumentos))
        except Exception as exc:  # noqa: BLE001 - the owner decides what a failure means
            respuesta = (numero, False, _detalle(exc))
        try:
            conexion.send(respuesta)
        except (BrokenPipeError, EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a result that can't be pickled
            conexion.send((numero, False, _detalle(exc)))


# The niceness of the pool's processes (0 is the services' own; 19 the lowest priority).
CORTESIA = 10


def _esperar_con_select(fd: int, plazo_s: float) -> None:
    select.select([fd], [], [], plazo_s)


def _detalle(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAXIMO_DETALLE]


@dataclass(eq=False)
class _Ranura:
    """One place in the pool: at most one process, running at most one task."""

    proceso: multiprocessing.process.BaseProcess | None = None
    conexion: object = None
    ocupada: bool = False


class GrupoDeProcesos:
    """`ejecutar(*args)` runs `funcion(*args)` in one of `procesos` spawned processes and gives its result.

    A task that takes longer than `plazo_s` is abandoned: its process is killed and replaced, and the call raises
    PlazoAgotado. A process that dies mid-task (killed, out of memory) is replaced and the call raises
    ProcesoCaido; an exception in the function is ErrorEnProceso. Either way the other processes and their tasks
    are untouched. `funcion` and `al_iniciar` (run once as each process starts, e.g. to import a heavy library)
    must be importable at module level: they travel to the process by name.
    """

    def __init__(self, funcion: Callable, *, procesos: int = 1, plazo_s: float = 60.0, nombre: str = "render",
                 al_iniciar: Callable | None = None, dormir: Callable[[float], None] = time.sleep,
                 espera_s: float = ESPERA_S, esperar_lectura: Callable[[int, float], None] = _esperar_con_select,
                 al_cerrar: Callable[[int], None] | None = None):
        if procesos < 1 or plazo_s <= 0:
            raise ValueError("el grupo necesita al menos un proceso y un plazo positivo")
        self.funcion = funcion
        self.procesos = procesos
        self.plazo_s = plazo_s
        self.nombre = nombre[:LARGO_NOMBRE]
        self.al_iniciar = al_iniciar
        self.dormir = dormir
        self.espera_s = espera_s
        self.esperar_lectura = esperar_lectura
        self.al_cerrar = al_cerrar
        self._contexto = multiprocessing.get_context("spawn")
        self._ranuras = [_Ranura() for _ in range(procesos)]
        self._turnos: deque[object] = deque()
        self._terminados: list = []
        self._numeros = itertools.count()
        self._candado = threading.Lock()
        # Notified whenever a place frees up or the pool stops: callers waiting for a place wake then.
        self._libre = threading.Condition(self._candado)
        self._cerrado = False

    # -- life cycle --------------------------------------------------------------------------------------------

    def iniciar(self) -> None:
        """Start every process now, so their warm-up is done before the first task arrives."""
        for ranura in self._ranuras:
            if ranura.proceso is None:
                self._arrancar(ranura)

    def revisar(self) -> None:
        """Replace idle processes that died (killed by hand, out of memory) and collect the dead, so the pool is
        back to full strength, warmed up, before the next task and no dead process lingers as a zombie."""
        if self._cerrado:
            return
        self._cosechar()
        for ranura in self._ranuras:
            proceso = ranura.proceso
            if not ranura.ocupada and proceso is not None and proceso.exitcode is not None:
                log.warning("el proceso %s (pid %s) terminó sin tarea (%s); se reemplaza", self.nombre, proceso.pid,
                            _salida(proceso.exitcode))
                self._reemplazar(ranura)

    def pids(self) -> list[int]:
        """The processes of this pool alive now (for tests and operators)."""
        return [r.proceso.pid for r in self._ranuras if r.proceso is not None and r.proceso.is_alive()]

    def detener(self, plazo_s: float = 5.0) -> None:
        """Take no more tasks, let those in flight finish within `plazo_s`, then end every process.

        A task still running past that bound is abandoned (its caller gets GrupoDetenido), so a stop never waits
        on a hung render for longer than the bound."""
        self._cerrar()
        limite = time.monotonic() + plazo_s
        while any(r.ocupada for r in self._ranuras) and time.monotonic() < limite:
            self.dormir(self.espera_s)
        for ranura in self._ranuras:
            if not ranura.ocupada and ranura.conexion is not None:
                try:
                    ranura.conexion.send(None)
                except (OSError, EOFError):
                    pass
        limite = time.monotonic() + min(plazo_s, 1.0)
        while any(r.proceso is not None and r.proceso.exitcode is None and not r.ocupada for r in self._ranuras) \
                and time.monotonic() < limite:
            self.dormir(self.espera_s)
        self.matar()

    def matar(self) -> None:
        """End every process now (SIGKILL); tasks in flight are abandoned and their callers get GrupoDetenido."""
        self._cerrar()
        for ranura in self._ranuras:
            self._soltar(ranura)
        limite = time.monotonic() + PLAZO_FIN_S
        while self._terminados and time.monotonic() < limite:
            self._cosechar()
            if self._terminados:
                self.dormir(self.espera_s)

    def _cerrar(self) -> None:
        with self._libre:
            self._cerrado = True
            self._libre.notify_all()

    # -- tasks -------------------------------------------------------------------------------------------------

    def ejecutar(self, *argumentos):
        if self._cerrado:
            raise GrupoDetenido("el grupo de procesos está detenido")
        ranura = self._tomar()
        try:
            return self._en(ranura, argumentos)
        except (FallaDeRender, GrupoDetenido):
            raise
        except BaseException:
            # Abandoned mid-task (the caller's green thread killed, or a bug here): the process may still be
            # working and would hand this answer to the next caller. It goes; the next task starts another.
            self._soltar(ranura)
            raise
        finally:
            with self._libre:
                ranura.ocupada = False
                self._libre.notify_all()

    def _tomar(self) -> _Ranura:
        """A free place, in order of arrival: waiting callers are served first come, first served."""
        turno = object()
        with self._libre:
            self._turnos.append(turno)
            try:
                while True:
                    if self._cerrado:
                        raise GrupoDetenido("el grupo de procesos se detuvo")
                    if self._turnos[0] is turno:
                        libre = next((r for r in self._ranuras if not r.ocupada), None)
                        if libre is not None:
                            libre.ocupada = True
                            return libre
                    self._libre.wait(REVISION_S)
            finally:
                self._turnos.remove(turno)
                # The next in line may be able to go now.
                self._libre.notify_all()

    def _en(self, ranura: _Ranura, argumentos: tuple):
        self._cosechar()
        if ranura.proceso is None or ranura.proceso.exitcode is not None:
            # Died while idle (e.g. killed by hand), or abandoned earlier: a fresh one takes this task.
            if ranura.proceso is not None:
                log.warning("el proceso %s (pid %s) había terminado (%s); se reemplaza", self.nombre,
                            ranura.proceso.pid, _salida(ranura.proceso.exitcode))
            self._reemplazar(ranura)
        proceso, conexion = ranura.proceso, ranura.conexion
        numero = next(self._numeros)
        try:
            conexion.send((numero, argumentos))
        except (OSError, EOFError):
            return self._caido(ranura, proceso)
        limite = time.monotonic() + self.plazo_s
        while True:
            if ranura.proceso is not proceso:
                # The pool was stopped (or killed) meanwhile and took the process away.
                raise GrupoDetenido("el grupo de procesos se detuvo durante la tarea")
            try:
                if conexion.poll():
                    recibido, ok, valor = conexion.recv()
                    if recibido != numero:
                        # Can't happen while one caller holds a place; if it did, the answer is someone else's.
                        self._soltar(ranura)
                        raise ProcesoCaido(f"respuesta ajena del proceso ({recibido} en vez de {numero})")
                    if ok:
                        return valor
                    raise ErrorEnProceso(valor)
            except (EOFError, OSError):
                return self._caido(ranura, proceso)
            if proceso.exitcode is not None:
                return self._caido(ranura, proceso)
            resto = limite - time.monotonic()
            if resto <= 0:
                # Read before it goes: starting its replacement may yield, and whoever runs then (another task, the
                # watcher) may collect the killed process and close its object.
                pid = proceso.pid
                self._reemplazar(ranura)
                log.error("una tarea de %s excedió %g s: su proceso (pid %s) se terminó y se reemplazó",
                          self.nombre, self.plazo_s, pid)
                raise PlazoAgotado(f"la tarea excedió {self.plazo_s:g} s")
            # The answer, or the process's end (the pipe's EOF), makes the pipe readable.
            self.esperar_lectura(conexion.fileno(), min(resto, REVISION_S))

    def _caido(self, ranura: _Ranura, proceso):
        if self._cerrado or ranura.proceso is not proceso:
            raise GrupoDetenido("el grupo de procesos se detuvo durante la tarea")
        # The pipe may close a moment before the exit status is there to read: it says why (a signal, a code).
        limite = time.monotonic() + 0.5
        while proceso.exitcode is None and time.monotonic() < limite:
            self.dormir(self.espera_s)
        pid, codigo = proceso.pid, proceso.exitcode
        self._reemplazar(ranura)
        log.error("el proceso %s (pid %s) terminó durante una tarea (%s); se reemplazó", self.nombre, pid,
                  _salida(codigo))
        raise ProcesoCaido(f"el proceso terminó durante la tarea ({_salida(codigo)})")

    # -- processes ---------------------------------------------------------------------------------------------

    def _arrancar(self, ranura: _Ranura) -> None:
        propia, ajena = self._contexto.Pipe(duplex=True)
        proceso = self._contexto.Process(
            target=_principal, args=(ajena, self.funcion, self.al_iniciar, self.nombre, os.getpid()),
            name=self.nombre, daemon=True)
        proceso.start()
        # The child holds its own copy now; keeping ours would hide its death (no EOF while we hold it).
        ajena.close()
        ranura.proceso, ranura.conexion = proceso, propia

    def _reemplazar(self, ranura: _Ranura) -> None:
        self._soltar(ranura)
        if not self._cerrado:
            self._arrancar(ranura)

    def _soltar(self, ranura: _Ranura) -> None:
        """Kill this place's process (if any) without waiting for it: it is reaped later."""
        proceso, conexion = ranura.proceso, ranura.conexion
        ranura.proceso = ranura.conexion = None
        if conexion is not None:
            try:
                if self.al_cerrar is not None:
                    self.al_cerrar(conexion.fileno())
                conexion.close()
            except OSError:
                pass
        if proceso is not None:
            if proceso.exitcode is None:
                try:
                    proceso.kill()
                except OSError:
                    pass
            self._terminados.append(proceso)

    def _cosechar(self) -> None:
        """Collect the exit status of processes already killed, so none stays a zombie."""
        vivos = []
        for proceso in self._terminados:
            if proceso.exitcode is None:
                vivos.append(proceso)
            else:
                proceso.close()
        self._terminados = vivos


def _salida(codigo: int | None) -> str:
    if codigo is None:
        return "sin código de salida"
    if codigo < 0:
        try:
            return f"señal {signal.Signals(-codigo).name}"
        except ValueError:
            return f"señal {-codigo}"
    return f"código {codigo}"
