"""`make bench` works: a short run of it, on a system of its own, writes every figure of its report.

The figures themselves are not judged here (a timed assertion on a shared machine says nothing): `make bench`
measures them, and docs/rendimiento.md holds the last full run. This run proves that the harness drives the whole
guide without a failed person, drains, samples the CPU of every kind of process and measures every baseline, and
that the Buzón's campaign (a handful of deposits while phones validate, past the system's deposits per second)
gets every aviso to the sinks and writes its section, which a run without it keeps.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from buzon_dev import banco, campana

RAIZ = Path(__file__).resolve().parents[1]
URL_BANCO = os.environ.get("BUZON_TEST_BANCO_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_banco")


@pytest.mark.e2e
def test_una_corrida_breve_de_make_bench_escribe_cada_cifra(tmp_path):
    informe = RAIZ / "artefactos" / "rendimiento.md"
    informe.parent.mkdir(parents=True, exist_ok=True)
    informe.write_text(f"# una corrida vieja\n\n{banco.MARCA_NOTAS}\n\nNotas escritas a mano.\n", encoding="utf-8")
    corrida = subprocess.run(
        [sys.executable, "-m", "buzon_dev.banco", "correr", "--usuarios", "3", "--concurrencia", "3",
         "--llamadas", "30", "--segundos-http", "1", "--correos", "10", "--renders", "3",
         "--campana", "6", "--patrones", "1", "--depositantes", "2", "--telefonos", "2", "--limite-depositos", "1",
         "--informe", str(informe), "--base-de-datos", URL_BANCO, "--datos", str(tmp_path)],
        cwd=RAIZ, capture_output=True, text=True, timeout=900)
    assert corrida.returncode == 0, corrida.stdout[-3000:] + corrida.stderr[-3000:]
    todo = informe.read_text(encoding="utf-8")
    texto, seccion = todo[:todo.index(campana.INICIO)], todo[todo.index(campana.INICIO):todo.index(campana.FIN)]
    assert "Activaciones: 3 en" in texto and "errores: 0." in texto
    # The figures are new; what people wrote after the mark stays, once.
    assert "una corrida vieja" not in todo and todo.count("Notas escritas a mano.") == 1
    assert todo.index("## CPU por activación") < todo.index(campana.FIN) < todo.index(banco.MARCA_NOTAS)
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

    # The campaign: 6 deposits to the 3 Particulares and the Patrón, an email and an SMS aviso each, every one at
    # the sinks; two phones validated at rest and two during it, each timed.
    assert "Depósitos: 6 aceptados" in seccion and "Avisos: 12 de 12 en los sumideros" in seccion, seccion
    assert "(3 Particulares y 1 Patrones" in seccion and "Errores: 0." in seccion, seccion
    # One turn per second: of two depositors back to back, one waits for its turn in the gateway while the other's
    # next is more than a second away (429): it waits its Retry-After and retries the same body, every deposit
    # accepted once and no 429 an error.
    assert "da turnos a 1 depósitos/s por sistema depositante" in seccion, seccion
    assert int(re.search(r"\*\*(\d+) respuestas 429\*\*", seccion).group(1)) > 0, seccion
    for fase in ("en reposo", "durante la campaña"):
        fila = next(linea for linea in seccion.splitlines() if linea.startswith(f"| {fase} |"))
        assert fila.split("|")[2].strip() == "2" and "nan" not in fila, fila
    cpu_campana = {fila[1]: float(fila[2]) for fila in map(re.compile(r"\| ([a-z-]+) \| ([\d.]+) \|").fullmatch,
                                                            seccion.splitlines()) if fila}
    assert all(cpu_campana[p] > 0 for p in ("gateway", "buzon", "contactos", "notificaciones-correo",
                                            "notificaciones-sms", "rabbitmq", "postgresql")), seccion


def _informe_sin_cifras(ruta, campana_texto=None) -> None:
    banco.informe(ruta, {"usuarios": 1, "concurrencia": 1, "reposo": 0.0}, banco.Medidas(), 1.0, 1.0, {}, [],
                  campana_texto)


def _seccion(fecha: str) -> str:
    return f"{campana.INICIO}\n## Campaña del Buzón\n\n- Fecha: {fecha}\n{campana.FIN}"


def test_la_seccion_de_la_campana_se_reemplaza_sola_y_la_conserva_una_corrida_sin_campana(tmp_path):
    ruta = tmp_path / "rendimiento.md"
    ruta.write_text(f"# corrida\n\n{banco.MARCA_NOTAS}\n\nNotas.\n", encoding="utf-8")
    # `banco campana` on a report without the section: before the notes.
    campana.escribir(ruta, _seccion("uno"))
    texto = ruta.read_text(encoding="utf-8")
    assert texto.startswith("# corrida") and texto.index("Fecha: uno") < texto.index(banco.MARCA_NOTAS)
    # Again: in place of the previous one, nothing else touched.
    campana.escribir(ruta, _seccion("dos"))
    assert ruta.read_text(encoding="utf-8") == texto.replace("Fecha: uno", "Fecha: dos")
    # `banco correr --campana 0` rewrites its own figures and keeps the last campaign; with one, it replaces it.
    _informe_sin_cifras(ruta)
    texto = ruta.read_text(encoding="utf-8")
    assert "# Rendimiento" in texto and "# corrida" not in texto and texto.count("Fecha: dos") == 1
    assert texto.index("## Cada camino") < texto.index(campana.INICIO) < texto.index(banco.MARCA_NOTAS)
    assert texto.count("Notas.") == 1
    _informe_sin_cifras(ruta, _seccion("tres"))
    texto = ruta.read_text(encoding="utf-8")
    assert "Fecha: dos" not in texto and texto.count("Fecha: tres") == 1 and texto.count("Notas.") == 1
