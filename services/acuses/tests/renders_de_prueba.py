"""Functions the render pool's tests run in its processes: they travel there by name, so they live at module level
in a module the processes can import (the tests put this folder on sys.path before starting a pool)."""
import os
import signal
import time

# A render of an acuse whose folio holds this mark hangs, as a WeasyPrint stuck on a document would.
COLGARSE = "COLGAR"


def tarea(orden: str, valor=None):
    if orden == "eco":
        return valor
    if orden == "dormir":
        time.sleep(valor)
        return valor
    if orden == "salir":
        os._exit(valor)
    if orden == "matarse":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)
    if orden == "fallar":
        raise ValueError(valor)
    if orden == "pid":
        return os.getpid()
    if orden == "nombre":
        with open("/proc/self/comm") as comm:
            return comm.read().strip()
    raise AssertionError(f"orden desconocida: {orden}")


def pdf_o_colgarse(plantilla: str, valores: dict) -> bytes:
    if COLGARSE in valores["folio"]:
        time.sleep(600)
    return b"%PDF-1.7 " + valores["folio"].encode()
