"""schemathesis against the OpenAPI document of the system `make up` started: its examples, coverage and fuzzing
phases with every check, bounded in time (BUZON_SCHEMATHESIS_S, default 60 s). Zero failures: no 5xx, every
answer as documented, what the document calls invalid refused, what it calls valid never refused as malformed.
The contract's own answers to valid requests are declared in tests/schemathesis.toml."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

CONFIGURACION = Path(__file__).with_name("schemathesis.toml")
SEGUNDOS = int(os.environ.get("BUZON_SCHEMATHESIS_S", "60"))
# Its requests come from a client of their own, so its many failed guesses and challenges don't spend the
# per-address limits of the tests that run after it.
CLIENTE = "192.0.2.200"


def schemathesis(sistema, configuracion: Path, token: str, *argumentos: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(configuracion), "run",
         f"{sistema.api}/openapi.json", "-H", f"Authorization: Bearer {token}", "-H", f"X-Forwarded-For: {CLIENTE}",
         "--checks", "all", "--phases", "examples,coverage,fuzzing", "--continue-on-failure", "--seed", "20261129",
         "--request-timeout", "20", *argumentos],
        capture_output=True, text=True, timeout=SEGUNDOS * 3 + 120, cwd=configuracion.parent)


@pytest.fixture(scope="module")
def datos(sistema):
    """A person with a real medio and acuse, so that the operations that need one reach their logic too."""
    emitido = sistema.pki.emitir("FUZZ800101AB1", "FAUSTO URIBE ZEPEDA", "FUZZ800101HDFRPS05")
    cabecera = sistema.login(emitido)
    medio = requests.post(f"{sistema.api}/medios-contacto", headers=cabecera,
                          json={"mecanismo": "telefono", "valor": "5587654321"}).json()
    codigo = esperar(lambda: next(m for m in requests.get(f"{sistema.api}/medios-contacto", headers=cabecera).json()[
        "medios"] if m["id"] == medio["id"])["codigos_verificacion"]["registro"])
    return emitido, medio, codigo


def test_the_api_holds_to_its_document(sistema, datos, tmp_path):
    emitido, medio, codigo = datos
    configuracion = tmp_path / "schemathesis.toml"
    configuracion.write_text(CONFIGURACION.read_text() + f"""
[[operations]]
include-operation-id = "verificar_acuse"
parameters = {{ folio = "{medio['folio']}", codigo = "{codigo}" }}

[[operations]]
include-path-regex = "medio_id"
parameters = {{ medio_id = "{medio['id']}" }}
""")
    token = sistema.login(emitido)["Authorization"].split()[1]
    # Closing the session would leave every later call without one: that operation runs on its own below.
    principal = schemathesis(sistema, configuracion, token, "--max-time", str(SEGUNDOS),
                             "--exclude-operation-id", "cerrar_sesion")
    assert principal.returncode == 0, principal.stdout[-15000:] + principal.stderr[-3000:]
    otra = sistema.login(emitido)["Authorization"].split()[1]
    cierre = schemathesis(sistema, configuracion, otra, "--max-time", "10", "--include-operation-id", "cerrar_sesion")
    assert cierre.returncode == 0, cierre.stdout[-15000:] + cierre.stderr[-3000:]
