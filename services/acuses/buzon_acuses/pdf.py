"""What runs in the rendering processes: plain values in, plain values out, importable at top level.

WeasyPrint (and the template, the QR code) are imported here, not at the top, so the service process itself never
loads WeasyPrint (0.6 s and memory per replica) and a rendering process loads it once, at warm-up.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _fuentes():
    """One font configuration for every render of this process. Without it WeasyPrint makes a new one per
    document, and Pango loads and measures the same DejaVu faces again each time: about 15 ms of a 100 ms render.
    Its caches hold only what the templates' few styles use, and the PDF is the same, byte for byte."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def calentar() -> bool:
    import weasyprint  # noqa: F401

    from buzon_acuses import documento

    documento._entorno()
    # A first small render loads the faces the templates use, so that the first download doesn't.
    pdf_de_html('<p style="font-family: DejaVu Sans">a <b>b</b> <span style="font-family: DejaVu Sans Mono">c</span>')
    return True


def pdf_de_html(html: str, **opciones) -> bytes:
    """`opciones`: WeasyPrint's, those of the acuse's template version (`Plantilla.opciones_pdf`)."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf(font_config=_fuentes(), **opciones)


def pdf_de_documento(plantilla: str, valores: dict) -> bytes:
    """An issued acuse's PDF: its stored values in its template version, QR code included (documento.html_de)."""
    from buzon_acuses import documento

    return pdf_de_html(documento.html_de(plantilla, valores), **documento.PLANTILLAS[plantilla].opciones_pdf)
