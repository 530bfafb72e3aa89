"""Each of the six acuses rendered to PDF and read back with pdftotext: every field is there, as written, in every
template version (an acuse issued with an older version still renders with it on its first download); from version 3
on, the longest realistic acuse of each kind fits one page and the PDF is tagged for screen readers (PDF/UA-1)."""
import base64
import hashlib
import io
import re
import subprocess
import zlib

import pytest
import segno
import weasyprint
from PIL import Image

from buzon_acuses import documento, pdf
from buzon_acuses.cadena import cadena_original
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



def paginas(texto: str) -> int:
    # pdftotext ends every page with a form feed.
    return texto.count("\f")


@pytest.fixture(params=sorted(documento.PLANTILLAS))
def version(request):
    return request.param


def valores_de(solicitud, sello) -> dict:
    """What the service stores when it issues the acuse (its code kept in the request for the checks)."""
    cadena = cadena_original(solicitud)
    solicitud["codigo"] = nuevo_codigo()
    return documento.contexto(solicitud, cadena=cadena, sello=sello.sellar(cadena), public_url=PUBLIC_URL,
                              codigo=solicitud["codigo"], certificado_sello=sello.numero_certificado)


def antes_de_3(version: str) -> bool:
    return int(version) < 3


def medio_leido(version: str, mecanismo: str, valor: str, estado: str) -> str:
    """The medio as each layout prints it: a row of columns up to version 2, labelled lines from version 3."""
    if antes_de_3(version):
        return f"{mecanismo} {valor} {estado}"
    return f"Mecanismo: {mecanismo} Medio de contacto: {valor} Estado: {estado}"


def renderizar(solicitud, sello, version):
    """The acuse as a render process makes it on its first download: the stored values in that template version."""
    valores = valores_de(solicitud, sello)
    contenido = pdf.pdf_de_documento(version, valores)
    assert contenido.startswith(b"%PDF-")
    return documento.html_de(version, valores), texto_pdf(contenido), valores["cadena_original"], valores["sello"]


def qr_de(html: str, version: str) -> str:
    """The QR as the HTML of that version carries it: inline SVG, or the data: URI of a PNG."""
    if documento.PLANTILLAS[version].qr == "svg":
        [svg] = re.findall(r"<svg.*?</svg>", html, re.DOTALL)
        return svg
    [uri] = re.findall(r'<img [^>]*src="(data:image/png;base64,[^"]+)"', html)
    return uri


def comunes(solicitud, version, html, texto, cadena, sellado):
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
    # The QR holds that same address, code included: the one embedded is what segno makes for it, the same symbol
    # in every version (SVG in version 1; from 2 on a PNG of one pixel per module, dark where segno's are).
    qr = segno.make(url, error="m")
    if documento.PLANTILLAS[version].qr == "svg":
        assert qr_de(html, version) == qr.svg_inline(scale=3, border=2, dark="#000000", omitsize=False)
    else:
        assert qr_de(html, version) == qr.png_data_uri(scale=1, border=2)
        imagen = Image.open(io.BytesIO(base64.b64decode(qr_de(html, version).split(",", 1)[1])))
        modulos = [tuple(int(imagen.getpixel((x, y)) == 0) for x in range(imagen.width)) for y in range(imagen.height)]
        assert modulos == [tuple(fila) for fila in qr.matrix_iter(scale=1, border=2)]
    return leido


def test_registration(registro, sello_dev, version):
    html, texto, cadena, sellado = renderizar(registro, sello_dev, version)
    leido = comunes(registro, version, html, texto, cadena, sellado)
    assert "Nombre: ANA MARÍA MARTÍNEZ VARGAS" in leido
    assert "CURP: MAVA800101MDFRRN09" in leido
    assert medio_leido(version, "Correo electrónico", "ana@example.mx", "Pendiente de validación") in leido
    assert "Se registró el siguiente mecanismo de comunicación" in leido
    # A request without its deadline (contactos sends `vence_en` since version 3) prints no date and no hours.
    assert "Fecha límite" not in leido and "72 horas" not in leido or antes_de_3(version)
    assert "Aplica al RFC MAVA800101RS5." in leido
    assert "representante" not in leido


def test_validation_for_registros_patronales(validacion, sello_dev, version):
    html, texto, cadena, sellado = renderizar(validacion, sello_dev, version)
    leido = comunes(validacion, version, html, texto, cadena, sellado)
    assert "Razón social: EMPRESA DE DEMOSTRACIÓN SA DE CV" in leido
    assert "RFC del representante legal: MAVA800101RS5" in leido
    assert "CURP" not in leido
    assert medio_leido(version, "Teléfono celular", "5512345678", "Validado") in leido
    assert "Se validó el siguiente mecanismo de comunicación" in leido
    # RPs sent bare (before contactos sent each with its razón social) are listed as they came.
    assert "Registros Patronales a los que aplica: A1234567890, B1234567890" in leido


def test_deletion(baja, sello_dev, version):
    html, texto, cadena, sellado = renderizar(baja, sello_dev, version)
    leido = comunes(baja, version, html, texto, cadena, sellado)
    assert medio_leido(version, "Correo electrónico", "ana@example.mx", "Baja") in leido
    assert "Se dio de baja el siguiente mecanismo de comunicación" in leido
    assert "CURP: MAVA800101MDFRRN09" in leido


def activacion_comun(solicitud, version, leido, texto):
    datos = solicitud["datos"]
    assert "Solicitud y manifestación del solicitante" in leido
    assert plano(datos["texto"]) in leido
    assert "Medios de contacto validados" in leido
    # Up to version 2 the medios are listed again after the text; from version 3, once: in the text as signed.
    assert re.search(r"Correo electrónico:? ana@example\.mx", leido)
    assert re.search(r"Teléfono celular:? (\+52)?5512345678", leido)
    etiqueta = "Número de certificado" if antes_de_3(version) else "No. de certificado"
    assert f"{etiqueta}: {datos['numero_certificado']}" in leido
    assert datos["firma"] in compacto(texto)


def test_activation_patron(activacion_patron, sello_dev, version):
    html, texto, cadena, sellado = renderizar(activacion_patron, sello_dev, version)
    leido = comunes(activacion_patron, version, html, texto, cadena, sellado)
    activacion_comun(activacion_patron, version, leido, texto)
    assert "Patrones IMSS" in leido and "Particulares" not in leido
    assert "Razón social: EMPRESA DE DEMOSTRACIÓN SA DE CV" in leido
    assert "RFC del representante legal: MAVA800101RS5" in leido
    # Each Registro Patronal with its razón social: in its own list up to version 2, in the signed text from 3.
    for rp, razon in (("A1234567890", "EMPRESA DE DEMOSTRACIÓN SA DE CV"),
                      ("B1234567890", "EMPRESA DE DEMOSTRACIÓN SA DE CV PLANTA 2")):
        assert (f"{rp} {razon}" if antes_de_3(version) else f"- {razon}: {rp}") in leido
    assert "no tiene asociados Registros Patronales" not in leido


def test_activation_particular(activacion_particular, sello_dev, version):
    html, texto, cadena, sellado = renderizar(activacion_particular, sello_dev, version)
    leido = comunes(activacion_particular, version, html, texto, cadena, sellado)
    activacion_comun(activacion_particular, version, leido, texto)
    assert "Particulares" in leido and "Patrones IMSS" not in leido
    assert "Nombre: ANA MARÍA MARTÍNEZ VARGAS" in leido and "CURP: MAVA800101MDFRRN09" in leido
    assert ("El RFC MAVA800101RS5 no tiene asociados Registros Patronales ante el Instituto. La persona solicitante "
            "manifiesta su conformidad para usar el Buzón IMSS como Particular.") in leido


@pytest.mark.parametrize("valor", ["nombre.muy.largo.de.una.persona.con.correo.institucional@dependencia.gob.mx"])
def test_long_identifiers_stay_whole(registro, sello_dev, version, valor):
    registro["datos"]["valor"] = valor
    _html, texto, _cadena, _sellado = renderizar(registro, sello_dev, version)
    assert valor in texto


def test_aclaracion(aclaracion, sello_dev, version):
    html, texto, cadena, sellado = renderizar(aclaracion, sello_dev, version)
    leido = comunes(aclaracion, version, html, texto, cadena, sellado)
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


# The contexto's switches, not printed values.
NO_IMPRESOS = {"tipo", "variante", "moral"}
# Values version 3 added to the contexto: older versions never print them (their acuses were issued without them).
DESDE_3 = {"certificado_sello", "grupos_rp", "vence", "nota_vence"}


def impresos(valores, version: str = documento.PLANTILLA_VIGENTE) -> list[str]:
    """Every text of an acuse's stored values that its PDF must show."""
    omitidos = NO_IMPRESOS | (DESDE_3 if antes_de_3(version) else set())
    if isinstance(valores, dict):
        return [t for clave, valor in valores.items() if clave not in omitidos for t in impresos(valor, version)]
    if isinstance(valores, list):
        return [t for valor in valores for t in impresos(valor, version)]
    return [valores] if isinstance(valores, str) and valores else []


@pytest.mark.parametrize("tipo", ["registro", "validacion", "baja", "activacion_patron", "activacion_particular",
                                  "aclaracion"])
def test_every_stored_value_is_printed_and_new_acuses_fit_one_page(request, sello_dev, version, tipo):
    valores = valores_de(request.getfixturevalue(tipo), sello_dev)
    texto = texto_pdf(pdf.pdf_de_documento(version, valores))
    faltan = [t for t in impresos(valores, version) if compacto(t) not in compacto(texto)]
    assert not faltan, faltan
    assert {"titulo", "folio", "fecha", "nombre", "rfc", "cadena_original", "sello", "codigo_verificacion",
            "url_verificacion"} <= set(valores)
    # Version 1 spills its QR onto a second page; version 2 too once the Solicitud's text carries its data, as
    # activacion's always did; from version 3 on, an acuse of these sizes is one page (the longest: below).
    if not antes_de_3(version):
        assert paginas(texto) == 1


def test_a_render_process_makes_the_same_pdf_as_weasyprint_alone(registro, sello_dev, version):
    """A render process keeps one font configuration for all its renders: the bytes are those of a render with a
    fresh one, every time."""
    valores = valores_de(registro, sello_dev)
    solo = weasyprint.HTML(string=documento.html_de(version, valores)).write_pdf(
        **documento.PLANTILLAS[version].opciones_pdf)
    assert pdf.pdf_de_documento(version, valores) == solo == pdf.pdf_de_documento(version, valores)


def sin_paginacion(texto: str) -> str:
    """The text of the pages as one, without what each page repeats: the running header, and the folio and page
    number at its foot (version 1 has two pages, version 2 one)."""
    texto = re.sub(r"^\s*Instituto Mexicano del Seguro Social · Buzón IMSS\s*$", "", texto, flags=re.MULTILINE)
    return compacto(re.sub(r"^\s*Folio: \S+\s+Página \d+ de \d+\s*$", "", texto, flags=re.MULTILINE))


@pytest.mark.parametrize("tipo", ["registro", "validacion", "baja", "activacion_patron", "activacion_particular",
                                  "aclaracion"])
def test_version_2_prints_what_version_1_prints_in_the_same_order(request, sello_dev, tipo):
    """Version 2 is only a lighter layout: read back, its text is version 1's, word for word (line breaks aside)."""
    valores = valores_de(request.getfixturevalue(tipo), sello_dev)
    uno, dos = (texto_pdf(pdf.pdf_de_documento(v, valores)) for v in ("1", "2"))
    assert sin_paginacion(dos) == sin_paginacion(uno)
    assert sin_paginacion(dos).startswith("InstitutoMexicanodelSeguroSocialBuzónIMSS")
    assert f"Folio:{valores['folio']}Fecha:" in sin_paginacion(dos) and "Página" not in sin_paginacion(dos)


# -- version 3: the longest realistic acuses on one page, tagged for screen readers --------------------------------

def vigente(solicitud, sello):
    """An acuse issued now, rendered: its stored values, its PDF and the PDF's text."""
    valores = valores_de(solicitud, sello)
    contenido = pdf.pdf_de_documento(documento.PLANTILLA_VIGENTE, valores)
    return valores, contenido, texto_pdf(contenido)


def grupo_leido(razon: str, rps: list[dict]) -> str:
    return f"{razon}: " + ", ".join(rp["registro_patronal"] for rp in rps if rp["razon_social"] == razon)


@pytest.mark.parametrize("tipo", ["registro", "validacion", "baja", "activacion_patron", "activacion_particular",
                                  "aclaracion"])
def test_the_longest_realistic_acuse_of_each_kind_fits_one_page_with_every_field(largos, sello_dev, tipo):
    solicitud = largos.solicitudes[tipo]
    valores, _contenido, texto = vigente(solicitud, sello_dev)
    assert documento.PLANTILLA_VIGENTE == "3" and paginas(texto) == 1
    leido = plano(texto)
    faltan = [t for t in impresos(valores) if compacto(t) not in compacto(texto)]
    assert not faltan, faltan
    codigo = solicitud["codigo"]
    assert re.search(rf"^\s*Código de verificación: {codigo}\s*$", texto, re.MULTILINE)
    assert re.search(rf"^\s*{re.escape(valores['url_verificacion'])}\s*$", texto, re.MULTILINE)
    assert f"No. de certificado del sello: {sello_dev.numero_certificado}" in leido
    assert re.fullmatch(r"\d{20}", sello_dev.numero_certificado)
    assert f"Folio: {solicitud['folio']}" in leido and FECHA in leido
    if tipo.startswith("activacion"):
        # The person's data, medios and RPs are printed once, inside the text as signed.
        assert plano(solicitud["datos"]["texto"]) in leido
        assert f"No. de certificado: {solicitud['datos']['numero_certificado']}" in leido
    if tipo == "activacion_patron":
        assert "Razón social: " + largos.razon in leido
        assert "RFC del representante legal: GOCJ750505AB1" in leido
        assert "CURP del representante legal: GOCJ750505HDFMRN01" in leido and "CURP: GOCJ" not in leido
        for razon in (largos.razon, largos.razon_planta):
            assert "- " + grupo_leido(razon, largos.rps) in leido
        assert "(de todos los Registros Patronales)" in leido
    elif tipo == "activacion_particular":
        assert "Nombre: " + largos.fisica["nombre"] in leido and "CURP: FEGM800101MNLRRR09" in leido
    elif tipo == "aclaracion":
        assert len(largos.planteamiento) == 4000 and plano(largos.planteamiento) in leido
        assert "Nombre: " + largos.fisica["nombre"] in leido and "CURP: FEGM800101MNLRRR09" in leido
    else:
        assert "Razón social: " + largos.razon in leido
        assert "RFC del representante legal: GOCJ750505AB1" in leido
        assert "CURP del representante legal: GOCJ750505HDFMRN01" in leido and "CURP: GOCJ" not in leido
        assert f"Medio de contacto: {largos.correo}" in leido
        # Every Registro Patronal, under its razón social.
        assert ("Registros Patronales a los que aplica: " + grupo_leido(largos.razon, largos.rps) + " "
                + grupo_leido(largos.razon_planta, largos.rps)) in leido
        limite = "Fecha límite para validarlo: 01 de diciembre de 2026 12:00:00 hrs."
        if tipo == "registro":
            assert limite in leido and "a más tardar en la fecha límite indicada" in leido
        else:
            assert "Fecha límite" not in leido


def test_a_mobiles_acuse_de_registro_says_its_window_runs_from_the_code(registro, sello_dev):
    registro["datos"].update({"mecanismo": "telefono", "valor": "+525512345678",
                              "vence_en": "2026-12-01T12:00:00-06:00"})
    _valores, _contenido, texto = vigente(registro, sello_dev)
    assert ("Fecha límite para validarlo: 01 de diciembre de 2026 12:00:00 hrs. (el plazo corre desde el envío del "
            "código por SMS y se renueva con cada código nuevo)") in plano(texto)
    assert "Medio de contacto: 5512345678" in plano(texto) and paginas(texto) == 1


def test_a_request_sent_before_version_3_still_renders_in_it(registro, validacion, sello_dev):
    """Requests stored before contactos sent the deadline and each RP's razón social: bare RPs, no date, and no
    number of hours either (the window is a setting)."""
    _valores, _contenido, texto = vigente(registro, sello_dev)
    leido = plano(texto)
    assert "Fecha límite" not in leido and "horas" not in leido
    assert "Deberá validarlo dentro del plazo establecido" in leido and "Aplica al RFC MAVA800101RS5." in leido
    _valores, _contenido, texto = vigente(validacion, sello_dev)
    assert "Registros Patronales a los que aplica: A1234567890, B1234567890" in plano(texto)


def flujos_descomprimidos(contenido: bytes) -> bytes:
    """The PDF's streams inflated: its catalog and metadata sit in compressed object streams."""
    partes = []
    for encontrado in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", contenido, re.DOTALL):
        try:
            partes.append(zlib.decompress(encontrado.group(1)))
        except zlib.error:
            continue
    return b"\n".join(partes)


def test_version_3_is_tagged_for_screen_readers_with_title_language_and_structure(largos, sello_dev):
    solicitud = largos.solicitudes["registro"]
    valores, contenido, _texto = vigente(solicitud, sello_dev)
    info = subprocess.run(["pdfinfo", "-"], input=contenido, capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE)
    assert re.search(rf"^Title:\s+{re.escape(valores['titulo'])} - {solicitud['folio']}$", info, re.MULTILINE)
    assert re.search(r"^Author:\s+Instituto Mexicano del Seguro Social$", info, re.MULTILINE)
    assert re.search(r"^PDF version:\s+1\.7$", info, re.MULTILINE)
    flujos = flujos_descomprimidos(contenido)
    assert b"/Lang (es-MX)" in flujos
    assert b'pdfuaid:part="1"' in flujos  # PDF/UA-1 declared in the XMP metadata
    assert b"/MarkInfo <</Marked true>>" in flujos and b"/DisplayDocTitle true" in flujos
    # The structure a screen reader walks: headings, paragraphs, lists, and the QR as a figure with its text.
    estructura = subprocess.run(["pdfinfo", "-struct", "-"], input=contenido, capture_output=True,
                                check=True).stdout.decode()
    etiquetas = set(re.findall(r"^\s*(\w+)", estructura, re.MULTILINE))
    assert {"Document", "H1", "H2", "P", "L", "LI", "Figure"} <= etiquetas
    alternativo = "Código QR con la dirección de verificación de este acuse".encode("utf-16-be")
    assert b"/Alt <feff" + alternativo.hex().encode() + b">" in flujos
