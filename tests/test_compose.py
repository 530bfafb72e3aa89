"""Guard tests for the compose deployment: the file is valid and runs every part of the design."""

import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import yaml

RAIZ = Path(__file__).resolve().parents[1]
# Every service the code declares (buzon-servicio NAME) must run in the deployment.
SERVICIOS = {ep.name for ep in entry_points(group="buzon.servicios")}
INFRAESTRUCTURA = {"rabbitmq", "postgres", "prometheus", "migraciones"}
SUSTITUTOS = {"pki", "ocsp", "correo", "sms"}


def compose() -> dict:
    return yaml.safe_load((RAIZ / "docker-compose.yml").read_text(encoding="utf-8"))


def test_docker_compose_valida_el_archivo():
    ejecutable = shutil.which("docker-compose")
    assert ejecutable, (
        "docker-compose is not installed: the project's setup script installs it "
        "(apt-get install -y docker-compose); it validates the file without a Docker engine"
    )
    resultado = subprocess.run(
        [ejecutable, "config", "-q"], cwd=RAIZ, capture_output=True, text=True, timeout=60
    )
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
