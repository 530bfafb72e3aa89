"""Guard tests for the compose deployments: the files are valid and run every part of the design; the
production one asks for every secret and uses no development stand-in."""

import os
import re
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from buzon_comun import produccion

RAIZ = Path(__file__).resolve().parents[1]
PRODUCCION = RAIZ / "deploy" / "compose.produccion.yml"
# Every service the code declares (buzon-servicio NAME) must run in the deployment.
SERVICIOS = {ep.name for ep in entry_points(group="buzon.servicios")}
INFRAESTRUCTURA = {"rabbitmq", "postgres", "prometheus", "migraciones"}
SUSTITUTOS = {"pki", "ocsp", "correo", "sms"}


def compose() -> dict:
    return yaml.safe_load((RAIZ / "docker-compose.yml").read_text(encoding="utf-8"))


def docker_compose(*argumentos: str, **variables: str) -> subprocess.CompletedProcess:
    """docker-compose with none of the caller's BUZON_* variables: only those given here are set."""
    ejecutable = shutil.which("docker-compose")
    assert ejecutable, (
        "docker-compose is not installed: the project's setup script installs it "
        "(apt-get install -y docker-compose); it validates the file without a Docker engine"
    )
    entorno = {nombre: valor for nombre, valor in os.environ.items() if not nombre.startswith("BUZON_")}
    return subprocess.run([ejecutable, *argumentos], cwd=RAIZ, env={**entorno, **variables},
                          capture_output=True, text=True, timeout=60)


def test_docker_compose_valida_el_archivo():
    # The development description works with no variable set at all.
    resultado = docker_compose("config", "-q")
    assert resultado.returncode == 0, resultado.stderr


def test_estan_todos_los_servicios_del_diseno():
    assert {"auth", "contactos", "notificaciones", "activacion", "acuses", "gateway"} <= SERVICIOS
    faltan = (SERVICIOS | INFRAESTRUCTURA | SUSTITUTOS) - set(compose()["services"])
    assert not faltan, f"missing from docker-compose.yml: {sorted(faltan)}"


def test_los_servicios_esperan_al_broker_la_base_y_las_migraciones():
    servicios = compose()["services"]
    for nombre in SERVICIOS:
        dependencias = servicios[nombre]["depends_on"]
        assert dependencias["rabbitmq"]["condition"] == "service_healthy", nombre
        assert dependencias["postgres"]["condition"] == "service_healthy", nombre
        assert dependencias["migraciones"]["condition"] == "service_completed_successfully", nombre
    for un_paso in ("migraciones", "pki"):
        assert servicios[un_paso]["restart"] == "no"


def test_los_servicios_escalables_no_publican_puertos():
    # Two replicas can't bind the same host port: `--scale contactos=3` would fail.
    servicios = compose()["services"]
    for nombre in SERVICIOS - {"gateway"}:
        assert "ports" not in servicios[nombre], nombre


def test_prometheus_raspa_cada_servicio():
    configuracion = yaml.safe_load((RAIZ / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    objetivos = set()
    for trabajo in configuracion["scrape_configs"]:
        for descubrimiento in trabajo.get("dns_sd_configs", []):
            objetivos |= {(nombre, descubrimiento["port"]) for nombre in descubrimiento["names"]}
    assert ("gateway", 8000) in objetivos
    assert {(nombre, 9100) for nombre in SERVICIOS - {"gateway"}} <= objetivos


# The production description: every ${VAR:?message} of the file, and dummy values for them.
REQUERIDAS = sorted(set(re.findall(r"\$\{(BUZON_\w+):\?", PRODUCCION.read_text(encoding="utf-8"))))
FICTICIAS = {nombre: f"/ficticio/{nombre.lower()}" for nombre in REQUERIDAS}


def produccion_resuelta() -> dict:
    resultado = docker_compose("-f", str(PRODUCCION), "config", **FICTICIAS)
    assert resultado.returncode == 0, resultado.stderr
    return yaml.safe_load(resultado.stdout)


def test_produccion_pide_cada_secreto():
    secretos = {
        "BUZON_SELLO_CER_ARCHIVO", "BUZON_SELLO_KEY_ARCHIVO", "BUZON_SELLO_PASSWORD",  # the seal
        "BUZON_SMTP_HOST", "BUZON_SMTP_USER", "BUZON_SMTP_PASSWORD",
        "BUZON_SMS_URL", "BUZON_SMS_TOKEN",
        "BUZON_POSTGRES_PASSWORD", "BUZON_RABBITMQ_PASSWORD",
        "BUZON_SECRETO_CODIGOS", "BUZON_PUBLIC_URL", "BUZON_OCSP_URL", "BUZON_SAT_CA_CARPETA", "BUZON_PADRON_ARCHIVO",
        "BUZON_SISTEMAS_DEPOSITANTES_ARCHIVO",
    }
    assert secretos <= set(REQUERIDAS)


def test_produccion_valida_con_sus_variables():
    resultado = docker_compose("-f", str(PRODUCCION), "config", "-q", **FICTICIAS)
    assert resultado.returncode == 0, resultado.stderr


@pytest.mark.parametrize("falta", REQUERIDAS)
def test_produccion_falla_sin_cada_variable(falta):
    variables = {nombre: valor for nombre, valor in FICTICIAS.items() if nombre != falta}
    resultado = docker_compose("-f", str(PRODUCCION), "config", "-q", **variables)
    assert resultado.returncode != 0
    assert falta in resultado.stderr


def test_produccion_sin_sustitutos_de_desarrollo():
    servicios = produccion_resuelta()["services"]
    assert not SUSTITUTOS & set(servicios)
    assert (SERVICIOS | INFRAESTRUCTURA) <= set(servicios)
    for nombre, servicio in servicios.items():
        assert "buzon-dev" not in servicio.get("command", []), nombre


def test_produccion_cada_proceso_pasa_su_comprobacion():
    # The services' own check at start (buzon_comun.produccion) finds nothing missing in what compose gives them.
    for nombre, servicio in produccion_resuelta()["services"].items():
        comando = servicio.get("command", [])
        if comando[:1] not in (["buzon-servicio"], ["buzon-migrar"]):
            continue
        entorno = {clave: valor for clave, valor in servicio["environment"].items() if valor is not None}
        assert entorno["BUZON_ENTORNO"] == "produccion", nombre
        proceso = comando[1] if comando[0] == "buzon-servicio" else produccion.MIGRACIONES
        assert produccion.comprobar(entorno, proceso) == [], nombre


def test_produccion_cada_secreto_solo_donde_se_usa():
    servicios = produccion_resuelta()["services"]
    donde = {
        "BUZON_SELLO_PASSWORD": {"acuses"},
        "BUZON_SMTP_PASSWORD": {"notificaciones-correo"},
        "BUZON_SMS_TOKEN": {"notificaciones-sms"},
        "BUZON_SECRETO_CODIGOS": {"contactos"},
    }
    for variable, esperados in donde.items():
        con_ella = {nombre for nombre, servicio in servicios.items() if variable in servicio.get("environment", {})}
        assert con_ella == esperados, variable
    con_secretos = {nombre: {s if isinstance(s, str) else s["source"] for s in servicio["secrets"]}
                    for nombre, servicio in servicios.items() if servicio.get("secrets")}
    assert con_secretos == {"acuses": {"sello_cer", "sello_key"}, "gateway": {"sistemas_depositantes"}}


def test_produccion_solo_publica_el_gateway():
    servicios = produccion_resuelta()["services"]
    for nombre, servicio in servicios.items():
        for puerto in servicio.get("ports", []):
            publicado = puerto if isinstance(puerto, str) else f"{puerto.get('host_ip', '')}:{puerto['published']}"
            assert nombre == "gateway" or publicado.startswith("127.0.0.1:"), (nombre, puerto)
