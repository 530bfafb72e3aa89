"""End to end on `make up`'s system: a person lists and opens the Buzón's notifications from a terminal with
`buzon-firma`, as an integrator would. The tool signs the acuse de recibo with the e.firma on this machine, saves
the document and the acuse de notificación; the depositing system sees it opened; the API's refusals reach the
terminal in Spanish, and nothing is opened when the files to save can't be written."""
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from buzon_comun.config import Config
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64
from buzon_gateway.notificaciones_buzon import clave_desarrollo

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e

# A Particular that no other end-to-end test uses.
RFC, NOMBRE, CURP = "FIRM810101AB1", "FERNANDA IRMA RIOS MORA", "FIRM810101MDFRRR08"
CORREO, TELEFONO = "fernanda.rios@example.mx", "5581810101"
# Signed with the development key of the Institute's documents that the e2e system trusts (buzon_dev.sistema).
PDF = firmar_pdf(pdf_de_prueba("Invitacion"), carpeta_de_pruebas())


@pytest.fixture(scope="module")
def activa(sistema):
    """The Particular with an active Buzón and two notifications deposited: (e.firma, session header, ids)."""
    emitido = sistema.pki.emitir(RFC, NOMBRE, CURP)
    cabecera = sistema.login(emitido)
    sistema.validar_medios(cabecera, CORREO, TELEFONO)
    activado, _ = sistema.activar(cabecera, emitido)
    assert activado.status_code == 201, activado.text
    clave = {"Authorization": f"Bearer {clave_desarrollo(Config.desde_entorno(sistema.entorno))}"}
    ids = []
    for referencia in ("OF-FIRMA-1", "OF-FIRMA-2"):
        depositada = requests.post(f"{sistema.api}/notificaciones", headers=clave, json={
            "rfc": RFC, "asunto": f"Invitación {referencia}", "area": "Subdelegación Iztapalapa",
            "tipo_acto": "Invitación", "referencia": referencia, "documento": b64(PDF)})
        assert depositada.status_code == 201, depositada.text
        ids.append(depositada.json()["id"])
    return emitido, cabecera, clave, ids


def buzon_firma(sistema, emitido, *argumentos: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "buzon-firma"), *argumentos, "--url", sistema.url, "--cer", str(emitido.ruta_cer),
         "--key", str(emitido.ruta_key)],
        env={**sistema.entorno, "BUZON_FIRMA_PASSWORD": emitido.password}, capture_output=True, text=True,
        timeout=120)


def test_a_person_lists_and_opens_a_notification_with_buzon_firma(sistema, activa, tmp_path):
    emitido, cabecera, clave, (primera, segunda) = activa

    listado = buzon_firma(sistema, emitido, "notificaciones", "--pendientes")
    assert listado.returncode == 0, listado.stderr
    pendientes = json.loads(listado.stdout)["notificaciones"]
    assert {n["id"] for n in pendientes} == {primera, segunda}
    assert {n["estado"] for n in pendientes} == {"pendiente"}

    documento, acuse = tmp_path / "documento.pdf", tmp_path / "acuse.pdf"
    abierta = buzon_firma(sistema, emitido, "abrir", "--notificacion", primera, "--documento", str(documento),
                          "--acuse", str(acuse))
    assert abierta.returncode == 0, abierta.stderr
    resultado = json.loads(abierta.stdout)
    assert (resultado["id"], resultado["estado"]) == (primera, "abierta")
    assert resultado["folio_acuse"].startswith("NOT-")
    assert (resultado["documento"], resultado["acuse"]) == (str(documento), str(acuse))
    assert documento.read_bytes() == PDF
    texto = subprocess.run(["pdftotext", "-layout", str(acuse), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert resultado["folio_acuse"] in texto and RFC in texto

    # The depositing system sees it opened, with that folio; the other one waits.
    vista = requests.get(f"{sistema.api}/notificaciones/{primera}", headers=clave).json()
    assert (vista["estado"], vista["folio_acuse"], vista["notificada_en"]) == (
        "abierta", resultado["folio_acuse"], resultado["notificada_en"])
    token = cabecera["Authorization"].removeprefix("Bearer ")
    todas = subprocess.run([str(BIN / "buzon-firma"), "notificaciones", "--url", sistema.url, "--token", token],
                           capture_output=True, text=True, timeout=60)
    assert todas.returncode == 0, todas.stderr
    estados = {n["id"]: n["estado"] for n in json.loads(todas.stdout)["notificaciones"]}
    assert estados == {primera: "abierta", segunda: "pendiente"}

    # Opened once: the API's refusal reaches the terminal as `codigo: mensaje`, exit 1.
    otra_vez = buzon_firma(sistema, emitido, "abrir", "--notificacion", primera)
    assert (otra_vez.returncode, otra_vez.stdout) == (1, "")
    assert otra_vez.stderr.startswith("ya_notificada: ")
    ajena = buzon_firma(sistema, emitido, "abrir", "--notificacion", str(uuid.uuid4()))
    assert (ajena.returncode, ajena.stderr.split(":")[0]) == (1, "no_encontrado")


def test_nothing_is_opened_when_the_document_cannot_be_saved(sistema, activa, tmp_path):
    emitido, cabecera, _, (_, segunda) = activa
    resultado = buzon_firma(sistema, emitido, "abrir", "--notificacion", segunda,
                            "--documento", str(tmp_path / "no-existe" / "documento.pdf"))
    assert (resultado.returncode, resultado.stdout) == (2, "")
    assert "No existe la carpeta" in resultado.stderr
    estado = requests.get(f"{sistema.api}/buzon/notificaciones", headers=cabecera).json()["notificaciones"]
    assert {n["id"]: n["estado"] for n in estado}[segunda] == "pendiente"
