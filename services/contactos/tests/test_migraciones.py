"""contactos' migrations that change data, on a service's own SQLite file or a PostgreSQL schema of their own."""
import hashlib
import hmac

from sqlalchemy import text

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.migraciones import configuracion_alembic, migrar_servicio, servicios_con_migraciones
from buzon_contactos.medios import _codigo_coincide


def test_0003_marks_codes_hashed_without_a_key_and_they_still_match(tmp_path):
    config = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    ubicacion = servicios_con_migraciones()["contactos"]
    migrar_servicio(config, "contactos", ubicacion, destino="0002")
    sin_llave = hashlib.sha256(b"m1:12345").hexdigest()
    engine = crear_engine(config, "contactos")
    try:
        with engine.begin() as conexion:
            for medio_id, codigo_hash in (("m1", sin_llave), ("m2", None)):
                conexion.execute(text(
                    "INSERT INTO medios (id, rfc, mecanismo, valor, estado, folio, registrado_en, vence_en, "
                    "codigo_hash, intentos_fallidos, titular) VALUES (:id, 'MAVA800101RS5', 'telefono', "
                    "'5512345678', 'pendiente', :folio, '2026-11-28 18:00:00+00:00', '2026-12-01 18:00:00+00:00', "
                    ":h, 0, '{}')"), {"id": medio_id, "folio": f"REG-{medio_id}", "h": codigo_hash})
        migrar_servicio(config, "contactos", ubicacion)
        with engine.connect() as conexion:
            guardados = dict(conexion.execute(text("SELECT id, codigo_hash FROM medios")).all())
    finally:
        engine.dispose()
    assert guardados == {"m1": "sha256:" + sin_llave, "m2": None}
    assert _codigo_coincide(guardados["m1"], b"cualquier secreto", "m1", "12345")
    assert not _codigo_coincide(guardados["m1"], b"cualquier secreto", "m1", "12346")
    # A keyed hash never passes for a bare one, nor the other way round.
    con_llave = hmac.new(b"s", b"m1:12345", hashlib.sha256).hexdigest()
    assert _codigo_coincide(con_llave, b"s", "m1", "12345") and not _codigo_coincide(sin_llave, b"s", "m1", "12345")


def test_0005_carries_the_folio_counters_over_to_sequences_and_0004_takes_them_back(url_bd):
    """On PostgreSQL, in a schema of its own: the next folio after the migration follows the last one issued."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy.orm import Session

    from buzon_comun.folios import secuencias, siguiente_folio
    from buzon_contactos.models import folios

    esquema = "contactos_migracion_folios"
    config = Config.desde_entorno({"BUZON_DATABASE_URL": url_bd})
    ubicacion = servicios_con_migraciones()["contactos"]
    engine = crear_engine(config, esquema)
    try:
        with engine.begin() as conexion:
            conexion.execute(text(f"DROP SCHEMA IF EXISTS {esquema} CASCADE"))
        migrar_servicio(config, esquema, ubicacion, destino="0004")
        with engine.begin() as conexion:
            conexion.execute(folios.insert(), [{"prefijo": "REG", "anio": 2026, "ultimo": 117},
                                               {"prefijo": "VAL", "anio": 2026, "ultimo": 80}])
        migrar_servicio(config, esquema, ubicacion)
        with engine.connect() as conexion:
            assert secuencias(conexion) == ["folio_reg_2026", "folio_val_2026"]
        ahora = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
        with Session(engine) as db:
            assert siguiente_folio(db, folios, "registro_medio", ahora=ahora) == "REG-2026-00000118"
            assert siguiente_folio(db, folios, "baja_medio", ahora=ahora) == "BAJ-2026-00000001"
            db.commit()
        with engine.connect() as conexion:
            alembic = configuracion_alembic(ubicacion)
            alembic.attributes["connection"] = conexion
            command.downgrade(alembic, "0004")
            conexion.commit()
            assert secuencias(conexion) == []
            assert sorted(conexion.execute(folios.select()).all()) == [
                ("BAJ", 2026, 1), ("REG", 2026, 118), ("VAL", 2026, 80)]
    finally:
        with engine.begin() as conexion:
            conexion.execute(text(f"DROP SCHEMA IF EXISTS {esquema} CASCADE"))
        engine.dispose()
