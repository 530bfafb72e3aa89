"""The acuse renderers (`buzon-servicio acuses-render`): a worker kind of its own that turns an issued acuse's
stored values into its PDF, and nothing else. It keeps no data: the acuses service sends the template version and
the values fixed at issue time, gets the bytes back and stores them. Its RPC queue (`rpc-acuses_render`) is what
operators scale it on (KEDA), apart from the interactive services, so renders never compete with their calls when
each kind has nodes of its own.
"""
from __future__ import annotations

import base64
from typing import Callable

from buzon_acuses.procesos import FallaDeRender, GrupoDetenido
from buzon_acuses.renderizador import GrupoRender
from buzon_comun.errores import ServicioNoDisponible
from buzon_comun.servicio import ServicioSinDatos, rpc

MENSAJE_SIN_PDF = "No se pudo generar el acuse en este momento. Intenta de nuevo en unos segundos."


def pdf_en_base64(ejecutar: Callable[[str, dict], bytes], plantilla: str, valores: dict) -> str:
    """The PDF of `valores` in template `plantilla`, for the bus; a render that gives no PDF is ServicioNoDisponible
    naming why (its time limit, a crashed process, the renderer stopping), so the caller counts it and retries."""
    try:
        return base64.b64encode(ejecutar(plantilla, valores)).decode("ascii")
    except FallaDeRender as exc:
        motivo = exc.motivo
    except GrupoDetenido:
        motivo = "detenido"
    raise ServicioNoDisponible("servicio_no_disponible", MENSAJE_SIN_PDF, {"motivo": motivo})


class Servicio(ServicioSinDatos):
    name = "acuses_render"
    ejecutar = GrupoRender()

    @rpc
    def pdf(self, plantilla: str, valores: dict) -> str:
        return pdf_en_base64(self.ejecutar, plantilla, valores)
