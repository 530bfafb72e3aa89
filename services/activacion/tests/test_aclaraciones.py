"""Aclaraciones u Orientaciones of Promociones Electrónicas on PostgreSQL: before and after the activation, each with
its folio, its state and the request of its acuse in the same transaction."""
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from buzon_activacion import activacion
from buzon_activacion.models import aclaraciones, activaciones
from buzon_comun.errores import DemasiadasSolicitudes, ReglaIncumplida, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado, leer

FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARÍA MARTÍNEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
OTRA = {**FISICA, "rfc": "EDE0101013A2", "tipo_persona": "moral", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV"}


def activar(db, titular, folio="ACT-2026-00000001"):
    """The activation's own rules are tested elsewhere; here an active Buzón is only its row."""
    momento = datetime(2026, 11, 28, 17, 0, tzinfo=timezone.utc)
    db.execute(activaciones.insert().values(
        rfc=titular["rfc"], folio=folio, tipo="particular", registros_patronales="[]", medios="[]", texto="t",
        cadena_original="||c||", firma="f", certificado="c", ocsp="", numero_certificado="1",
        verificado_en=momento, titular=json.dumps(titular), activado_en=momento))
    db.commit()


def presentar(db, reloj, texto, titular=FISICA, limite_por_dia=10):
    return activacion.presentar_aclaracion(db, titular, texto, ahora=reloj.ahora(), limite_por_dia=limite_por_dia)


def test_a_buzon_not_yet_active_presents_one_too(db, reloj, eventos):
    """Subject "Activación Buzón IMSS": the person who can't activate is the one who needs to ask."""
    respuesta = presentar(db, reloj, "¿Cómo activo mi Buzón?")
    assert (respuesta["folio"], respuesta["estado"]) == ("ACL-2026-00000001", "recibida")
    assert db.execute(select(aclaraciones.c.rfc, aclaraciones.c.estado)).one() == ("MAVA800101RS5", "recibida")
    db.commit()
    assert [leer(m)[1].folio for m in eventos("acuse_solicitado")] == ["ACL-2026-00000001"]
    assert [a["estado"] for a in activacion.aclaraciones(db, FISICA)["aclaraciones"]] == ["recibida"]


def test_an_aclaracion_is_recorded_with_its_folio_and_asks_for_its_acuse(db, reloj, eventos):
    activar(db, FISICA)
    respuesta = presentar(db, reloj, "  No recibí el aviso de mi activación.\n")
    assert respuesta == {"folio": "ACL-2026-00000001", "presentada_en": "2026-11-28T12:00:00-06:00",
                         "asunto": "Activación Buzón IMSS", "estado": "recibida"}

    fila = db.execute(select(aclaraciones)).mappings().one()
    db.commit()
    assert (fila["folio"], fila["rfc"], fila["asunto"], fila["texto"], fila["estado"]) == (
        "ACL-2026-00000001", "MAVA800101RS5", "Activación Buzón IMSS", "No recibí el aviso de mi activación.",
        "recibida")
    assert json.loads(fila["titular"]) == FISICA

    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert acuse == AcuseSolicitado(
        folio="ACL-2026-00000001", tipo="aclaracion", rfc="MAVA800101RS5", emitido_en="2026-11-28T12:00:00-06:00",
        titular=FISICA, datos={"asunto": "Activación Buzón IMSS", "texto": "No recibí el aviso de mi activación."})


@pytest.mark.parametrize("texto", ["", "   \n\t ", "x" * 4001, None, 42])
def test_an_empty_or_too_long_text_is_refused(db, reloj, eventos, texto):
    activar(db, FISICA)
    with pytest.raises(ReglaIncumplida) as error:
        presentar(db, reloj, texto)
    assert error.value.codigo == "texto_invalido"
    assert eventos() == []


def test_the_limit_counts_the_stripped_text(db, reloj):
    activar(db, FISICA)
    assert presentar(db, reloj, " " + "x" * 4000 + " ")["folio"] == "ACL-2026-00000001"


def test_a_malformed_identity_is_refused(db, reloj):
    with pytest.raises(SolicitudInvalida):
        presentar(db, reloj, "hola", titular={"rfc": "no es un rfc"})


def test_each_rfc_lists_only_its_own_newest_first(db, reloj):
    activar(db, FISICA)
    activar(db, OTRA, folio="ACT-2026-00000002")
    presentar(db, reloj, "primera")
    reloj.avanzar(minutes=3)
    presentar(db, reloj, "de otra persona", titular=OTRA)
    reloj.avanzar(minutes=3)
    presentar(db, reloj, "segunda")
    assert activacion.aclaraciones(db, FISICA) == {"aclaraciones": [
        {"folio": "ACL-2026-00000003", "asunto": "Activación Buzón IMSS", "texto": "segunda",
         "presentada_en": "2026-11-28T12:06:00-06:00", "estado": "recibida"},
        {"folio": "ACL-2026-00000001", "asunto": "Activación Buzón IMSS", "texto": "primera",
         "presentada_en": "2026-11-28T12:00:00-06:00", "estado": "recibida"}]}
    assert [a["folio"] for a in activacion.aclaraciones(db, OTRA)["aclaraciones"]] == ["ACL-2026-00000002"]


def test_an_rfc_presents_at_most_the_days_limit_until_midnight_in_mexico_city(db, reloj, eventos):
    activar(db, FISICA)
    activar(db, OTRA, folio="ACT-2026-00000002")
    for i in range(3):
        presentar(db, reloj, f"pregunta {i}", limite_por_dia=3)
    with pytest.raises(DemasiadasSolicitudes) as error:
        presentar(db, reloj, "una más", limite_por_dia=3)
    assert error.value.codigo == "demasiadas_solicitudes" and "3" in error.value.mensaje
    assert len(eventos("acuse_solicitado")) == 3
    presentar(db, reloj, "otra persona", titular=OTRA, limite_por_dia=3)
    reloj.avanzar(hours=11, minutes=59)  # 23:59 in Mexico City: still the same day
    with pytest.raises(DemasiadasSolicitudes):
        presentar(db, reloj, "una más", limite_por_dia=3)
    reloj.avanzar(minutes=1)
    assert presentar(db, reloj, "al día siguiente", limite_por_dia=3)["presentada_en"] == "2026-11-29T00:00:00-06:00"
