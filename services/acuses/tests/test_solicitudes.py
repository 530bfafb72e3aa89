"""Acuse requests are kept once per folio with their código de verificación, and only shown to their RFC."""
import base64
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from buzon_acuses import solicitudes
from buzon_acuses.models import solicitudes as tabla_solicitudes
from buzon_comun.errores import NoEncontrado, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
SOLICITUD = AcuseSolicitado(
    folio="REG-2026-00000001", tipo="registro_medio", rfc="MAVA800101RS5", emitido_en="2026-11-28T12:00:00-06:00",
    titular={"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
             "rfc_representante": None, "tipo_persona": "fisica"},
    datos={"medio_id": "m1", "mecanismo": "correo", "valor": "ana@example.mx", "estado": "pendiente",
           "registros_patronales": []},
)


def codigo_de(db, folio: str) -> str:
    codigo = db.execute(select(tabla_solicitudes.c.codigo_verificacion)
                        .where(tabla_solicitudes.c.folio == folio)).scalar_one()
    db.commit()
    return codigo


def test_a_request_is_kept_once_whatever_the_bus_repeats(db):
    assert solicitudes.guardar(db, SOLICITUD, ahora=AHORA) is True
    assert solicitudes.guardar(db, SOLICITUD, ahora=AHORA) is False
    assert solicitudes.solicitud_de(db, SOLICITUD.folio, "MAVA800101RS5")["datos"]["valor"] == "ana@example.mx"


def test_another_rfc_never_sees_it(db):
    solicitudes.guardar(db, SOLICITUD, ahora=AHORA)
    with pytest.raises(NoEncontrado):
        solicitudes.solicitud_de(db, SOLICITUD.folio, "EDE0101013A2")


def test_a_code_is_16_base32_characters_from_80_random_bits():
    codigos_hechos = {solicitudes.nuevo_codigo() for _ in range(2000)}
    assert len(codigos_hechos) == 2000
    for codigo in codigos_hechos:
        assert len(codigo) == 16 and re.fullmatch(r"[A-Z2-7]{16}", codigo)
        assert len(base64.b32decode(codigo)) == 10
    # Every symbol of the alphabet turns up: the bits are spread over all 32, not a narrower set.
    assert set("".join(codigos_hechos)) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_each_request_keeps_its_first_code_through_redeliveries(db):
    solicitudes.guardar(db, SOLICITUD, ahora=AHORA)
    otra = AcuseSolicitado(**{**SOLICITUD.carga(), "folio": "REG-2026-00000002"})
    solicitudes.guardar(db, otra, ahora=AHORA)
    primero = codigo_de(db, SOLICITUD.folio)
    assert re.fullmatch(r"[A-Z2-7]{16}", primero)
    assert codigo_de(db, otra.folio) != primero
    assert solicitudes.guardar(db, SOLICITUD, ahora=AHORA) is False
    assert codigo_de(db, SOLICITUD.folio) == primero


def test_a_requester_may_send_the_code_the_acuse_keeps(db, caplog):
    """buzon mints its acuses' codes (its answers name them at once): acuses keeps that one, never in the request's
    text; a code of another form is replaced, never kept."""
    propio = AcuseSolicitado(**{**SOLICITUD.carga(), "folio": "NOT-2027-00000001", "codigo_verificacion": "A" * 16})
    assert solicitudes.guardar(db, propio, ahora=AHORA) is True
    assert codigo_de(db, propio.folio) == "A" * 16
    assert "codigo_verificacion" not in solicitudes.solicitud_de(db, propio.folio, propio.rfc)
    debil = AcuseSolicitado(**{**SOLICITUD.carga(), "folio": "NOT-2027-00000002", "codigo_verificacion": "1234"})
    solicitudes.guardar(db, debil, ahora=AHORA)
    assert re.fullmatch(r"[A-Z2-7]{16}", codigo_de(db, debil.folio)) and "mal formado" in caplog.text


def test_the_owner_reads_the_codes_of_their_own_folios_only(db):
    propia = SOLICITUD
    ajena = AcuseSolicitado(**{**SOLICITUD.carga(), "folio": "VAL-2026-00000009", "rfc": "EDE0101013A2"})
    for solicitud in (propia, ajena):
        solicitudes.guardar(db, solicitud, ahora=AHORA)
    folios = [propia.folio, ajena.folio, "REG-2026-99999999", propia.folio, 7, None, "x\x00", "\ud800", "R" * 500]
    assert solicitudes.codigos(db, "MAVA800101RS5", folios) == {"codigos": {propia.folio: codigo_de(db, propia.folio)}}
    assert solicitudes.codigos(db, "EDE0101013A2", folios) == {"codigos": {ajena.folio: codigo_de(db, ajena.folio)}}
    assert solicitudes.codigos(db, "MAVA800101RS5", []) == {"codigos": {}}


@pytest.mark.parametrize("rfc, folios", [
    ("MAVA800101RS5", [f"REG-2026-{n:08d}" for n in range(101)]),
    ("MAVA800101RS5", "REG-2026-00000001"),
    ("MAVA800101RS5", None),
    ("MAVA800101RS5", {"folio": "REG-2026-00000001"}),
    (None, ["REG-2026-00000001"]),
    ("", ["REG-2026-00000001"]),
    ("MAVA800101RS5\x00", ["REG-2026-00000001"]),
    ("MAVA800101RS5" * 3, ["REG-2026-00000001"]),
])
def test_a_malformed_or_unbounded_question_for_codes_is_refused(db, rfc, folios):
    with pytest.raises(SolicitudInvalida) as error:
        solicitudes.codigos(db, rfc, folios)
    assert error.value.codigo == "solicitud_invalida"


def test_one_hundred_folios_are_answered(db):
    solicitudes.guardar(db, SOLICITUD, ahora=AHORA)
    folios = [SOLICITUD.folio] + [f"REG-2026-{n:08d}" for n in range(2, 101)]
    assert list(solicitudes.codigos(db, "MAVA800101RS5", folios)["codigos"]) == [SOLICITUD.folio]
