"""`make demo` from a clean start: it brings the system up with the development stand-ins, walks a Patrón and a
Particular through the three steps, leaves their acuses as PDF files, deposits a notification to each, opens the
Patrón's by signing (its document and acuse de notificación saved beside the acuses), leaves the Particular's
pending, and stops what it started."""
import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parents[1]
PUERTOS = (8000, 8025, 8101, 8102, 8103)

pytestmark = pytest.mark.e2e


def ocupado(puerto: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) == 0


def texto_pdf(ruta: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(ruta), "-"], capture_output=True, text=True, check=True).stdout


def test_make_demo_leaves_every_acuse_as_a_pdf_and_opens_one_notification(tmp_path):
    if any(ocupado(p) for p in PUERTOS):
        pytest.skip("make demo needs the development ports, and something on this machine is using them "
                    "(a `make run`?)")
    entorno = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    entorno["BUZON_DATA_DIR"] = str(tmp_path)
    resultado = subprocess.run(["make", "-s", "demo"], cwd=RAIZ, env=entorno, capture_output=True, text=True,
                               timeout=600)
    assert resultado.returncode == 0, resultado.stdout[-3000:] + resultado.stderr[-3000:]
    for paso in ("1. Ingresa al Buzón IMSS", "2. Registra y valida", "3. Firma la Solicitud",
                 "4. Buzón IMSS: el Instituto te deposita"):
        assert resultado.stdout.count(paso) == 2, paso
    assert resultado.stdout.count("5. Abre la notificación") == 1
    for rfc, esperados in (("EDE0101013A2", 9), ("MAVA800101RS5", 5)):
        pdfs = sorted((tmp_path / "demo" / rfc).glob("*.pdf"))
        assert len(pdfs) == esperados, pdfs
        assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert not any(ocupado(p) for p in PUERTOS), "make demo left the system running"

    # What the buzon service recorded (a local run keeps it in SQLite under the data folder): the Patrón's
    # notification opened, its files being that notification's; the Particular's still pending.
    with sqlite3.connect(tmp_path / "buzon.db") as bd:
        filas = bd.execute("SELECT rfc, id, estado, folio_acuse FROM notificaciones").fetchall()
    estados = {rfc: (id_, estado, folio) for rfc, id_, estado, folio in filas}
    assert len(filas) == len(estados) == 2, filas
    id_, estado, folio = estados["EDE0101013A2"]
    assert estado == "abierta" and folio.startswith("NOT-")
    carpeta = tmp_path / "demo" / "EDE0101013A2"
    assert "EDE0101013A2" in texto_pdf(carpeta / f"notificacion-{id_}.pdf")
    acuse = texto_pdf(carpeta / f"acuse-notificacion-{folio}.pdf")
    assert folio in acuse and "EDE0101013A2" in acuse
    assert estados["MAVA800101RS5"][1:] == ("pendiente", None)
    assert not list((tmp_path / "demo" / "MAVA800101RS5").glob("*notificacion*"))
