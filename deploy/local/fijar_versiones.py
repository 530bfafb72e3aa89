"""`make lock`: pin every third-party package from what the virtualenv holds, in two constraint files.

- requirements.lock: what the services need to run, the image's runtime target. It is the closure of
  requirements.txt over the installed packages' own requirements (markers and extras evaluated for this
  interpreter), so nothing a service doesn't need is pinned there (or shipped in the image).
- requirements-dev.lock: the same closure of requirements-dev.txt (plus pip and setuptools, which preparar.sh
  installs by name): everything the development and test virtualenv needs, a superset of the first with the same
  versions. Something installed by hand and required by nothing listed is not pinned.

Run with the virtualenv's Python: `.venv/bin/python deploy/local/fijar_versiones.py` (`--comprobar` only says
whether the files are current and exits 1 if not).
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RAIZ = Path(__file__).resolve().parents[2]
CABECERA_RUNTIME = ("# Exact pins of what the services need to run (the image's runtime target), used as pip constraints.\n"
                    "# Regenerate with: make lock (deploy/local/fijar_versiones.py). Development: requirements-dev.lock.\n")
CABECERA_DEV = ("# Exact pins of everything the development and test virtualenv holds (a superset of requirements.lock,\n"
                "# same versions), used as pip constraints. Regenerate with: make lock (deploy/local/fijar_versiones.py).\n")


def leer_requisitos(archivo: Path) -> tuple[list[Requirement], list[Path]]:
    """The requirements of a requirements file, following `-r`; `-e` lines give the project's own packages."""
    requisitos, editables = [], []
    for linea in archivo.read_text(encoding="utf-8").splitlines():
        linea = linea.split(" #", 1)[0].strip()
        if not linea or linea.startswith("#"):
            continue
        if linea.startswith("-r "):
            otros, mas = leer_requisitos(archivo.parent / linea[3:].strip())
            requisitos += otros
            editables += mas
        elif linea.startswith("-e "):
            editables.append(archivo.parent / linea[3:].strip())
        elif linea.startswith("-"):
            continue  # pip options (-c, --find-links): not requirements
        else:
            requisitos.append(Requirement(linea))
    return requisitos, editables


def nombre_proyecto(carpeta: Path) -> str:
    return tomllib.loads((carpeta / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]


def propios(editables: list[Path]) -> set[str]:
    return {canonicalize_name(nombre_proyecto(carpeta)) for carpeta in editables}


def clausura(raices: list[Requirement]) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as the package spells it, installed version), for `raices` and everything they need."""
    vistos: dict[str, tuple[str, str]] = {}
    extras_vistos: set[tuple[str, str]] = set()
    pendientes = [(requisito, "") for requisito in raices]
    while pendientes:
        requisito, extra_padre = pendientes.pop()
        if requisito.marker is not None and not requisito.marker.evaluate({"extra": extra_padre}):
            continue
        clave = canonicalize_name(requisito.name)
        extras = {e for e in requisito.extras if (clave, e) not in extras_vistos}
        if clave in vistos and not extras:
            continue
        try:
            dist = distribution(requisito.name)
        except PackageNotFoundError:
            raise SystemExit(f"{requisito.name} no está instalado en {sys.prefix}: instálalo antes de fijar") from None
        if clave not in vistos:
            vistos[clave] = (dist.metadata["Name"], dist.version)
            pendientes += [(Requirement(r), "") for r in dist.requires or []]
        for extra in extras:
            extras_vistos.add((clave, extra))
            pendientes += [(Requirement(r), extra) for r in dist.requires or [] if "extra" in r]
    return vistos


# Not imported by anything, but installed into the virtualenv by name (preparar.sh upgrades them to these pins).
HERRAMIENTAS = ("pip", "setuptools")


def fijar(archivo: Path, herramientas: tuple[str, ...] = ()) -> list[str]:
    """`name==version` for everything the requirements in `archivo` need, our own packages left out."""
    requisitos, editables = leer_requisitos(archivo)
    nuestros = propios(editables)
    raices = requisitos + [Requirement(nombre) for nombre in (*sorted(nuestros), *herramientas)]
    return sorted((f"{nombre}=={version}" for clave, (nombre, version) in clausura(raices).items()
                   if clave not in nuestros), key=str.lower)


def runtime(raiz: Path = RAIZ) -> list[str]:
    return fijar(raiz / "requirements.txt")


def desarrollo(raiz: Path = RAIZ) -> list[str]:
    return fijar(raiz / "requirements-dev.txt", HERRAMIENTAS)


def contenido(raiz: Path = RAIZ) -> dict[Path, str]:
    return {raiz / "requirements.lock": CABECERA_RUNTIME + "".join(f"{linea}\n" for linea in runtime(raiz)),
            raiz / "requirements-dev.lock": CABECERA_DEV + "".join(f"{linea}\n" for linea in desarrollo(raiz))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Fija las versiones de requirements.lock y requirements-dev.lock.")
    parser.add_argument("--comprobar", action="store_true", help="solo dice si los archivos están al día")
    args = parser.parse_args(argv)
    viejos = []
    for archivo, texto in contenido().items():
        actual = archivo.read_text(encoding="utf-8") if archivo.exists() else ""
        if actual == texto:
            continue
        viejos.append(archivo.name)
        if not args.comprobar:
            archivo.write_text(texto, encoding="utf-8")
    if args.comprobar and viejos:
        print(f"no están al día: {', '.join(viejos)} (make lock)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
