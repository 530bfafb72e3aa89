"""The acuses service: its entrypoints (each a few lines over the rules in the sibling modules)."""
from buzon_comun.servicio import ServicioBase


class Servicio(ServicioBase):
    name = "acuses"
