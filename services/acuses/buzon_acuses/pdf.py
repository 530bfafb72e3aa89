"""What runs in the rendering processes: plain values in, plain values out, importable at top level.

WeasyPrint (and the template, the QR code) are imported here, not at the top, so the service process itself never
loads WeasyPrint (0.6 s and memory per replica) and a rendering process loads it once, at warm-up.
"""
from __future__ import annotations


def calentar() -> bool:
    import weasyprint  # noqa: F401

    from buzon_acuses import documento

    documento._entorno()
    return True


def pdf_de_html(html: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def pdf_de_documento(plantilla: str, valores: dict) -> bytes:
    """An issued acuse's PDF: its stored values in its template version, QR code included (documento.html_de)."""
    from buzon_acuses import documento

    return pdf_de_html(documento.html_de(plantilla, valores))
