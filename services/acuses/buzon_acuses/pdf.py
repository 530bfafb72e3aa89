"""What runs in the rendering processes: plain values in, plain values out, importable at top level.

WeasyPrint is imported here, not at the top, so the service process itself never loads it (0.6 s and memory
per replica) and a rendering process loads it once, on its first acuse or at warm-up.
"""
from __future__ import annotations


def calentar() -> bool:
    import weasyprint  # noqa: F401

    return True


def pdf_de_html(html: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()
