"""Folios of acuses: unique across replicas and never reused.

The prefix says the kind of acuse, so folios of different services never collide: REG (registro de medio), VAL
(validación de medio), BAJ (baja de medio), ACT (activación), ACL (aclaración u orientación presentada en
Promociones Electrónicas), NOT (acuse de notificación of a notification of the Buzón). Each kind counts from 1 every year (Mexico City's year).

On PostgreSQL each prefix and year is a sequence in the owning service's schema (`folio_reg_2026`), made the first
time it is needed. `nextval` takes no lock that lasts: the caller's transaction may take seconds more, and other
workers and replicas keep getting folios meanwhile (a counter row would make every one of them wait for its
commit). A sequence never hands a number back, so a transaction that rolls back leaves a gap in the folios: that
number was never printed on anything, and it is never given to anyone else.

On SQLite (local runs without PostgreSQL) the counters are rows of the service's `folios` table, taken with one
upsert in the caller's transaction (SQLite serialises writers anyway). On PostgreSQL that table only seeds a
sequence: the migrations that brought in the sequences carried each counter over (`secuencias_desde_tabla`), and
a sequence made later starts after the table's counter for its prefix and year, if there is one.
"""
from __future__ import annotations

import zlib
from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, create_engine, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from buzon_comun.db import en_esquema, insercion
from buzon_comun.reloj import en_mexico

PREFIJOS = {"registro_medio": "REG", "validacion_medio": "VAL", "baja_medio": "BAJ", "activacion": "ACT",
            "aclaracion": "ACL", "notificacion": "NOT"}


def tabla_folios(metadata) -> Table:
    return Table(
        "folios",
        metadata,
        Column("prefijo", String(8), primary_key=True),
        Column("anio", Integer, primary_key=True),
        Column("ultimo", Integer, nullable=False),
    )


def nombre_secuencia(prefijo: str, anio: int) -> str:
    """`folio_reg_2026`: the PostgreSQL sequence of one prefix and year (unqualified: the service's schema)."""
    if not prefijo.isalpha() or not prefijo.isascii():
        raise ValueError(f"prefijo de folio inválido: {prefijo!r}")
    return f"folio_{prefijo.lower()}_{int(anio)}"


def siguiente_folio(db: Session, tabla: Table, tipo_acuse: str, *, ahora: datetime) -> str:
    """The next folio, e.g. REG-2026-00000042, for the caller's transaction (which it never commits)."""
    prefijo = PREFIJOS[tipo_acuse]
    anio = en_mexico(ahora).year
    if db.bind.dialect.name == "postgresql":
        numero = _de_secuencia(db, tabla, prefijo, anio)
    else:
        sentencia = insercion(db, tabla).values(prefijo=prefijo, anio=anio, ultimo=1)
        sentencia = sentencia.on_conflict_do_update(
            index_elements=[tabla.c.prefijo, tabla.c.anio], set_={"ultimo": tabla.c.ultimo + 1}
        ).returning(tabla.c.ultimo)
        numero = db.execute(sentencia).scalar_one()
    return f"{prefijo}-{anio}-{numero:08d}"


# nextval is strict: on a sequence that does not exist yet (to_regclass gives NULL) it answers NULL instead of
# failing, so a missing sequence never aborts the caller's transaction and costs no extra round trip when present.
_SIGUIENTE = text("SELECT nextval(to_regclass(:secuencia))")
# A transaction that already missed a name may keep missing it (the backend's catalog cache is refreshed when the
# transaction starts or takes a lock, not for each lookup by name): once made, the sequence is found through
# pg_class, which every statement reads afresh.
_SIGUIENTE_RECIEN_CREADA = text(
    "SELECT nextval(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND c.relname = :secuencia AND n.nspname = current_schema()")


def _de_secuencia(db: Session, tabla: Table, prefijo: str, anio: int) -> int:
    secuencia = nombre_secuencia(prefijo, anio)
    numero = db.execute(_SIGUIENTE, {"secuencia": secuencia}).scalar_one()
    if numero is None:
        # Made on a connection of its own and committed at once: the caller's transaction holds no catalog lock,
        # and a rollback of the caller leaves the sequence in place for everyone. That connection is not taken from
        # the process's pool: on a new database (or a new year) every worker asks at once, each holding a pooled
        # connection already, and with the pool used up none of them would get a second one. Through PgBouncer the
        # same holds for its server pool, which must be larger than the client connections that may get here at once.
        esquema = db.execute(text("SELECT current_schema()")).scalar_one()
        with _motor_aparte(db.get_bind().engine, esquema).connect() as conexion:
            crear_secuencia(conexion, tabla, prefijo, anio)
            conexion.commit()
        numero = db.execute(_SIGUIENTE_RECIEN_CREADA, {"secuencia": secuencia}).scalar_one()
    return numero


_MOTORES_APARTE: dict[tuple[str, str], Engine] = {}


def _motor_aparte(engine: Engine, esquema: str) -> Engine:
    """An engine without a pool (each connect opens and closes one connection) for the same database and schema
    (its transactions in it as the services' own: `en_esquema`)."""
    clave = (engine.url.render_as_string(hide_password=False), esquema)
    motor = _MOTORES_APARTE.get(clave)
    if motor is None:
        motor = create_engine(engine.url, poolclass=NullPool)
        en_esquema(motor, esquema)
        _MOTORES_APARTE[clave] = motor
    return motor


def crear_secuencia(conexion: Connection, tabla: Table, prefijo: str, anio: int) -> None:
    """Make the sequence of a prefix and year if it is missing, starting after the counter the `folios` table
    holds for them (if any), in the connection's transaction (the caller commits).

    `CREATE SEQUENCE IF NOT EXISTS` alone is not safe when two sessions make the same sequence at once (the second
    fails on the catalog's unique index once the first commits): a transaction-scoped advisory lock per sequence
    makes them take turns, so the second finds it made."""
    secuencia = nombre_secuencia(prefijo, anio)
    conexion.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"folios:{secuencia}".encode())})
    ultimo = conexion.execute(
        select(tabla.c.ultimo).where(tabla.c.prefijo == prefijo, tabla.c.anio == anio)).scalar_one_or_none()
    conexion.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {secuencia} AS bigint MINVALUE 1 NO CYCLE"))
    if ultimo:
        _continuar_despues_de(conexion, secuencia, ultimo)


def _continuar_despues_de(conexion: Connection, secuencia: str, ultimo: int) -> None:
    """The sequence's next value will be past `ultimo` (never moved back: a number it gave stays given)."""
    conexion.execute(
        text(f"SELECT setval(:s, :ultimo) FROM {secuencia} WHERE NOT is_called OR last_value < :ultimo"),
        {"s": secuencia, "ultimo": ultimo},
    )


def secuencias_desde_tabla(conexion: Connection, tabla: Table) -> None:
    """Migration step (PostgreSQL): each counter of the `folios` table becomes its sequence, which goes on after
    the last folio issued. Run again, it changes nothing."""
    if conexion.dialect.name != "postgresql":
        return
    for prefijo, anio, ultimo in conexion.execute(tabla.select()).all():
        crear_secuencia(conexion, tabla, prefijo, anio)
        _continuar_despues_de(conexion, nombre_secuencia(prefijo, anio), ultimo)


def secuencias(conexion: Connection) -> list[str]:
    """The folio sequences of the connection's schema."""
    return conexion.execute(text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "AND sequencename LIKE 'folio\\_%' ORDER BY sequencename")).scalars().all()


def tabla_desde_secuencias(conexion: Connection, tabla: Table) -> None:
    """Downgrade step (PostgreSQL): the last number of every folio sequence goes back into the `folios` table,
    and the sequences are dropped."""
    if conexion.dialect.name != "postgresql":
        return
    for secuencia in secuencias(conexion):
        _, prefijo, anio = secuencia.split("_")
        ultimo, usada = conexion.execute(text(f"SELECT last_value, is_called FROM {secuencia}")).one()
        if usada:
            sentencia = postgresql.insert(tabla).values(prefijo=prefijo.upper(), anio=int(anio), ultimo=ultimo)
            conexion.execute(sentencia.on_conflict_do_update(
                index_elements=[tabla.c.prefijo, tabla.c.anio], set_={"ultimo": sentencia.excluded.ultimo}))
    borrar_secuencias(conexion)


def borrar_secuencias(conexion: Connection) -> None:
    """Drop every folio sequence of the schema: each kind counts from 1 again, or from the `folios` table (a
    downgrade; the tests, which empty the tables between them)."""
    for secuencia in secuencias(conexion):
        conexion.execute(text(f"DROP SEQUENCE {secuencia}"))
