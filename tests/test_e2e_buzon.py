"""The Buzón's notifications end to end on `make up`'s system: an Institute system deposits with its key (the
development key, BUZON_SISTEMAS_DEPOSITANTES unset) into an active Patrón's Buzón; the aviso reaches the Patrón's
validated email and mobile without the notification's content; the Patrón lists it and opens it by signing the acuse
de recibo with the e.firma; the depositing system sees it opened with its folio; the document and the acuse de
notificación download; an inactive Buzón is refused and another RFC can't read it."""
import re
import subprocess

import pytest
import requests

from buzon_comun.config import Config
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64, esperar, firmar
from buzon_gateway.notificaciones_buzon import clave_desarrollo

pytestmark = pytest.mark.e2e

# A Patrón of the e2e padrón (buzon_dev.sistema) that no other test activates.
RFC, RP1, RP2 = "NOT050505AB1", "T1111111110", "T2222222220"
CORREO, TELEFONO = "juridico@notificada.mx", "5577778888"
# Signed with the development key of the Institute's documents that the e2e system trusts (buzon_dev.sistema).
PDF = firmar_pdf(pdf_de_prueba("Requerimiento de informacion de cuotas obrero patronales"), carpeta_de_pruebas())
ASUNTO = "Requerimiento de información de cuotas obrero patronales"


def _sistema_depositante(sistema) -> dict:
    return {"Authorization": f"Bearer {clave_desarrollo(Config.desde_entorno(sistema.entorno))}"}


def _deposito(rfc=RFC, referencia="OF-E2E-1", **extra) -> dict:
    return {"rfc": rfc, "registros_patronales": [RP1], "asunto": ASUNTO, "area": "Subdelegación Cuauhtémoc",
            "tipo_acto": "Requerimiento", "referencia": referencia, "documento": b64(PDF), **extra}


def _activar(sistema, emitido, cabecera) -> None:
    sistema.validar_medios(cabecera, CORREO, TELEFONO)
    activado, _ = sistema.activar(cabecera, emitido)
    assert activado.status_code == 201, activado.text


def test_a_notification_deposited_opened_by_signing_and_seen_opened(sistema, tmp_path):
    assert requests.get(f"{sistema.url}/health").json()["servicios"]["buzon"] == "ok"
    clave = _sistema_depositante(sistema)
    emitido = sistema.pki.emitir(RFC, "NOTIFICADA DE PRUEBAS SA DE CV", rfc_representante="MAVA800101RS5",
                                 curp_representante="MAVA800101MDFRRN09")
    cabecera = sistema.login(emitido)

    # Not active yet: refused, so the Institute notifies by other means.
    inactivo = requests.post(f"{sistema.api}/notificaciones", headers=clave, json=_deposito(referencia="OF-E2E-0"))
    assert (inactivo.status_code, inactivo.json()["error"]["codigo"]) == (409, "buzon_inactivo")

    _activar(sistema, emitido, cabecera)
    sin_clave = requests.post(f"{sistema.api}/notificaciones", json=_deposito())
    assert sin_clave.status_code == 401
    ajeno = requests.post(f"{sistema.api}/notificaciones", headers=clave,
                          json=_deposito(referencia="OF-E2E-2", registros_patronales=["B1111111110"]))
    assert (ajeno.status_code, ajeno.json()["error"]["codigo"]) == (422, "registro_patronal_ajeno")
    # Only a document signed with the Institute's key: not the same PDF unsigned, nor signed and then added to.
    for referencia, documento, codigo in (("OF-E2E-3", pdf_de_prueba("Sin firma"), "documento_sin_firma"),
                                          ("OF-E2E-4", PDF + b"\n% agregado\n", "firma_documento_invalida")):
        rechazado = requests.post(f"{sistema.api}/notificaciones", headers=clave,
                                  json=_deposito(referencia=referencia, documento=b64(documento)))
        assert (rechazado.status_code, rechazado.json()["error"]["codigo"]) == (422, codigo)
    depositada = requests.post(f"{sistema.api}/notificaciones", headers=clave, json=_deposito())
    assert depositada.status_code == 201, depositada.text
    id_ = depositada.json()["id"]

    # The avisos: the validated email and mobile, with nothing of the content; sent, so the days start.
    correo = esperar(lambda: [c for c in sistema.correos(CORREO) if "Tienes un mensaje" in c["asunto"]], plazo=60)[0]
    sms = esperar(lambda: [s for s in sistema.sms("+52" + TELEFONO) if "Tienes un mensaje" in s["text"]], plazo=60)[0]
    for texto in (correo["texto"], sms["text"]):
        assert RFC in texto and ASUNTO not in texto and "Requerimiento" not in texto
    vista = esperar(lambda: (v := requests.get(f"{sistema.api}/notificaciones/{id_}", headers=clave).json())[
        "aviso_enviado_en"] and {a["estado"] for a in v["avisos"]} == {"enviado"} and v, plazo=60)
    assert sorted(a["mecanismo"] for a in vista["avisos"]) == ["correo", "telefono"]
    assert vista["estado"] == "pendiente"

    # The Patrón lists it; another RFC sees nothing of it.
    [listada] = requests.get(f"{sistema.api}/buzon/notificaciones", headers=cabecera).json()["notificaciones"]
    assert (listada["id"], listada["asunto"], listada["estado"]) == (id_, ASUNTO, "pendiente")
    otro = sistema.login(sistema.pki.emitir("GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01"))
    assert requests.get(f"{sistema.api}/buzon/notificaciones", headers=otro).json() == {"notificaciones": []}
    for ruta in ("acuse-recibo", "documento", "acuse"):
        respuesta = requests.get(f"{sistema.api}/buzon/notificaciones/{id_}/{ruta}", headers=otro)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (404, "no_encontrado"), ruta

    # Opened by signing the acuse de recibo with the e.firma.
    cadena = requests.get(f"{sistema.api}/buzon/notificaciones/{id_}/acuse-recibo",
                          headers=cabecera).json()["cadena_original"]
    assert id_ in cadena and RFC in cadena
    abierta = requests.post(f"{sistema.api}/buzon/notificaciones/{id_}/apertura", headers=cabecera, json={
        "certificado": b64(emitido.cer_der), "firma": firmar(emitido, cadena)})
    assert abierta.status_code == 200, abierta.text
    folio = abierta.json()["folio_acuse"]
    assert abierta.json()["estado"] == "abierta" and folio.startswith("NOT-")
    # Its acuse's código de verificación in the answer at once (buzon mints it with the acuse's request), and in
    # the person's list.
    codigo = abierta.json()["codigo_verificacion"]
    assert re.fullmatch(r"[A-Z2-7]{16}", codigo or ""), abierta.text
    listadas = requests.get(f"{sistema.api}/buzon/notificaciones", headers=cabecera).json()["notificaciones"]
    assert next(n for n in listadas if n["id"] == id_)["codigo_verificacion"] == codigo

    # The depositing system sees it opened, with the acuse's folio and code.
    vista = requests.get(f"{sistema.api}/notificaciones/{id_}", headers=clave).json()
    assert (vista["estado"], vista["folio_acuse"], vista["notificada_en"], vista["codigo_verificacion"]) == (
        "abierta", folio, abierta.json()["notificada_en"], codigo)

    documento = requests.get(f"{sistema.api}/buzon/notificaciones/{id_}/documento", headers=cabecera)
    assert (documento.status_code, documento.content) == (200, PDF)
    acuse = esperar(lambda: (r := requests.get(f"{sistema.api}/buzon/notificaciones/{id_}/acuse",
                                               headers=cabecera)).status_code == 200 and r, plazo=60)
    archivo = tmp_path / "acuse.pdf"
    archivo.write_bytes(acuse.content)
    texto = subprocess.run(["pdftotext", "-layout", str(archivo), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert folio in texto and RFC in texto and RP1 in texto
    # That code is the one acuses issued it with: its public verification opens with it.
    verificada = requests.get(f"{sistema.api}/acuses/{folio}/verificacion", params={"codigo": codigo})
    assert (verificada.status_code, verificada.json()["sello_valido"]) == (200, True), verificada.text
