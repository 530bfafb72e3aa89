"""The processes of this machine as /proc shows them: for the launcher, the fault suite and the tests that look
for a service's processes (Linux only, like the rest of the project)."""
from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _estado(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (which may hold spaces and parentheses)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def vivo(pid: int) -> bool:
    """Running: a zombie no longer counts (it is dead, only not yet collected by its parent)."""
    campos = _estado(pid)
    return campos is not None and campos[0] not in ("Z", "X")


def hijos(pid: int) -> list[int]:
    encontrados = []
    for entrada in PROC.iterdir():
        if entrada.name.isdigit() and (campos := _estado(int(entrada.name))) and int(campos[1]) == pid:
            encontrados.append(int(entrada.name))
    return encontrados


def padre(pid: int) -> int | None:
    campos = _estado(pid)
    return int(campos[1]) if campos else None


def linea(pid: int) -> list[str]:
    """Its command line, word by word."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").rstrip("\0").split("\0")
    except OSError:
        return []


def nombre(pid: int) -> str:
    """Its OS name (what `ps -o comm` and `pgrep` see)."""
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""
