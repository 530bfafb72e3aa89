"""Each of the six acuses rendered to PDF and read back with pdftotext: every field is there, as written."""
import hashlib
import re
import subprocess

import pytest
import segno

from buzon_acuses import documento
from buzon_acuses.cadena import cadena_original
from buzon_acuses.pdf import pdf_de_html
from buzon_acuses.solicitudes import nuevo_codigo

PUBLIC_URL = "https://buzon.imss.example"
FECHA = "Fecha: 28 de noviembre de 2026 12:00:00 hrs."
LEGALES = ("Ley del Seguro Social", "ACDO.AS2.HCT.240620/170.P.DIR", "ACDO.AS2.HCT.270422/106.P.DIR",
           "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados")


def texto_pdf(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def plano(texto: str) -> str:
    """Whitespace collapsed: lines wrapped by the layout read as the sentence they are."""
    return " ".join(texto.split())


def compacto(texto: str) -> str:
    """No whitespace at all: base64 and cadenas wrapped inside their block read back whole."""
    return re.sub(r"\s+", "", texto)



def renderizar(solicitud, sello):
    cadena = cadena_original(solicitud)
    sellado = sello.sellar(cadena)
    solicitud["codigo"] = nuevo_codigo()
    html = documento.html(solicitud, cadena=cadena, sello=sellado, public_url=PUBLIC_URL, codigo=solicitud["codigo"])
    pdf = pdf_de_html(html)
    assert pdf.startswith(b"%PDF-")
    return html, texto_pdf(pdf), cadena, sellado


def comunes(solicitud, html, texto, cadena, sellado):
    leido = plano(texto)
    codigo = solicitud.pop("codigo")
    for esperado in ("Instituto Mexicano del Seguro Social", "Buzón IMSS", documento.TITULOS[solicitud["tipo"]],
                     f"Folio: {solicitud['folio']}", FECHA, f"RFC: {solicitud['rfc']}",
                     solicitud["titular"]["nombre"], "Cadena original", "Sello digital", *LEGALES):
        assert esperado in leido, esperado
    # Identifiers were found whole above; no soft hyphen may have crept into the text either.
    assert "\u00ad" not in texto
    assert compacto(cadena) in compacto(texto)
    assert sellado[:40] in compacto(texto) and sellado in compacto(texto)
    # The code and the whole address each on one line, unbroken, as a person reads and types them.
    url = f"{PUBLIC_URL}/api/v1/acuses/{solicitud['folio']}/verificacion?codigo={codigo}"
    assert re.search(rf"^\s*Código de verificación: {codigo}\s*$", texto, re.MULTILINE)
    assert re.search(rf"^\s*{re.escape(url)}\s*$", texto, re.MULTILINE)
    # The QR holds that same address, code included: the one SVG embedded is what segno makes for it.
    [svg] = re.findall(r"<svg.*?</svg>", html, re.DOTALL)
    assert svg == segno.make(url, error="m").svg_inline(scale=3, border=2, dark="#000000", omitsize=False)
    return leido


def test_registration(registro, sello_dev):
    html, texto, cadena, sellado = renderizar(registro, sello_dev)
    leido = comunes(registro, html, texto, cadena, sellado)
    assert "Nombre: ANA MARÍA MARTÍNEZ VARGAS" in leido
    assert "CURP: MAVA800101MDFRRN09" in leido
    assert "Correo electrónico ana@example.mx Pendiente de validación" in leido
    assert "Se registró el siguiente mecanismo de comunicación" in leido
    assert "Aplica al RFC MAVA800101RS5." in leido
    assert "representante" not in leido


def test_validation_for_registros_patronales(validacion, sello_dev):
    html, texto, cadena, sellado = renderizar(validacion, sello_dev)
    leido = comunes(validacion, html, texto, cadena, sellado)
    assert "Razón social: EMPRESA DE DEMOSTRACIÓN SA DE CV" in leido
    assert "RFC del representante legal: MAVA800101RS5" in leido
    assert "CURP" not in leido
    assert "Teléfono celular 5512345678 Validado" in leido
    assert "Se validó el siguiente mecanismo de comunicación" in leido
    assert "Registros Patronales a los que aplica: A1234567890, B1234567890" in leido


def test_deletion(baja, sello_dev):
    html, texto, cadena, sellado = renderizar(baja, sello_dev)
    leido = comunes(baja, html, texto, cadena, sellado)
    assert "Correo electrónico ana@example.mx Baja" in leido
    assert "Se dio de baja el siguiente mecanismo de comunicación" in leido
    assert "CURP: MAVA800101MDFRRN09" in leido


def activacion_comun(solicitud, leido, texto):
    datos = solicitud["datos"]
    assert "Solicitud y manifestación del solicitante" in leido
    assert plano(datos["texto"]) in leido
    assert "Medios de contacto validados" in leido
    assert "Correo electrónico ana@example.mx" in leido and "Teléfono celular 5512345678" in leido
    assert f"Número de certificado: {datos['numero_certificado']}" in leido
    assert datos["firma"] in compacto(texto)


def test_activation_patron(activacion_patron, sello_dev):
    html, texto, cadena, sellado = renderizar(activacion_patron, sello_dev)
    leido = comunes(activacion_patron, html, texto, cadena, sellado)
    activacion_comun(activacion_patron, leido, texto)
    assert "Patrones IMSS" in leido and "Particulares" not in leido
    assert "Razón social: EMPRESA DE DEMOSTRACIÓN SA DE CV" in leido
    assert "RFC del representante legal: MAVA800101RS5" in leido
    assert "A1234567890 EMPRESA DE DEMOSTRACIÓN SA DE CV" in leido
    assert "B1234567890 EMPRESA DE DEMOSTRACIÓN SA DE CV PLANTA 2" in leido
    assert "no tiene asociados Registros Patronales" not in leido


def test_activation_particular(activacion_particular, sello_dev):
    html, texto, cadena, sellado = renderizar(activacion_particular, sello_dev)
    leido = comunes(activacion_particular, html, texto, cadena, sellado)
    activacion_comun(activacion_particular, leido, texto)
    assert "Particulares" in leido and "Patrones IMSS" not in leido
    assert "Nombre: ANA MARÍA MARTÍNEZ VARGAS" in leido and "CURP: MAVA800101MDFRRN09" in leido
    assert ("El RFC MAVA800101RS5 no tiene asociados Registros Patronales. La persona solicitante manifiesta su "
            "conformidad para usar el Buzón IMSS como Particular.") in leido


@pytest.mark.parametrize("valor", ["nombre.muy.largo.de.una.persona.con.correo.institucional@dependencia.gob.mx"])
def test_long_identifiers_stay_whole(registro, sello_dev, valor):
    registro["datos"]["valor"] = valor
    _html, texto, _cadena, _sellado = renderizar(registro, sello_dev)
    assert valor in texto


def test_aclaracion(aclaracion, sello_dev):
    html, texto, cadena, sellado = renderizar(aclaracion, sello_dev)
    leido = comunes(aclaracion, html, texto, cadena, sellado)
    datos = aclaracion["datos"]
    assert "Acuse de recibo de Aclaraciones u Orientaciones" in leido
    assert "Nombre: ANA MARÍA MARTÍNEZ VARGAS" in leido and "CURP: MAVA800101MDFRRN09" in leido
    assert "Asunto: Activación Buzón IMSS" in leido
    assert plano(datos["texto"]) in leido
    # The cadena binds the texto by its digest, so the seal covers what the person wrote.
    resumen = hashlib.sha256(datos["texto"].encode("utf-8")).hexdigest()
    assert cadena == (f"||1.0|aclaracion|{aclaracion['folio']}|MAVA800101RS5|MAVA800101MDFRRN09|"
                      f"2026-11-28T12:00:00-06:00|Activación Buzón IMSS|{resumen}||")
    assert "Mecanismo de comunicación" not in leido and "e.firma" not in leido
