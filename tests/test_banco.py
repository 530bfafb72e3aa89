"""`make bench` works: a short run of it, on a system of its own, writes every figure of its report.

The figures themselves are not judged here (a timed assertion on a shared machine says nothing): `make bench`
measures them, and docs/rendimiento.md holds the last full run. This run proves that the harness drives the whole
guide without a failed person, drains, samples the CPU of every kind of process and measures every baseline.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buzon_dev import banco

RAIZ = Path(__file__).resolve().parents[1]
URL_BANCO = os.environ.get("BUZON_TEST_BANCO_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_banco")

pytestmark = pytest.mark.e2e


def test_una_corrida_breve_de_make_bench_escribe_cada_cifra(tmp_path):
    informe = RAIZ / "artefactos" / "rendimiento.md"
    informe.parent.mkdir(parents=True, exist_ok=True)
    informe.write_text(f"# una corrida vieja\n\n{banco.MARCA_NOTAS}\n\nNotas escritas a mano.\n", encoding="utf-8")
    corrida = subprocess.run(
        [sys.executable, "-m", "buzon_dev.banco", "correr", "--usuarios", "3", "--concurrencia", "3",
         "--llamadas", "30", "--segundos-http", "1", "--correos", "10", "--renders", "3",
         "--informe", str(informe), "--base-de-datos", URL_BANCO, "--datos", str(tmp_path)],
        cwd=RAIZ, capture_output=True, text=True, timeout=900)
    assert corrida.returncode == 0, corrida.stdout[-3000:] + corrida.stderr[-3000:]
    texto = informe.read_text(encoding="utf-8")
    assert "Activaciones: 3 en" in texto and "errores: 0." in texto
    # The figures are new; what people wrote after the mark stays, once.
    assert "una corrida vieja" not in texto and texto.count("Notas escritas a mano.") == 1
    assert texto.index("## CPU por activación") < texto.index(banco.MARCA_NOTAS)
    assert "meta ≤ 400 ms:" in texto
    cpu = {linea.split("|")[1].strip(): linea.split("|")[2].strip() for linea in texto.splitlines()
           if linea.startswith("| ") and linea.count("|") == 3}
    for proceso in ("gateway", "auth", "contactos", "notificaciones-correo", "notificaciones-sms", "activacion",
                    "acuses", "render", "rabbitmq", "postgresql"):
        assert proceso in cpu, texto
    # Every process did its part of the guide (an empty sample would read 0).
    assert all(int(cpu[p]) > 0 for p in ("gateway", "auth", "contactos", "render", "rabbitmq", "postgresql")), texto
    for paso in ("ingreso", "registro_correo", "validacion_telefono", "activacion", "acuse"):
        assert f"| {paso} |" in texto
    for camino in ("contra kombu a mano", "contra un @http de nameko desnudo", "contra WeasyPrint a mano",
                   "mientras se generan 3 acuses", "con dos renderizadores contra uno", "con un trabajador contra smtplib",
                   "con dos trabajadores contra uno"):
        fila = next((linea for linea in texto.splitlines() if camino in linea), None)
        assert fila is not None, texto
        assert "nan" not in fila and "inf" not in fila.split("|")[4], fila
