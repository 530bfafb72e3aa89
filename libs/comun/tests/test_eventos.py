from dataclasses import dataclass
from datetime import datetime, timezone
from typing import ClassVar

import pytest

from buzon_comun.eventos import ContratoDesconocido, Evento, SesionIniciada, leer, mensaje

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)


def test_a_message_carries_id_type_version_time_and_data_and_reads_back():
    evento = SesionIniciada(rfc="EDE0101013A2", tipo_persona="moral", numero_certificado="3" * 20,
                            rfc_representante="MAVA800101RS5")
    contenido = mensaje(evento, ahora=AHORA)
    assert (contenido["tipo"], contenido["version"]) == ("sesion_iniciada", 1)
    assert contenido["ocurrido_en"] == "2026-11-28T12:00:00-06:00"
    assert len(contenido["id"]) == 36 and contenido["id"] != mensaje(evento, ahora=AHORA)["id"]
    assert leer(contenido) == (contenido["id"], evento)


@pytest.mark.parametrize("cambio", [{"tipo": "otro"}, {"version": 2}, {"datos": {"rfc": "X"}}])
def test_unknown_types_versions_or_shapes_are_refused(cambio):
    contenido = {**mensaje(SesionIniciada("A", "fisica", "1", None), ahora=AHORA), **cambio}
    with pytest.raises(ContratoDesconocido):
        leer(contenido)


def test_a_contract_is_declared_once():
    with pytest.raises(TypeError):
        @dataclass(frozen=True)
        class OtraSesionIniciada(Evento):
            ORIGEN: ClassVar[str] = "auth"
            TIPO: ClassVar[str] = "sesion_iniciada"
