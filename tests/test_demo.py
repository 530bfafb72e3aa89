"""`make demo` from a clean start: it brings the system up with the development stand-ins, walks a Patrón and a
Particular through the three steps, leaves their acuses as PDF files and stops what it started."""
import os
import socket
import subprocess
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parents[1]
PUERTOS = (8000, 8025, 8101, 8102, 8103)

pytestmark = pytest.mark.e2e


def ocupado(puerto: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) == 0


def test_make_demo_leaves_every_acuse_as_a_pdf(tmp_path):
    if any(ocupado(p) for p in PUERTOS):
        pytest.skip("make demo needs the development ports, and something on this machine is using them "
                    "(a `make run`?)")
    entorno = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    entorno["BUZON_DATA_DIR"] = str(tmp_path)
    resultado = subprocess.run(["make", "-s", "demo"], cwd=RAIZ, env=entorno, capture_output=True, text=True,
                               timeout=600)
    assert resultado.returncode == 0, resultado.stdout[-3000:] + resultado.stderr[-3000:]
    for paso in ("1. Ingresa al Buzón IMSS", "2. Registra y valida", "3. Firma la Solicitud"):
        assert resultado.stdout.count(paso) == 2, paso
    for rfc, esperados in (("EDE0101013A2", 7), ("MAVA800101RS5", 5)):
        pdfs = sorted((tmp_path / "demo" / rfc).glob("*.pdf"))
        assert len(pdfs) == esperados, pdfs
        assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert not any(ocupado(p) for p in PUERTOS), "make demo left the system running"
