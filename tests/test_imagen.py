"""Guard tests for the images and what goes into them, read from the files (`make imagenes` builds both targets with
buildah and checks the built images: deploy/README.md, "Images").

- The requirements are split: requirements.txt/.lock hold what the services need to run, requirements-dev.* the
  rest; both locks are current with the virtualenv and exactly pinned.
- No runtime module imports a development-only package: read from the source (every import, also the ones inside
  functions) and proved by importing every service with those packages blocked.
- deploy/Dockerfile: a base pinned by tag and digest, a `runtime` target built from the runtime set alone, a `dev`
  target on top of it, never root, a HEALTHCHECK with the probe, nothing of dev/, keys or local data inside.
- docker-compose: every service has a health check (the system's processes: the probe, naming themselves), the
  stand-ins run the dev target and the rest the runtime one, RabbitMQ is a supported release.
"""
import ast
import importlib.util
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name

RAIZ = Path(__file__).resolve().parents[1]
DOCKERFILE = RAIZ / "deploy" / "Dockerfile"
COMPOSES = [RAIZ / "docker-compose.yml", RAIZ / "deploy" / "compose.produccion.yml"]
HERRAMIENTAS_DE_DESARROLLO = {"pytest", "hypothesis", "schemathesis", "ruff", "playwright", "aiosmtpd", "buzon-dev",
                              "buzon-firma"}


def _fijar():
    spec = importlib.util.spec_from_file_location("fijar_versiones", RAIZ / "deploy" / "local" / "fijar_versiones.py")
    modulo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(modulo)
    return modulo


fijar = _fijar()


def fijados(archivo: str) -> dict[str, str]:
    """canonical name -> version of a lock file."""
    pines = {}
    for linea in (RAIZ / archivo).read_text(encoding="utf-8").splitlines():
        if linea and not linea.startswith("#"):
            nombre, igual, version = linea.partition("==")
            assert igual and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", nombre) and re.fullmatch(r"[^\s=;@]+", version), \
                f"{archivo}: not an exact pin: {linea!r}"
            pines[canonicalize_name(nombre)] = version
    return pines


# --- the requirements ---

def test_both_locks_are_current_with_the_virtualenv():
    # A package added to requirements*.txt, or upgraded in the venv, without `make lock` fails here.
    assert fijar.main(["--comprobar"]) == 0, "run make lock"


def test_the_runtime_lock_is_part_of_the_dev_lock_at_the_same_versions():
    runtime, desarrollo = fijados("requirements.lock"), fijados("requirements-dev.lock")
    assert runtime and set(runtime) < set(desarrollo)
    assert {nombre: version for nombre, version in desarrollo.items() if nombre in runtime} == runtime


def test_no_development_tool_is_in_the_runtime_set():
    runtime = set(fijados("requirements.lock"))
    _, editables = fijar.leer_requisitos(RAIZ / "requirements.txt")
    propios = fijar.propios(editables)
    assert not (runtime | propios) & HERRAMIENTAS_DE_DESARROLLO
    assert HERRAMIENTAS_DE_DESARROLLO <= set(fijados("requirements-dev.lock")) | fijar.propios(
        fijar.leer_requisitos(RAIZ / "requirements-dev.txt")[1])


# --- what runtime code imports ---

def paquetes_runtime() -> dict[str, Path]:
    """import name -> folder of every package requirements.txt installs from the project (`-e` lines)."""
    _, editables = fijar.leer_requisitos(RAIZ / "requirements.txt")
    return {carpeta.name: carpeta for editable in editables for carpeta in editable.iterdir()
            if (carpeta / "__init__.py").exists()}


def modulos_permitidos() -> set[str]:
    """Top-level modules a runtime module may import: the standard library, the project's runtime packages and
    those of the distributions requirements.lock pins."""
    runtime = set(fijados("requirements.lock"))
    de_terceros = {modulo for modulo, dists in packages_distributions().items()
                   if any(canonicalize_name(d) in runtime for d in dists)}
    return set(sys.stdlib_module_names) | set(paquetes_runtime()) | de_terceros


def importados(archivo: Path) -> set[str]:
    arbol = ast.parse(archivo.read_text(encoding="utf-8"), str(archivo))
    nombres = set()
    for nodo in ast.walk(arbol):
        if isinstance(nodo, ast.Import):
            nombres |= {alias.name.split(".")[0] for alias in nodo.names}
        elif isinstance(nodo, ast.ImportFrom) and nodo.level == 0 and nodo.module:
            nombres.add(nodo.module.split(".")[0])
    return nombres


def test_runtime_code_imports_only_runtime_packages():
    permitidos = modulos_permitidos()
    ajenos = {}
    for paquete, carpeta in paquetes_runtime().items():
        for archivo in carpeta.rglob("*.py"):
            if "tests" in archivo.relative_to(carpeta).parts:
                continue
            fuera = importados(archivo) - permitidos
            if fuera:
                ajenos[str(archivo.relative_to(RAIZ))] = sorted(fuera)
    assert not ajenos, f"runtime modules import packages outside requirements.lock: {ajenos}"


def test_the_import_check_catches_a_development_import(tmp_path):
    modulo = tmp_path / "servicio.py"
    modulo.write_text("def f():\n    import pytest\n    from buzon_dev import pki\n", encoding="utf-8")
    assert importados(modulo) - modulos_permitidos() == {"pytest", "buzon_dev"}


def modulos_de_desarrollo() -> set[str]:
    """Top-level modules that only development distributions provide (what the runtime image lacks)."""
    runtime = set(fijados("requirements.lock"))
    solo_dev = set(fijados("requirements-dev.lock")) - runtime
    modulos = {modulo for modulo, dists in packages_distributions().items()
               if dists and all(canonicalize_name(d) in solo_dev for d in dists)}
    return modulos | {"buzon_dev", "buzon_firma"}


BLOQUEADOR = textwrap.dedent("""
    import importlib.abc, sys
    BLOQUEADOS = set(sys.argv[1].split(","))

    class Bloqueador(importlib.abc.MetaPathFinder):
        def find_spec(self, nombre, ruta=None, objetivo=None):
            if nombre.split(".")[0] in BLOQUEADOS:
                raise ModuleNotFoundError(f"No module named {nombre!r} (development only)", name=nombre)
            return None

    sys.meta_path.insert(0, Bloqueador())
    import warnings
    warnings.filterwarnings("ignore")
    import eventlet
    eventlet.monkey_patch()
    from importlib import import_module
    from importlib.metadata import entry_points
    cargados = []
    for ep in entry_points(group="buzon.servicios"):
        ep.load()
        cargados.append(ep.name)
    for ep in entry_points(group="buzon.migraciones"):  # an alembic script location: its package
        import_module(ep.module)
    for modulo in ("buzon_comun.ejecutar", "buzon_comun.migraciones", "buzon_comun.consumo", "buzon_comun.salud",
                   "buzon_acuses.operacion"):
        import_module(modulo)
    intrusos = sorted(m for m in sys.modules if m.split(".")[0] in BLOQUEADOS)
    assert not intrusos, intrusos
    print(",".join(sorted(set(cargados))))
""")


def test_every_service_loads_with_the_development_packages_missing(tmp_path):
    bloqueados = modulos_de_desarrollo()
    assert {"pytest", "buzon_dev", "playwright", "aiosmtpd"} <= bloqueados
    resultado = subprocess.run([sys.executable, "-c", BLOQUEADOR, ",".join(sorted(bloqueados))], capture_output=True,
                               text=True, timeout=120, cwd=tmp_path)
    assert resultado.returncode == 0, resultado.stderr[-3000:]
    cargados = set(resultado.stdout.strip().split(","))
    assert {ep.name for ep in entry_points(group="buzon.servicios")} <= cargados


def test_the_blocker_really_blocks():
    resultado = subprocess.run([sys.executable, "-c", BLOQUEADOR.replace("cargados = []", "import buzon_dev\ncargados = []"),
                                "buzon_dev"], capture_output=True, text=True, timeout=120)
    assert resultado.returncode != 0 and "development only" in resultado.stderr


# --- deploy/Dockerfile ---

def instrucciones(texto: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: comments dropped, continued lines joined."""
    lineas, actual = [], ""
    for linea in texto.splitlines():
        if not actual and (not linea.strip() or linea.lstrip().startswith("#")):
            continue
        if actual and linea.lstrip().startswith("#"):
            continue
        if linea.rstrip().endswith("\\"):
            actual += linea.rstrip()[:-1] + " "
            continue
        actual += linea
        lineas.append(actual.strip())
        actual = ""
    return [(linea.split(None, 1)[0].upper(), linea.split(None, 1)[1] if " " in linea else "") for linea in lineas]


def etapas() -> tuple[dict[str, str], dict[str, dict]]:
    """The global ARGs' defaults, and every stage by name: its base and its instructions."""
    argumentos, todas, actual = {}, {}, None
    for orden, resto in instrucciones(DOCKERFILE.read_text(encoding="utf-8")):
        if orden == "FROM":
            partes = resto.split()
            base = partes[0]
            nombre = partes[2] if len(partes) >= 3 and partes[1].upper() == "AS" else f"etapa{len(todas)}"
            actual = todas[nombre] = {"base": base, "instrucciones": []}
        elif actual is None and orden == "ARG":
            nombre, _, valor = resto.partition("=")
            argumentos[nombre.strip()] = valor.strip()
        else:
            actual["instrucciones"].append((orden, resto))
    return argumentos, todas


def imagen_de(base: str, argumentos: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: argumentos.get(m.group(1), m.group(0)), base)


def ascendencia(nombre: str, todas: dict) -> list[str]:
    """The stage and every stage it is built FROM or copies --from."""
    vistas, pendientes = [], [nombre]
    while pendientes:
        etapa = pendientes.pop()
        if etapa in vistas or etapa not in todas:
            continue
        vistas.append(etapa)
        pendientes.append(todas[etapa]["base"])
        for orden, resto in todas[etapa]["instrucciones"]:
            if orden == "COPY":
                pendientes += re.findall(r"--from=(\S+)", resto)
    return vistas


def test_the_base_image_is_pinned_by_an_exact_tag_and_a_digest():
    argumentos, todas = etapas()
    externas = {imagen_de(etapa["base"], argumentos) for etapa in todas.values() if etapa["base"] not in todas}
    assert externas
    for imagen in externas:
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}", imagen), imagen


def test_there_is_a_runtime_target_and_a_dev_target_on_top_of_it():
    _, todas = etapas()
    assert "runtime" in todas and todas["dev"]["base"] == "runtime"


def usuario_final(objetivo: str, todas: dict) -> str | None:
    """Who a target's containers run as: the last USER of the stage or, failing that, of the stage it is FROM."""
    etapa = objetivo
    while etapa in todas:
        usuarios = [resto for orden, resto in todas[etapa]["instrucciones"] if orden == "USER"]
        if usuarios:
            return usuarios[-1]
        etapa = todas[etapa]["base"]
    return None


@pytest.mark.parametrize("objetivo", ["runtime", "dev"])
def test_no_target_runs_as_root(objetivo):
    _, todas = etapas()
    usuario = usuario_final(objetivo, todas)
    assert usuario and usuario.split(":")[0] not in ("root", "0"), usuario


def test_the_runtime_image_has_a_healthcheck_with_the_probe():
    _, todas = etapas()
    [chequeo] = [resto for orden, resto in todas["runtime"]["instrucciones"] if orden == "HEALTHCHECK"]
    assert '"buzon-servicio"' in chequeo and '"--salud"' in chequeo


def test_the_runtime_target_is_built_from_the_runtime_set_alone():
    _, todas = etapas()
    cadena = ascendencia("runtime", todas)
    copias = [resto for etapa in cadena for orden, resto in todas[etapa]["instrucciones"] if orden == "COPY"]
    ejecuciones = [resto for etapa in cadena for orden, resto in todas[etapa]["instrucciones"] if orden == "RUN"]
    fuentes = {parte.rstrip("/") for copia in copias if "--from" not in copia for parte in copia.split()[:-1]}
    assert fuentes
    for fuente in fuentes:
        assert fuente.split("/")[0] not in ("dev", "herramientas", "var", "tests", ".venv", "docs"), fuente
        assert not fuente.startswith("requirements-dev"), fuente
    instalaciones = [comando for r in ejecuciones for comando in r.split("&&") if "pip install" in comando]
    assert instalaciones
    for comando in instalaciones:
        assert "-c requirements.lock" in comando and "requirements-dev" not in comando, comando
    assert sum("requirements.txt" in r for r in ejecuciones if "pip install" in r) >= 2, "third parties and ours"
    # Every project package requirements.txt names is in what the build copies.
    _, editables = fijar.leer_requisitos(RAIZ / "requirements.txt")
    for editable in editables:
        relativo = editable.resolve().relative_to(RAIZ).as_posix()
        assert any(relativo == f or relativo.startswith(f + "/") for f in fuentes), relativo


def test_the_build_context_leaves_out_local_data_keys_and_tests():
    reglas = [linea.strip() for linea in (RAIZ / ".dockerignore").read_text(encoding="utf-8").splitlines()
              if linea.strip() and not linea.startswith("#")]
    assert reglas[0] == "*", "everything out, then only what the Dockerfile copies"
    incluidos = {regla[1:].rstrip("/") for regla in reglas if regla.startswith("!")}
    assert not incluidos & {"var", ".venv", ".git", "tests", "artefactos", "docs"}
    assert {"**/*.key", "**/*.pem", "**/tests/"} <= set(reglas)


# --- docker-compose ---

def servicios(archivo: Path) -> dict:
    return yaml.safe_load(archivo.read_text(encoding="utf-8"))["services"]


@pytest.mark.parametrize("archivo", COMPOSES, ids=lambda a: a.name)
def test_every_compose_service_has_a_health_check_and_ours_is_the_probe(archivo):
    for nombre, servicio in servicios(archivo).items():
        chequeo = servicio.get("healthcheck")
        assert chequeo, f"{nombre} has no healthcheck"
        comando = servicio.get("command", [])
        if servicio.get("restart") == "no":
            assert chequeo.get("disable") is True, nombre  # one-shot steps: nothing to watch
        elif comando[:1] == ["buzon-servicio"]:
            assert chequeo["test"] == ["CMD", "buzon-servicio", comando[1], "--salud"], nombre
        else:
            assert chequeo["test"][0] in ("CMD", "CMD-SHELL"), nombre


@pytest.mark.parametrize("archivo", COMPOSES, ids=lambda a: a.name)
def test_stand_ins_run_the_dev_target_and_the_system_the_runtime_one(archivo):
    for nombre, servicio in servicios(archivo).items():
        if "build" not in servicio:
            continue
        comando = servicio.get("command", [])
        if comando[:2] == ["sh", "-c"]:  # a one-shot of several steps: `buzon-dev … && buzon-dev …`
            pasos = [paso.split() for paso in comando[2].split("&&")]
            assert len({paso[0] for paso in pasos}) == 1, nombre
            comando = pasos[0]
        esperado = "dev" if comando[:1] == ["buzon-dev"] else "runtime"
        assert servicio["build"]["target"] == esperado, nombre


@pytest.mark.parametrize("archivo", COMPOSES, ids=lambda a: a.name)
def test_rabbitmq_is_a_supported_release(archivo):
    imagen = servicios(archivo)["rabbitmq"]["image"]
    version = re.match(r"rabbitmq:(\d+)\.(\d+)", imagen)
    assert version and (int(version.group(1)), int(version.group(2))) >= (3, 13), imagen
