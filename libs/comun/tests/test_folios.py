from datetime import datetime, timezone

import eventlet
import pytest
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from buzon_comun.folios import siguiente_folio, tabla_folios

metadata = MetaData()
folios = tabla_folios(metadata)
AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(esquema_temporal):
    return esquema_temporal(metadata, "pruebas_folios")


def test_folios_count_per_kind_and_year_in_mexico_city_time(engine):
    with Session(engine) as db:
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000001"
        assert siguiente_folio(db, folios, "registro_medio", ahora=AHORA) == "REG-2026-00000002"
        assert siguiente_folio(db, folios, "validacion_medio", ahora=AHORA) == "VAL-2026-00000001"
        año_nuevo_en_utc = datetime(2027, 1, 1, 3, 0, tzinfo=timezone.utc)  # still 31 Dec in Mexico City
        assert siguiente_folio(db, folios, "registro_medio", ahora=año_nuevo_en_utc) == "REG-2026-00000003"
        db.commit()


def test_concurrent_replicas_never_share_a_folio(engine):
    def tomar():
        with Session(engine) as db:
            folio = siguiente_folio(db, folios, "activacion", ahora=AHORA)
            eventlet.sleep(0)
            db.commit()
            return folio

    hilos = [eventlet.spawn(tomar) for _ in range(10)]
    obtenidos = [h.wait() for h in hilos]
    assert len(set(obtenidos)) == 10


def test_a_folio_of_a_rolled_back_act_was_never_issued_and_its_number_is_handed_back(engine):
    with Session(engine) as db:
        siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.commit()
        perdido = siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.rollback()
        nuevo = siguiente_folio(db, folios, "baja_medio", ahora=AHORA)
        db.commit()
    assert perdido == nuevo == "BAJ-2026-00000002"
