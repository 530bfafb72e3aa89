"""The acuse as a document: the HTML of each kind from its request, its cadena and its seal.

Everything printed comes from the stored request (and the seal), so rendering it again years later gives the
same content. Rendering to PDF happens elsewhere (`pdf.pdf_de_html`, in a separate process).
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from buzon_acuses.cadena import ACLARACION, ACTIVACION, registro_patronal
from buzon_acuses.fechas import fecha_acuse

TITULOS = {
    "registro_medio": "Acuse de registro o actualización de mecanismo de comunicación",
    "validacion_medio": "Acuse de validación de mecanismos de comunicación",
    "baja_medio": "Acuse de baja de mecanismo de comunicación",
    ACTIVACION: "Acuse de la solicitud y manifestación de conformidad para el uso del Buzón IMSS",
    ACLARACION: "Acuse de recibo de Aclaraciones u Orientaciones",
}
VARIANTES = {"patron": "Patrones IMSS", "particular": "Particulares"}
MECANISMOS = {"correo": "Correo electrónico", "telefono": "Teléfono celular"}
ESTADOS = {
    "pendiente": "Pendiente de validación",
    "validado": "Validado",
    "baja": "Baja",
    "baja_vencimiento": "Baja por vencimiento",
}
ACCIONES = {
    "registro_medio": "Se registró el siguiente mecanismo de comunicación para recibir los avisos de que tiene "
                      "un mensaje en su Buzón IMSS. Deberá validarlo dentro de las 72 horas siguientes.",
    "validacion_medio": "Se validó el siguiente mecanismo de comunicación, en el que recibirá los avisos de que "
                        "tiene un mensaje en su Buzón IMSS.",
    "baja_medio": "Se dio de baja el siguiente mecanismo de comunicación; ya no recibirá en él los avisos de su "
                  "Buzón IMSS.",
}


def url_verificacion(public_url: str, folio: str, codigo: str) -> str:
    """The public verification of one acuse: its folio and its código de verificación, as the QR and the text
    printed on the acuse carry them."""
    # Folios and codes need no escaping (letters, digits, "-"); quoting only keeps a surprise from breaking the URL.
    return (f"{public_url.rstrip('/')}/api/v1/acuses/{quote(folio, safe='')}/verificacion"
            f"?codigo={quote(codigo, safe='')}")


def qr_svg(contenido: str) -> str:
    """The QR as inline SVG (no XML declaration: it sits inside the HTML)."""
    return segno.make(contenido, error="m").svg_inline(scale=3, border=2, dark="#000000", omitsize=False)


@lru_cache(maxsize=1)
def _entorno() -> Environment:
    return Environment(loader=PackageLoader("buzon_acuses", "plantillas"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _telefono(valor: str) -> str:
    # Stored as +52 and 10 digits; the person typed 10 digits, so that is what the acuse shows too.
    return valor[3:] if valor.startswith("+52") and len(valor) == 13 else valor


def _medio(mecanismo: str, valor: str) -> dict:
    return {"mecanismo": MECANISMOS.get(mecanismo, mecanismo),
            "valor": _telefono(valor) if mecanismo == "telefono" else valor}


def contexto(solicitud: dict, *, cadena: str, sello: str, public_url: str, codigo: str) -> dict:
    tipo = solicitud["tipo"]
    titular = solicitud.get("titular") or {}
    datos = solicitud.get("datos") or {}
    url = url_verificacion(public_url, solicitud["folio"], codigo)
    base = {
        "tipo": tipo,
        "titulo": TITULOS[tipo],
        "folio": solicitud["folio"],
        "fecha": fecha_acuse(solicitud["emitido_en"]),
        "nombre": titular.get("nombre") or "",
        "rfc": solicitud["rfc"],
        "curp": titular.get("curp"),
        "rfc_representante": titular.get("rfc_representante") if titular.get("tipo_persona") == "moral" else None,
        "moral": titular.get("tipo_persona") == "moral",
        "cadena_original": cadena,
        "sello": sello,
        "codigo_verificacion": codigo,
        "url_verificacion": url,
        "qr": Markup(qr_svg(url)),
    }
    if tipo == ACTIVACION:
        variante = "patron" if datos.get("tipo_usuario") == "patron" else "particular"
        base.update({
            "variante": variante,
            "subtitulo": VARIANTES[variante],
            "texto": datos.get("texto") or "",
            "registros_patronales": [
                {"registro_patronal": registro_patronal(rp),
                 "razon_social": rp.get("razon_social", "") if isinstance(rp, dict) else ""}
                for rp in datos.get("registros_patronales") or []],
            "medios": [_medio(m.get("mecanismo", ""), m.get("valor", "")) for m in datos.get("medios") or []],
            "firma": datos.get("firma") or "",
            "numero_certificado": datos.get("numero_certificado") or "",
        })
    elif tipo == ACLARACION:
        base.update({"asunto": datos.get("asunto") or "", "texto": datos.get("texto") or ""})
    else:
        base.update({
            "accion": ACCIONES[tipo],
            "medio": {**_medio(datos.get("mecanismo", ""), datos.get("valor", "")),
                      "estado": ESTADOS.get(datos.get("estado"), datos.get("estado") or "")},
            "registros_patronales": [registro_patronal(rp) for rp in datos.get("registros_patronales") or []],
        })
    return base


def html(solicitud: dict, *, cadena: str, sello: str, public_url: str, codigo: str) -> str:
    return _entorno().get_template("acuse.html").render(
        **contexto(solicitud, cadena=cadena, sello=sello, public_url=public_url, codigo=codigo))
