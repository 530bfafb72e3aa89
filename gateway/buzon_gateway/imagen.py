"""What the operator gives the portal's look: the Institute's logo and the text of the privacy notice.

Neither ships with the repository as the Institute's own: the logo is shown only when `BUZON_LOGO` names an image
file, and the "Aviso de privacidad" is the default text of `plantillas/textos/aviso_privacidad.html` unless
`BUZON_AVISO_PRIVACIDAD_PLANTILLA` names a Jinja2 file with the Institute's (HTML, rendered once with the variables
of `variables_aviso`). Both are read when the gateway starts; a configured file that is missing, unreadable, not an
image or not valid Jinja2 stops it there, like the Solicitud's text stops activacion: better no portal than one
that shows people a notice or a mark the Institute did not give.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup
from nameko.extensions import DependencyProvider

from buzon_comun.config import Config
from buzon_gateway import paginas

log = logging.getLogger(__name__)

AVISO_POR_DEFECTO = Path(__file__).parent / "plantillas" / "textos" / "aviso_privacidad.html"
# A logo is a small image; a file past this is a mistake (a photo, the wrong path), not a mark for a header.
MAXIMO_LOGO = 1024 * 1024
# By extension; the content must agree (its first bytes), so a misnamed file is refused at start.
TIPOS_LOGO = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}

# HTML text, so values are escaped; an unknown variable is an error at start, not a blank in the notice.
_entorno_aviso = Environment(autoescape=True, undefined=StrictUndefined)


@dataclass(frozen=True)
class Logo:
    contenido: bytes
    tipo: str


@dataclass(frozen=True)
class Imagen:
    aviso_privacidad: Markup
    logo: Logo | None


def variables_aviso(config: Config) -> dict:
    """What a notice's template may use."""
    return {"url_portal": config.public_url}


def _parece(contenido: bytes, tipo: str) -> bool:
    if tipo == "image/png":
        return contenido.startswith(b"\x89PNG\r\n\x1a\n")
    if tipo == "image/jpeg":
        return contenido.startswith(b"\xff\xd8\xff")
    if tipo == "image/webp":
        return contenido[:4] == b"RIFF" and contenido[8:12] == b"WEBP"
    return b"<svg" in contenido[:4096]


def cargar_logo(ruta: str | None) -> Logo | None:
    """The configured logo, or None when there is none: the header then names the Institute in words only."""
    if not ruta:
        return None
    tipo = TIPOS_LOGO.get(Path(ruta).suffix.lower())
    if tipo is None:
        raise ValueError(f"BUZON_LOGO debe ser una imagen {', '.join(sorted(TIPOS_LOGO))}, no {ruta!r}")
    contenido = Path(ruta).read_bytes()
    if not contenido or len(contenido) > MAXIMO_LOGO:
        raise ValueError(f"BUZON_LOGO: {ruta!r} está vacío o pasa de {MAXIMO_LOGO} bytes")
    if not _parece(contenido, tipo):
        raise ValueError(f"BUZON_LOGO: el contenido de {ruta!r} no es una imagen {tipo}")
    return Logo(contenido, tipo)


def cargar_aviso(ruta: str | None, variables: dict) -> Markup:
    """The notice's HTML, rendered once (it depends on no request)."""
    texto = Path(ruta or AVISO_POR_DEFECTO).read_text(encoding="utf-8")
    return Markup(_entorno_aviso.from_string(texto).render(variables).strip())


def cargar(config: Config) -> Imagen:
    return Imagen(aviso_privacidad=cargar_aviso(config.aviso_privacidad_plantilla, variables_aviso(config)),
                  logo=cargar_logo(config.logo))


class ProveedorImagen(DependencyProvider):
    """The logo and the privacy notice, read once per process. Pages learn whether there is a logo through the
    templates' globals (`con_logo`), so every page has the same header, error pages rendered outside a route
    included."""

    def setup(self):
        config = Config.desde_entorno()
        try:
            self.imagen = cargar(config)
        except Exception:
            log.critical("no se pudo cargar el logo (BUZON_LOGO=%s) o el aviso de privacidad "
                         "(BUZON_AVISO_PRIVACIDAD_PLANTILLA=%s)", config.logo, config.aviso_privacidad_plantilla)
            raise
        paginas.definir_globales(con_logo=self.imagen.logo is not None)
        if config.aviso_privacidad_plantilla:
            log.info("aviso de privacidad tomado de %s", config.aviso_privacidad_plantilla)

    def get_dependency(self, worker_ctx) -> Imagen:
        return self.imagen
