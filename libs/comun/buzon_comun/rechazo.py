"""The one shape of every refusal: a contract code and a Spanish message for people, plus extra fields.

Plain Python (no nameko), so that the rules and parsers raise it without depending on the transport;
`buzon_comun.errores` builds the errors that cross the bus on it.
"""
from __future__ import annotations


class Rechazo(Exception):
    def __init__(self, codigo: str, mensaje: str, extra: dict | None = None):
        super().__init__(codigo, mensaje, dict(extra or {}))
        self.codigo = codigo
        self.mensaje = mensaje
        self.extra = dict(extra or {})

    def __str__(self) -> str:
        return f"{self.codigo}: {self.mensaje}"

    def como_dict(self) -> dict:
        return {"codigo": self.codigo, "mensaje": self.mensaje, **self.extra}
