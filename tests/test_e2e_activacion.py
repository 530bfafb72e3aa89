"""The three steps of the guide end to end for a Patrón and a Particular: e.firma login, contact means validated
from the sinks, the Solicitud signed with the e.firma, and every acuse downloaded and verified by its QR's address."""
import subprocess

import pytest
import requests

from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

AVISO_PARTICULAR = "Estimado Usuario: Tu RFC no tiene asociados Registros Patronales."


def texto_pdf(contenido: bytes, carpeta) -> str:
    archivo = carpeta / "acuse.pdf"
    archivo.write_bytes(contenido)
    return subprocess.run(["pdftotext", "-layout", str(archivo), "-"], capture_output=True, text=True,
                          check=True).stdout


def descargar(sistema, cabecera, ruta):
    return esperar(lambda: (r := requests.get(f"{sistema.api}{ruta}", headers=cabecera)).status_code == 200 and r,
                   plazo=60)


@pytest.mark.parametrize("persona", ["patron", "particular"])
def test_the_three_steps(sistema, persona, tmp_path):
    if persona == "patron":
        emitido = sistema.pki.emitir("PAT020202AB1", "PATRONAL DE PRUEBAS SA DE CV",
                                     rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09")
        correo, telefono = "avisos@patronal.mx", "5522223333"
    else:
        emitido = sistema.pki.emitir("LOPE900303AB2", "ELENA LOPEZ PEREZ", "LOPE900303MDFPRL05")
        correo, telefono = "elena@example.mx", "5544445555"
    rfc = "PAT020202AB1" if persona == "patron" else "LOPE900303AB2"

    # 1. Log in with the e.firma.
    cabecera = sistema.login(emitido)

    # Before the contact means: the activation says what is missing and refuses.
    estado = requests.get(f"{sistema.api}/activacion", headers=cabecera).json()
    assert estado["estado"] == "inactivo" and estado["tipo"] == persona
    assert estado["requisitos"] == {"correo_validado": False, "telefono_validado": False}
    assert (estado["aviso"] or "").startswith(AVISO_PARTICULAR) == (persona == "particular")
    prematura, _ = sistema.activar(cabecera, emitido)
    assert (prematura.status_code, prematura.json()["error"]["codigo"]) == (409, "requisitos_incompletos")

    # 2. Register and validate an email and a mobile.
    medios = sistema.validar_medios(cabecera, correo, telefono)
    assert {m["estado"] for m in medios} == {"validado"}
    assert requests.get(f"{sistema.api}/activacion", headers=cabecera).json()["requisitos"] == {
        "correo_validado": True, "telefono_validado": True}

    # 3. Sign the Solicitud y manifestación: someone else's e.firma is refused, the person's own activates once.
    ajena = sistema.pki.emitir("GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01")
    rechazo, _ = sistema.activar(cabecera, ajena)
    assert (rechazo.status_code, rechazo.json()["error"]["codigo"]) == (403, "certificado_ajeno")
    activado, solicitud = sistema.activar(cabecera, emitido)
    assert activado.status_code == 201, activado.text
    assert activado.json()["estado"] == "activo" and activado.json()["folio"].startswith("ACT-")
    assert rfc in solicitud["cadena_original"] and rfc in solicitud["texto"]
    otra_vez, _ = sistema.activar(cabecera, emitido)
    assert (otra_vez.status_code, otra_vez.json()["error"]["codigo"]) == (409, "ya_activo")
    estado = requests.get(f"{sistema.api}/activacion", headers=cabecera).json()
    assert (estado["estado"], estado["folio"]) == ("activo", activado.json()["folio"])

    # The acuse of the activation: a PDF with every field, the same bytes every time, verifiable by its QR.
    pdf = descargar(sistema, cabecera, "/activacion/acuse")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert descargar(sistema, cabecera, "/activacion/acuse").content == pdf.content
    texto = texto_pdf(pdf.content, tmp_path)
    folio = activado.json()["folio"]
    for campo in (folio, rfc, "Patrones IMSS" if persona == "patron" else "Particulares", "Fecha:", "hrs."):
        assert campo in texto, campo
    if persona == "patron":
        assert "B1111111110" in texto and "B2222222220" in texto
    # Its código de verificación: in the owner's API and printed with the full address the QR holds.
    codigo = requests.get(f"{sistema.api}/activacion", headers=cabecera).json()["codigo_verificacion"]
    direccion = f"{sistema.api}/acuses/{folio}/verificacion?codigo={codigo}"
    assert f"Código de verificación: {codigo}" in texto and direccion in texto.replace("\n", "")
    verificacion = requests.get(direccion)
    assert verificacion.status_code == 200
    assert verificacion.json()["sello_valido"] is True and verificacion.json()["rfc"] == rfc
    assert verificacion.json()["cadena_original"] == solicitud["cadena_original"]
    # Without the code, the folio alone tells nothing.
    for sin_codigo in (f"{sistema.api}/acuses/{folio}/verificacion",
                       f"{sistema.api}/acuses/{folio}/verificacion?codigo=AAAAAAAAAAAAAAAA"):
        respuesta = requests.get(sin_codigo)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (404, "no_encontrado")

    # The acuses of the contact means, each with the code its owner reads in the list.
    textos = {(medio["id"], tipo): texto_pdf(descargar(sistema, cabecera,
                                                      f"/medios-contacto/{medio['id']}/acuses/{tipo}").content, tmp_path)
              for medio in medios for tipo in ("registro", "validacion")}
    listados = {m["id"]: m for m in requests.get(f"{sistema.api}/medios-contacto", headers=cabecera).json()["medios"]}
    for (medio_id, tipo), texto_medio in textos.items():
        assert listados[medio_id]["acuses"][tipo] in texto_medio
        assert f"Código de verificación: {listados[medio_id]['codigos_verificacion'][tipo]}" in texto_medio

    # Deleting the mobile now leaves the active Buzón without one: the answer says so.
    telefono_medio = next(m for m in medios if m["mecanismo"] == "telefono")
    baja = requests.delete(f"{sistema.api}/medios-contacto/{telefono_medio['id']}", headers=cabecera).json()
    assert baja["estado"] == "baja" and "celular" in baja["aviso"]


def test_an_unknown_folio_is_not_found(sistema):
    respuesta = requests.get(f"{sistema.api}/acuses/ACT-1999-00000001/verificacion?codigo=AAAAAAAAAAAAAAAA")
    assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (404, "no_encontrado")


def test_another_rfc_cannot_download_an_acuse(sistema):
    emitido = sistema.pki.emitir("GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01")
    cabecera = sistema.login(emitido)
    respuesta = requests.get(f"{sistema.api}/activacion/acuse", headers=cabecera)
    assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (404, "no_encontrado")
