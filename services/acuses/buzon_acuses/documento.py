"""The acuse as a document: what each kind prints, from its request, its cadena and its seal, and its HTML.

Two steps, so that an acuse is fixed when it is issued and rendered only when someone first downloads it:
- `contexto(...)`, when the acuse is issued (cheap, in the service): every value printed on it, as plain JSON
  data, stored with the acuse together with the version of the template (`PLANTILLA_VIGENTE`);
- `html_de(plantilla, contexto)`, when it is rendered (in a render process, with its QR code and WeasyPrint: all
  the CPU-bound work): the stored values in the stored template version.
So a later change of the texts here, or of the template, never changes an acuse already issued: a template is
never edited in place; a change is a new file and a new version in `PLANTILLAS` (a test holds each version to its
digest).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from buzon_acuses.cadena import ACLARACION, ACTIVACION, NOTIFICACION, registro_patronal
from buzon_acuses.fechas import fecha_acuse

TITULOS = {
    "registro_medio": "Acuse de registro o actualización de mecanismo de comunicación",
    "validacion_medio": "Acuse de validación de mecanismos de comunicación",
    "baja_medio": "Acuse de baja de mecanismo de comunicación",
    ACTIVACION: "Acuse de la solicitud y manifestación de conformidad para el uso del Buzón IMSS",
    ACLARACION: "Acuse de recibo de Aclaraciones u Orientaciones",
    NOTIFICACION: "Acuse de notificación",
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
    # No number of hours: the window is a setting (BUZON_VENTANA_VALIDACION_S). The deadline itself is printed
    # when the request carries it (`datos.vence_en`, ACCION_REGISTRO_CON_FECHA).
    "registro_medio": "Se registró el siguiente mecanismo de comunicación para recibir los avisos de que tiene "
                      "un mensaje en su Buzón IMSS. Deberá validarlo dentro del plazo establecido; de lo contrario, "
                      "se cancelará y tendrá que registrarlo de nuevo.",
    "validacion_medio": "Se validó el siguiente mecanismo de comunicación, en el que recibirá los avisos de que "
                        "tiene un mensaje en su Buzón IMSS.",
    "baja_medio": "Se dio de baja el siguiente mecanismo de comunicación; ya no recibirá en él los avisos de su "
                  "Buzón IMSS.",
}


# A phone's window runs from the sending of its code, and a new code starts it again (contactos): the date printed
# is the one at registration, which the person can always rely on.
NOTA_VENCE_TELEFONO = "el plazo corre desde el envío del código por SMS y se renueva con cada código nuevo"
ACCION_REGISTRO_CON_FECHA = (
    "Se registró el siguiente mecanismo de comunicación para recibir los avisos de que tiene un mensaje en su Buzón "
    "IMSS. Deberá validarlo a más tardar en la fecha límite indicada; de lo contrario, se cancelará y tendrá que "
    "registrarlo de nuevo.")


# The acuse de notificación: how it was notified, and what that means. No figure of días hábiles: the plazo is a
# setting of buzon (BUZON_DIAS_HABILES_PARA_ABRIR), and the rule is the Lineamientos'.
FORMAS_NOTIFICACION = {
    "apertura": ("Notificación por apertura del destinatario", "Apertura por el destinatario"),
    "tacita": ("Notificación tácita", "Tácita: se tiene por notificada"),
}
ACCIONES_NOTIFICACION = {
    "apertura": "El destinatario abrió en el Buzón IMSS la notificación electrónica que se describe, después de "
                "firmar con su e.firma el acuse de recibo. La notificación surtió sus efectos en la fecha y hora de "
                "su apertura.",
    "tacita": "La notificación electrónica que se describe no se abrió dentro del plazo de días hábiles "
              "establecido, contado a partir del día hábil siguiente al envío del aviso, por lo que se tiene por "
              "notificada en la fecha y hora indicadas, conforme a los Lineamientos generales para el uso del "
              "Buzón IMSS y, de manera supletoria, al Código Fiscal de la Federación. La notificación sigue "
              "disponible para su consulta en el Buzón IMSS.",
}


@dataclass(frozen=True)
class Plantilla:
    archivo: str
    sha256: str         # of the file: a template is never edited once acuses were issued with it
    qr: str = "svg"     # what its `qr` is: "svg" (inline markup) or "png" (a data: URI for an <img>)
    # WeasyPrint's PDF variant: "pdf/ua-1" tags the document for screen readers (structure, title, language).
    # Part of the version: an issued acuse renders with the options of its own version.
    variante_pdf: str | None = None
    # Kinds added to a released version with a file of their own: (tipo, archivo, sha256). The version's main file
    # never changes, so the kinds it rendered render byte for byte as before; the new kind shares its page,
    # options and look.
    por_tipo: tuple = ()

    @property
    def opciones_pdf(self) -> dict:
        return {"pdf_variant": self.variante_pdf} if self.variante_pdf else {}

    def archivo_de(self, tipo: str | None) -> str:
        return next((archivo for propio, archivo, _ in self.por_tipo if propio == tipo), self.archivo)

    def archivos(self) -> list[tuple[str, str]]:
        """Every file of the version with the digest it was released with."""
        return [(self.archivo, self.sha256)] + [(archivo, sha256) for _, archivo, sha256 in self.por_tipo]


PLANTILLAS = {
    "1": Plantilla("acuse.html", "fd808f1441050639a50a12d1fdd9d794ba9e0fb05587ec8aa17cd071e6d64677"),
    # The same texts on one page, lighter to render: no tables, the QR as a PNG (an SVG path of ~900 segments is
    # parsed and drawn by WeasyPrint in Python). See the README's "The versions".
    "2": Plantilla("acuse-2.html", "7e88fbaa05616ecabc2ca4d374e521ec6e43969da34ac689f5a992fe296a085d", qr="png"),
    # One page for the longest realistic acuse, tagged PDF/UA-1; the representative's CURP labelled as such, the
    # Registros Patronales under their razón social, the seal's certificate number, the deadline to validate.
    # Issue 13 added the acuse de notificación in a file of its own.
    "3": Plantilla("acuse-3.html", "a14e696e6e98a4eb56988536af488c6e3a697f5561156948858fc084376db21e", qr="png",
                   variante_pdf="pdf/ua-1",
                   por_tipo=((NOTIFICACION, "acuse-3-notificacion.html",
                              "88b5dd4af99952e79ff52466a3e1f8adccaa876b1d4b41455e73cb19dae5d878"),)),
}
# The version new acuses are issued with.
PLANTILLA_VIGENTE = "3"


def url_verificacion(public_url: str, folio: str, codigo: str) -> str:
    """The public verification of one acuse: its folio and its código de verificación, as the QR and the text
    printed on the acuse carry them."""
    # Folios and codes need no escaping (letters, digits, "-"); quoting only keeps a surprise from breaking the URL.
    return (f"{public_url.rstrip('/')}/api/v1/acuses/{quote(folio, safe='')}/verificacion"
            f"?codigo={quote(codigo, safe='')}")


def qr_svg(contenido: str) -> str:
    """The QR as inline SVG (no XML declaration: it sits inside the HTML)."""
    return segno.make(contenido, error="m").svg_inline(scale=3, border=2, dark="#000000", omitsize=False)


def qr_png(contenido: str) -> str:
    """The same QR as a PNG data: URI, one pixel per module: the template sizes it and draws it unsmoothed."""
    return segno.make(contenido, error="m").png_data_uri(scale=1, border=2)


_QR = {"svg": lambda contenido: Markup(qr_svg(contenido)), "png": qr_png}


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


def grupos_por_razon_social(registros_patronales: list) -> list[dict]:
    """The RPs under their razón social, in the request's order. contactos sent bare RPs before it sent each with
    its razón social: those read as one group without one."""
    grupos: dict[str, list[str]] = {}
    for rp in registros_patronales:
        razon = (rp.get("razon_social") or "") if isinstance(rp, dict) else ""
        grupos.setdefault(razon, []).append(registro_patronal(rp))
    return [{"razon_social": razon, "registros_patronales": rps} for razon, rps in grupos.items()]


def contexto(solicitud: dict, *, cadena: str, sello: str, public_url: str, codigo: str,
             certificado_sello: str) -> dict:
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
        "certificado_sello": certificado_sello,
        "codigo_verificacion": codigo,
        "url_verificacion": url,
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
    elif tipo == NOTIFICACION:
        base.update(_notificacion(solicitud, datos))
    else:
        vence = fecha_acuse(datos["vence_en"]) if tipo == "registro_medio" and datos.get("vence_en") else None
        base.update({
            "accion": ACCION_REGISTRO_CON_FECHA if vence else ACCIONES[tipo],
            "medio": {**_medio(datos.get("mecanismo", ""), datos.get("valor", "")),
                      "estado": ESTADOS.get(datos.get("estado"), datos.get("estado") or "")},
            "registros_patronales": [registro_patronal(rp) for rp in datos.get("registros_patronales") or []],
            "grupos_rp": grupos_por_razon_social(datos.get("registros_patronales") or []),
            "vence": vence,
            "nota_vence": NOTA_VENCE_TELEFONO if vence and datos.get("mecanismo") == "telefono" else None,
        })
    return base


def _notificacion(solicitud: dict, datos: dict) -> dict:
    """The acuse de notificación's values: how and when it was notified (the opening, or the deemed date for a
    tácita, which is the request's `emitido_en`), and the notification's data as buzon recorded it."""
    forma = datos.get("forma")
    if forma not in FORMAS_NOTIFICACION:
        raise ValueError(f"forma de notificación desconocida: {forma!r}")
    subtitulo, forma_texto = FORMAS_NOTIFICACION[forma]
    return {
        "subtitulo": subtitulo,
        "forma": forma,
        "forma_texto": forma_texto,
        "accion": ACCIONES_NOTIFICACION[forma],
        "notificada": fecha_acuse(datos.get("notificada_en") or solicitud["emitido_en"]),
        "asunto": datos.get("asunto") or "",
        "area": datos.get("area") or "",
        "tipo_acto": datos.get("tipo_acto") or "",
        "depositada": fecha_acuse(datos["depositada_en"]),
        "aviso_enviado": fecha_acuse(datos["aviso_enviado_en"]) if datos.get("aviso_enviado_en") else None,
        "notificacion_id": datos.get("notificacion_id") or "",
        "documento_sha256": datos.get("documento_sha256") or "",
        "numero_certificado": (datos.get("numero_certificado") or "") if forma == "apertura" else "",
        "grupos_rp": grupos_por_razon_social(datos.get("registros_patronales") or []),
    }


def html_de(plantilla: str, valores: dict) -> str:
    """The HTML of an issued acuse: its stored values in its stored template version (the file the version has for
    its kind), with the QR code of its verification address in the form that version takes (made here, in the
    render process: about 6 ms of CPU)."""
    version = PLANTILLAS[plantilla]
    return _entorno().get_template(version.archivo_de(valores.get("tipo"))).render(**valores, qr=_QR[version.qr](valores["url_verificacion"]))


def html(solicitud: dict, *, cadena: str, sello: str, public_url: str, codigo: str,
         certificado_sello: str = "") -> str:
    """Both steps at once, with the current template (tests, and the benchmark's baseline)."""
    return html_de(PLANTILLA_VIGENTE, contexto(solicitud, cadena=cadena, sello=sello, public_url=public_url,
                                               codigo=codigo, certificado_sello=certificado_sello))
