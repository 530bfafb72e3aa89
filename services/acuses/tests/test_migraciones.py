"""Migration 0003 gives every stored request and issued acuse a código de verificación without touching the
PDFs already issued; 0004 adds the limit of failed verifications; 0005 the schedule of retries; 0006 lets an acuse
wait for its first download to be rendered. On PostgreSQL (in a schema of its own, apart from the one the other
tests use) and on SQLite."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buzon_acuses import acuses as modulo_acuses, reintentos, solicitudes as modulo_solicitudes
from buzon_acuses.models import solicitudes as tabla_solicitudes
from buzon_comun.config import Config
from buzon_comun.db import FechaUtc, crear_engine, normalizar_url
from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import AcuseSolicitado
from buzon_comun.migraciones import configuracion_alembic, migrar_servicio, servicios_con_migraciones

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
EMITIDO = "2026-11-28T12:00:00-06:00"
# Every byte value, NUL and high bytes included: the column must come back exactly as written.
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF"
PENDIENTES = 1500  # more than one page of the migration's backfill

# The tables as 0002 left them (not the models, which have moved on).
SOLICITUDES_0002 = sa.table("solicitudes", sa.column("folio"), sa.column("tipo"), sa.column("rfc"),
                            sa.column("emitido_en"), sa.column("solicitud"), sa.column("recibida_en", FechaUtc))
ACUSES_0002 = sa.table("acuses", sa.column("folio"), sa.column("tipo"), sa.column("rfc"), sa.column("emitido_en"),
                       sa.column("cadena_original"), sa.column("sello"), sa.column("pdf", sa.LargeBinary),
                       sa.column("renderizado_en", FechaUtc))


@pytest.fixture(params=["postgresql", "sqlite"])
def destino(request, tmp_path):
    """(config, the name migrations and engines are opened with) of an empty database."""
    if request.param == "sqlite":
        yield Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)}), "acuses"
        return
    url = request.getfixturevalue("url_bd")
    esquema = f"acuses_migracion_{uuid.uuid4().hex[:12]}"
    yield Config.desde_entorno({"BUZON_DATABASE_URL": url}), esquema
    engine = create_engine(normalizar_url(url))
    with engine.begin() as conexion:
        conexion.execute(text(f'DROP SCHEMA IF EXISTS "{esquema}" CASCADE'))
    engine.dispose()


def migrar(config, esquema, revision):
    migrar_servicio(config, esquema, servicios_con_migraciones()["acuses"], revision)


def bajar(config, esquema, revision):
    engine = crear_engine(config, esquema, conexiones=1)
    try:
        with engine.connect() as conexion:
            cfg = configuracion_alembic(servicios_con_migraciones()["acuses"])
            cfg.attributes["connection"] = conexion
            command.downgrade(cfg, revision)
            conexion.commit()
    finally:
        engine.dispose()


def solicitud(folio, rfc="MAVA800101RS5"):
    return {"folio": folio, "tipo": "registro_medio", "rfc": rfc, "emitido_en": EMITIDO,
            "solicitud": '{"folio": "%s"}' % folio, "recibida_en": AHORA}


def test_acuses_issued_before_get_a_code_and_keep_their_pdf(destino, sello_dev):
    config, esquema = destino
    migrar(config, esquema, "0002")
    emitido, orfano = "REG-2026-00000001", "BAJ-2026-00000001"
    cadena = f"||1.0|registro_medio|{emitido}|MAVA800101RS5||{EMITIDO}|correo|ana@example.mx|pendiente|||"
    acuse = {"folio": emitido, "tipo": "registro_medio", "rfc": "MAVA800101RS5", "emitido_en": EMITIDO,
             "cadena_original": cadena, "sello": sello_dev.sellar(cadena), "pdf": PDF, "renderizado_en": AHORA}
    pendientes = [f"VAL-2026-{n:08d}" for n in range(PENDIENTES)]
    engine = crear_engine(config, esquema)
    try:
        with engine.begin() as conexion:
            conexion.execute(SOLICITUDES_0002.insert(), [solicitud(emitido)] + [solicitud(f) for f in pendientes])
            conexion.execute(ACUSES_0002.insert(), [acuse, {**acuse, "folio": orfano, "tipo": "baja_medio"}])
        engine.dispose()

        migrar(config, esquema, "head")

        with engine.connect() as conexion:
            assert conexion.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"
            assert "limites" in inspect(conexion).get_table_names()
            de_solicitudes = dict(conexion.execute(text("SELECT folio, codigo_verificacion FROM solicitudes")).all())
            filas = {f.folio: f for f in conexion.execute(text("SELECT * FROM acuses")).all()}
        # The issued acuse is as it was, byte for byte, plus the code it shares with its request.
        fila = filas[emitido]
        assert bytes(fila.pdf) == PDF
        assert {k: fila._mapping[k] for k in ("tipo", "rfc", "emitido_en", "cadena_original", "sello")} == {
            k: acuse[k] for k in ("tipo", "rfc", "emitido_en", "cadena_original", "sello")}
        assert fila.codigo_verificacion == de_solicitudes[emitido]
        assert bytes(filas[orfano].pdf) == PDF and filas[orfano].codigo_verificacion
        todos = list(de_solicitudes.values()) + [filas[orfano].codigo_verificacion]
        assert len(de_solicitudes) == PENDIENTES + 1
        assert all(len(c) == 16 and set(c) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for c in todos)
        assert len(set(todos)) == len(todos)

        # The owner reads the code, the public verifies with it, and from now on no row goes without one.
        with Session(engine) as db:
            codigo = modulo_solicitudes.codigos(db, "MAVA800101RS5", [emitido])["codigos"][emitido]
            assert codigo == de_solicitudes[emitido]
            respuesta = modulo_acuses.verificacion(db, emitido, codigo.lower(), "ip:198.51.100.1", sello=sello_dev,
                                                   ahora=AHORA, limite=30)
            assert respuesta["sello_valido"] is True and respuesta["cadena_original"] == cadena
            with pytest.raises(NoEncontrado):
                modulo_acuses.verificacion(db, emitido, "A" * 16, "ip:198.51.100.1", sello=sello_dev, ahora=AHORA,
                                           limite=30)
        with pytest.raises(IntegrityError), engine.begin() as conexion:
            conexion.execute(SOLICITUDES_0002.insert(), [solicitud("REG-2026-00000099")])
        engine.dispose()

        # Down and up again: the PDF still untouched, and fresh codes for everyone.
        bajar(config, esquema, "0002")
        with engine.connect() as conexion:
            assert "codigo_verificacion" not in {c["name"] for c in inspect(conexion).get_columns("acuses")}
            assert "limites" not in inspect(conexion).get_table_names()
        engine.dispose()
        migrar(config, esquema, "head")
        with engine.connect() as conexion:
            pdf, codigo_acuse, codigo_solicitud = conexion.execute(text(
                "SELECT a.pdf, a.codigo_verificacion, s.codigo_verificacion FROM acuses a "
                "JOIN solicitudes s ON s.folio = a.folio")).one()
        assert bytes(pdf) == PDF and codigo_acuse == codigo_solicitud
    finally:
        engine.dispose()


# The tables as 0004 left them.
SOLICITUDES_0004 = sa.table("solicitudes", sa.column("folio"), sa.column("tipo"), sa.column("rfc"),
                            sa.column("emitido_en"), sa.column("solicitud"), sa.column("recibida_en", FechaUtc),
                            sa.column("codigo_verificacion"))
ACUSES_0004 = sa.table("acuses", sa.column("folio"), sa.column("tipo"), sa.column("rfc"), sa.column("emitido_en"),
                       sa.column("cadena_original"), sa.column("sello"), sa.column("pdf", sa.LargeBinary),
                       sa.column("renderizado_en", FechaUtc), sa.column("codigo_verificacion"))


def test_requests_stored_before_0005_start_with_no_failed_try_and_the_pending_ones_are_due(destino):
    config, esquema = destino
    migrar(config, esquema, "0004")
    emitido, pendiente = "REG-2026-00000001", "VAL-2026-00000002"
    recibida = AHORA - timedelta(hours=3)
    engine = crear_engine(config, esquema)
    try:
        with engine.begin() as conexion:
            conexion.execute(SOLICITUDES_0004.insert(), [
                {**solicitud(folio), "recibida_en": recibida, "codigo_verificacion": "A" * 16}
                for folio in (emitido, pendiente)])
            conexion.execute(ACUSES_0004.insert(), [{
                "folio": emitido, "tipo": "registro_medio", "rfc": "MAVA800101RS5", "emitido_en": EMITIDO,
                "cadena_original": "||1.0|registro_medio||", "sello": "c2VsbG8=", "pdf": PDF,
                "renderizado_en": recibida, "codigo_verificacion": "A" * 16}])
        engine.dispose()

        migrar(config, esquema, "head")

        with Session(engine) as db:
            filas = {f.folio: f for f in db.execute(sa.select(tabla_solicitudes)).all()}
            assert {f: (fila.intentos, fila.ultimo_error, fila.estancada_en) for f, fila in filas.items()} == {
                emitido: (0, None, None), pendiente: (0, None, None)}
            # Issued: nothing left to do. Pending: due from when it was received, as the sweep took it before.
            assert filas[emitido].proximo_intento is None
            assert filas[pendiente].proximo_intento == recibida
            assert modulo_acuses.pendientes(db, ahora=AHORA) == [pendiente]
            assert reintentos.reclamar(db, ahora=AHORA, reserva=timedelta(minutes=2)) == pendiente
            assert reintentos.reclamar(db, ahora=AHORA, reserva=timedelta(minutes=2)) is None
            # New requests get the defaults from the database too, whoever writes them.
            db.execute(tabla_solicitudes.insert().values(
                folio="REG-2026-00000003", tipo="registro_medio", rfc="MAVA800101RS5", emitido_en=EMITIDO,
                solicitud="{}", recibida_en=AHORA, codigo_verificacion="B" * 16))
            db.commit()
            assert db.execute(sa.select(tabla_solicitudes.c.intentos)
                              .where(tabla_solicitudes.c.folio == "REG-2026-00000003")).scalar_one() == 0
        engine.dispose()

        bajar(config, esquema, "0004")
        with engine.connect() as conexion:
            columnas = {c["name"] for c in inspect(conexion).get_columns("solicitudes")}
            assert not columnas & {"intentos", "proximo_intento", "ultimo_error", "estancada_en"}
            assert conexion.execute(text("SELECT count(*) FROM solicitudes")).scalar_one() == 3
        engine.dispose()
        migrar(config, esquema, "head")
    finally:
        engine.dispose()


PUBLIC_URL = "https://buzon.imss.example"


def no_renderizar(folio, plantilla, valores):
    raise AssertionError(f"el acuse {folio} ya tenía su PDF y se volvió a generar")


def test_0006_keeps_rendered_acuses_as_they_were_and_goes_back_only_once_every_acuse_has_its_pdf(destino, sello_dev,
                                                                                                  registro):
    config, esquema = destino
    migrar(config, esquema, "0005")
    antiguo = "REG-2026-00000001"
    renderizado = AHORA - timedelta(days=30)
    previo = {"folio": antiguo, "tipo": "registro_medio", "rfc": "MAVA800101RS5", "emitido_en": EMITIDO,
              "cadena_original": "||1.0|registro_medio||", "sello": "c2VsbG8=", "pdf": PDF,
              "renderizado_en": renderizado, "codigo_verificacion": "A" * 16}
    engine = crear_engine(config, esquema)
    try:
        with engine.begin() as conexion:
            conexion.execute(SOLICITUDES_0004.insert(), [{**solicitud(antiguo), "codigo_verificacion": "A" * 16}])
            conexion.execute(ACUSES_0004.insert(), [previo])
        engine.dispose()

        migrar(config, esquema, "0006")

        with engine.connect() as conexion:
            columnas = {c["name"]: c for c in inspect(conexion).get_columns("acuses")}
            fila = conexion.execute(sa.select(ACUSES_0004, sa.column("plantilla"), sa.column("contexto"))).one()
        assert columnas["pdf"]["nullable"] and columnas["renderizado_en"]["nullable"]
        # Rendered before: its bytes and when they were made, as they were; nothing to render it from again.
        assert bytes(fila.pdf) == PDF and fila.renderizado_en == renderizado
        assert {k: fila._mapping[k] for k in previo if k != "pdf"} == {k: v for k, v in previo.items() if k != "pdf"}
        assert fila.plantilla is None and fila.contexto is None
        pedida = AcuseSolicitado(**registro)
        with Session(engine) as db:
            # Served as stored, never rendered again.
            assert modulo_acuses.pdf_de(db, antiguo, "MAVA800101RS5", renderizar=no_renderizar, ahora=AHORA) == PDF
            # One issued after 0006 waits for its first download.
            modulo_solicitudes.guardar(db, pedida, ahora=AHORA)
            assert modulo_acuses.emitir(db, pedida.folio, sello=sello_dev, public_url=PUBLIC_URL, ahora=AHORA)
        engine.dispose()

        # Going back would have to drop an issued acuse (the old table has no room for one without its PDF).
        with pytest.raises(RuntimeError, match="^1 acuses emitidos aún no tienen su PDF: descárgalos antes de "
                                               "volver atrás$"):
            bajar(config, esquema, "0005")
        with engine.connect() as conexion:
            assert conexion.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"
            assert conexion.execute(text("SELECT count(*) FROM acuses WHERE pdf IS NULL AND contexto IS NOT NULL")
                                    ).scalar_one() == 1
        engine.dispose()

        # Once it was downloaded, every acuse has its PDF and going back keeps them all, byte for byte.
        with Session(engine) as db:
            nuevo = modulo_acuses.pdf_de(db, pedida.folio, pedida.rfc, renderizar=lambda *_: PDF[::-1], ahora=AHORA)
        assert nuevo == PDF[::-1]
        engine.dispose()
        bajar(config, esquema, "0005")
        with engine.connect() as conexion:
            columnas = {c["name"]: c for c in inspect(conexion).get_columns("acuses")}
            pdfs = {f.folio: (bytes(f.pdf), f.renderizado_en) for f in conexion.execute(sa.select(ACUSES_0004))}
        assert not {"plantilla", "contexto"} & set(columnas)
        assert not columnas["pdf"]["nullable"] and not columnas["renderizado_en"]["nullable"]
        assert pdfs == {antiguo: (PDF, renderizado), pedida.folio: (PDF[::-1], AHORA)}
        engine.dispose()
        migrar(config, esquema, "head")
    finally:
        engine.dispose()
