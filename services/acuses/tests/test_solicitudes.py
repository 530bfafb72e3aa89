"""Acuse requests are kept once per folio and only shown to their RFC."""
from datetime import datetime, timezone

import pytest

from buzon_acuses import solicitudes
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import AcuseSolicitado

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
SOLICITUD = AcuseSolicitado(
    folio="REG-2026-00000001", tipo="registro_medio", rfc="MAVA800101RS5", emitido_en="2026-11-28T12:00:00-06:00",
    titular={"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
             "rfc_representante": None, "tipo_persona": "fisica"},
    datos={"medio_id": "m1", "mecanismo": "correo", "valor": "ana@example.mx", "estado": "pendiente",
           "registros_patronales": []},
)


def test_a_request_is_kept_once_whatever_the_bus_repeats(db):
    assert solicitudes.guardar(db, SOLICITUD, ahora=AHORA) is True
    assert solicitudes.guardar(db, SOLICITUD, ahora=AHORA) is False
    assert solicitudes.solicitud_de(db, SOLICITUD.folio, "MAVA800101RS5")["datos"]["valor"] == "ana@example.mx"


def test_another_rfc_never_sees_it(db):
    solicitudes.guardar(db, SOLICITUD, ahora=AHORA)
    with pytest.raises(NoEncontrado):
        solicitudes.solicitud_de(db, SOLICITUD.folio, "EDE0101013A2")
