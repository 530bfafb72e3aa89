"""Small nameko stand-ins for the services a test doesn't exercise, answering only what the tested service asks.

Each is a nameko service class with the real one's `name`; a test that needs other answers subclasses it and
changes the class attributes (e.g. `MEDIOS`, `ACTIVOS`), so the stand-ins of the gateway's tests live in one place.
"""
from __future__ import annotations

import base64

from buzon_comun.servicio import rpc


class ContactosSustituto:
    """contactos for an RFC without Registros Patronales whose email and mobile are validated; `listar` gives
    `MEDIOS` (none by default: a deposit then has nobody to send an aviso to)."""
    name = "contactos"
    MEDIOS: tuple[dict, ...] = ()

    @rpc
    def padron(self, rfc):
        return {"registros_patronales": []}

    @rpc
    def requisitos(self, rfc):
        return {"correo_validado": True, "telefono_validado": True}

    @rpc
    def listar(self, titular, incluir_bajas=False):
        return {"medios": [dict(medio) for medio in self.MEDIOS]}


class ActivacionSustituta:
    """activacion's `titular`: every RFC in `ACTIVOS` (every RFC when None) has an active Buzón of a persona
    física named ANA; any other, none."""
    name = "activacion"
    ACTIVOS: frozenset[str] | None = None

    @rpc
    def titular(self, rfc):
        if self.ACTIVOS is not None and rfc not in self.ACTIVOS:
            return None
        return {"rfc": rfc, "nombre": "ANA", "curp": None, "rfc_representante": None, "tipo_persona": "fisica"}


class AcusesSustituto:
    """acuses as the Buzón's pages and routes read it: the código `CODIGO` of every notification's acuse (folio
    NOT-…) and `PDF` as every acuse's document."""
    name = "acuses"
    CODIGO = "ABCD2345EFGH6789"
    PDF = b"%PDF-1.7 acuse de notificacion"

    @rpc
    def codigos(self, rfc, folios):
        return {"codigos": {folio: self.CODIGO for folio in folios if folio.startswith("NOT-")}}

    @rpc
    def pdf(self, folio, rfc):
        return base64.b64encode(self.PDF).decode("ascii")
