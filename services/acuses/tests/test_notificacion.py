"""The acuse de notificación (tipo `notificacion`, asked by buzon): its cadena, and its PDF read back with
pdftotext for both formas (opened by the person, or deemed notified), with the longest values a deposit may carry,
on one page, in version 3's file of its own for this kind."""
import hashlib
import re
import subprocess
import uuid

import pytest

from buzon_acuses import documento, pdf
from buzon_acuses.cadena import cadena_original
from buzon_acuses.solicitudes import nuevo_codigo

PUBLIC_URL = "https://buzon.imss.example"
DOCUMENTO = hashlib.sha256(b"%PDF-1.7 requerimiento").hexdigest()
RAZON = "EMPRESA DE DEMOSTRACIÓN DEL NORTE DE MÉXICO, SOCIEDAD ANÓNIMA PROMOTORA DE INVERSIÓN DE CAPITAL VARIABLE"
RAZON_PLANTA = "EMPRESA DE DEMOSTRACIÓN DEL NORTE DE MÉXICO, PLANTA MONTERREY"
TITULAR = {"rfc": "EDE0101013A2", "nombre": RAZON, "curp": "GOCJ750505HDFMRN01", "rfc_representante": "GOCJ750505AB1",
           "tipo_persona": "moral"}
# The most a deposit may carry (buzon: asunto and área 200 characters, tipo de acto 100), to forty Registros
# Patronales under two long razones sociales as the other kinds' longest acuses (buzon takes up to 100: an acuse
# with more than about sixty flows onto a second page, "Página 1 de 2").
ASUNTO = ("Requerimiento de pago de cuotas obrero patronales omitidas correspondientes a los bimestres del ejercicio "
          "fiscal dos mil veintiséis, con su actualización, recargos y multas determinados por el Instituto")[:200]
AREA = ("Jefatura de Servicios de Cobranza de la Subdelegación Monterrey Norte, Órgano de Operación Administrativa "
        "Desconcentrada Regional Nuevo León, Instituto Mexicano del Seguro Social")[:200]
TIPO_ACTO = "Requerimiento de pago y embargo en la vía administrativa (procedimiento administrativo de ejecución)"
RPS = [{"registro_patronal": f"Y{5412345100 + i:010d}", "razon_social": RAZON if i < 30 else RAZON_PLANTA}
       for i in range(40)]
RECIBO = "||1.0|acuse_recibo|{id}|EDE0101013A2|2026-12-09T10:15:00-06:00|" + DOCUMENTO + "||"


def solicitud(forma: str, *, rps=RPS, titular=TITULAR) -> dict:
    ident = str(uuid.uuid4())
    notificada = "2026-12-09T10:15:00-06:00" if forma == "apertura" else "2026-12-11T00:00:00-06:00"
    datos = {"forma": forma, "notificacion_id": ident, "sistema": "cobranza", "asunto": ASUNTO, "area": AREA,
             "tipo_acto": TIPO_ACTO, "registros_patronales": [rp["registro_patronal"] for rp in rps],
             "depositada_en": "2026-12-04T09:30:00-06:00", "aviso_enviado_en": "2026-12-04T09:31:05-06:00",
             "documento_sha256": DOCUMENTO, "notificada_en": notificada}
    if forma == "apertura":
        datos.update(cadena_original=RECIBO.format(id=ident), firma="U0lHTkFUVVJF" * 30,
                     numero_certificado="00001000000500003416")
    return {"folio": f"NOT-2026-{uuid.uuid4().int % 10**8:08d}", "tipo": "notificacion", "rfc": titular["rfc"],
            "emitido_en": notificada, "titular": dict(titular), "datos": datos}


def con_razon(solicitud_: dict) -> dict:
    """buzon may send each RP with its razón social, as contactos does: the acuse groups them under it."""
    return {**solicitud_, "datos": {**solicitud_["datos"], "registros_patronales": RPS}}


def leer(solicitud_: dict, sello) -> tuple[dict, str]:
    cadena = cadena_original(solicitud_)
    codigo = nuevo_codigo()
    valores = documento.contexto(solicitud_, cadena=cadena, sello=sello.sellar(cadena), public_url=PUBLIC_URL,
                                 codigo=codigo, certificado_sello=sello.numero_certificado)
    contenido = pdf.pdf_de_documento(documento.PLANTILLA_VIGENTE, valores)
    texto = subprocess.run(["pdftotext", "-layout", "-", "-"], input=contenido, capture_output=True,
                           check=True).stdout.decode()
    return valores, texto


def plano(texto: str) -> str:
    return " ".join(texto.split())


def compacto(texto: str) -> str:
    return re.sub(r"\s+", "", texto)


def impresos(valores) -> list[str]:
    if isinstance(valores, dict):
        return [t for clave, valor in valores.items() if clave not in {"tipo", "forma", "moral"}
                for t in impresos(valor)]
    if isinstance(valores, list):
        return [t for valor in valores for t in impresos(valor)]
    return [valores] if isinstance(valores, str) and valores else []


@pytest.mark.parametrize("forma", ["apertura", "tacita"])
def test_the_acuse_de_notificacion_prints_every_field_on_one_page(sello_dev, forma):
    pedida = con_razon(solicitud(forma))
    valores, texto = leer(pedida, sello_dev)
    leido = plano(texto)
    assert texto.count("\f") == 1, "una sola página"
    faltan = [t for t in impresos(valores) if compacto(t) not in compacto(texto)]
    assert not faltan, faltan
    datos = pedida["datos"]
    for esperado in ("Instituto Mexicano del Seguro Social", "Acuse de notificación", f"Folio: {pedida['folio']}",
                     f"Razón social: {RAZON}", "RFC: EDE0101013A2", "RFC del representante legal: GOCJ750505AB1",
                     "CURP del representante legal: GOCJ750505HDFMRN01", f"Asunto: {plano(ASUNTO)}",
                     f"Área emisora: {plano(AREA)}", f"Tipo de acto: {plano(TIPO_ACTO)}",
                     "Fecha de depósito en el Buzón IMSS: 04 de diciembre de 2026 09:30:00 hrs.",
                     "Fecha de envío del aviso: 04 de diciembre de 2026 09:31:05 hrs.",
                     f"Identificador de la notificación: {datos['notificacion_id']}",
                     f"SHA-256 del documento: {DOCUMENTO}", "Cadena original", "Sello digital",
                     f"No. de certificado del sello: {sello_dev.numero_certificado}",
                     f"Código de verificación: {valores['codigo_verificacion']}"):
        assert esperado in leido, esperado
    assert re.search(rf"^\s*{re.escape(valores['url_verificacion'])}\s*$", texto, re.MULTILINE)
    assert compacto(valores["cadena_original"]) in compacto(texto) and compacto(valores["sello"]) in compacto(texto)
    assert ("Registros Patronales a los que se dirige: " + RAZON + ": "
            + ", ".join(rp["registro_patronal"] for rp in RPS[:30])) in leido
    if forma == "apertura":
        assert "Notificación por apertura del destinatario" in leido
        assert "Forma de notificación: Apertura por el destinatario" in leido
        assert "Fecha y hora de la notificación: 09 de diciembre de 2026 10:15:00 hrs." in leido
        assert "Fecha: 09 de diciembre de 2026 10:15:00 hrs." in leido
        assert "surtió sus efectos en la fecha y hora de su apertura" in leido
        assert "No. de certificado de la e.firma con que se firmó el acuse de recibo: 00001000000500003416" in leido
    else:
        assert "Notificación tácita" in leido and "Forma de notificación: Tácita: se tiene por notificada" in leido
        assert "Fecha y hora de la notificación: 11 de diciembre de 2026 00:00:00 hrs." in leido
        assert "por lo que se tiene por notificada en la fecha y hora indicadas" in leido
        assert "e.firma con que se firmó" not in leido and "surtió sus efectos" not in leido


def test_a_deemed_notification_without_the_addressees_name_or_rps_reads_as_the_rfcs(sello_dev):
    """buzon's deemed acuse carries the RFC alone (no session, so no name), to the RFC (no RPs)."""
    sin_nombre = {campo: None for campo in TITULAR} | {"rfc": "MAVA800101RS5"}
    valores, texto = leer(solicitud("tacita", rps=[], titular=sin_nombre), sello_dev)
    leido = plano(texto)
    assert "RFC: MAVA800101RS5" in leido and "Se dirige al RFC MAVA800101RS5." in leido
    assert "Nombre:" not in leido and "Razón social:" not in leido and "None" not in leido
    assert texto.count("\f") == 1


def test_the_cadena_binds_the_notification_its_document_and_the_signed_acuse_de_recibo():
    abierta = solicitud("apertura", rps=RPS[:2])
    datos = abierta["datos"]
    resumen = hashlib.sha256(datos["cadena_original"].encode()).hexdigest()
    assert cadena_original(abierta) == (
        f"||1.0|notificacion|{abierta['folio']}|EDE0101013A2|GOCJ750505HDFMRN01|2026-12-09T10:15:00-06:00|apertura|"
        f"{datos['notificacion_id']}|{ASUNTO}|{AREA}|{TIPO_ACTO}|2026-12-04T09:30:00-06:00|{DOCUMENTO}|"
        f"{RPS[0]['registro_patronal']},{RPS[1]['registro_patronal']}|{resumen}||")
    tacita = solicitud("tacita", rps=[])
    assert cadena_original(tacita).endswith(f"|{DOCUMENTO}||||")  # no RPs, no acuse de recibo
    for roto in ({"forma": "otra"}, {"documento_sha256": ""}, {"notificacion_id": None}):
        with pytest.raises(ValueError):
            cadena_original({**tacita, "datos": {**tacita["datos"], **roto}})
    with pytest.raises(ValueError, match="acuse de recibo"):
        cadena_original({**abierta, "datos": {**datos, "cadena_original": ""}})


def test_the_kind_has_a_file_of_its_own_in_version_3_and_the_other_kinds_keep_theirs():
    tres = documento.PLANTILLAS["3"]
    assert documento.PLANTILLA_VIGENTE == "3"
    assert tres.archivo_de("notificacion") == "acuse-3-notificacion.html"
    for tipo in ("registro_medio", "validacion_medio", "baja_medio", "activacion", "aclaracion"):
        assert tres.archivo_de(tipo) == "acuse-3.html"
    assert all(v.archivo_de("notificacion") == v.archivo for k, v in documento.PLANTILLAS.items() if k != "3")
