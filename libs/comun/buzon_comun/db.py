"""Database access: one engine per service process, one session per nameko worker.

With `BUZON_DATABASE_URL` set (PostgreSQL), every service lives in its own schema of that database: each
transaction's search_path is the service's schema (`en_esquema`), so models and migrations stay unqualified. Unset,
each service gets its own embedded SQLite file under the data folder, for a local run.

The services work through a pooler in transaction mode (PgBouncer): they keep no state in a database session,
only in a transaction. No `SET` or startup `options` (the search_path is `SET LOCAL` in every transaction), no
session advisory locks (`pg_advisory_xact_lock`), no server-side prepared statements (psycopg2 interpolates
parameters on the client), no LISTEN/NOTIFY, temporary tables or WITH HOLD cursors. tests/test_pgbouncer.py runs
the migrations, the whole system and a folio burst through PgBouncer with a pool of two server connections.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timezone
from typing import Iterator
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, Table, TypeDecorator, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from buzon_comun.config import Config


def es_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def normalizar_url(url: str) -> str:
    """`postgresql://` means psycopg2 here: SQLAlchemy 2.1 would pick psycopg 3, which blocks eventlet's loop."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg2")
    return u.render_as_string(hide_password=False)


@contextmanager
def transaccion(db: Session) -> Iterator[Session]:
    """One unit of work: what the block does is committed when it ends, or all rolled back (locks included) when
    it raises. The only place that commits: rules and helpers work inside the caller's transaction and never
    commit it, so a change and the events that announce it (the outbox) are one."""
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise


def insercion(db: Session, tabla: Table):
    """An INSERT with ON CONFLICT (upserts, insert-once) in the dialect of the session's database."""
    dialecto = postgresql if db.bind.dialect.name == "postgresql" else sqlite
    return dialecto.insert(tabla)


def url_de_servicio(config: Config, servicio: str) -> str:
    if config.database_url:
        return normalizar_url(config.database_url)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{config.data_dir / (servicio + '.db')}"


# How long a worker waits for a free connection of its process's pool before giving up (a 503 for its caller).
ESPERA_CONEXION_S = 10


def crear_engine(config: Config, servicio: str, conexiones: int | None = None) -> Engine:
    """The service's engine. On PostgreSQL a fixed pool of `conexiones` (BUZON_DB_CONEXIONES by default): workers
    hold a connection only inside their short transactions (never across a call to another service), so a few serve
    many workers, and PostgreSQL's connections (each one a backend process) stay bounded per process; a worker that
    finds none free waits up to ESPERA_CONEXION_S, then its caller gets ServicioNoDisponible."""
    url = url_de_servicio(config, servicio)
    if es_postgresql(url):
        engine = create_engine(
            url,
            pool_size=conexiones or config.db_conexiones,
            max_overflow=0,
            pool_timeout=ESPERA_CONEXION_S,
        )
        en_esquema(engine, servicio)
        probar_si_estuvo_quieta(engine)
        return engine
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


_ESQUEMA_PENDIENTE = "buzon_esquema_pendiente"


def en_esquema(engine: Engine, esquema: str) -> None:
    """Every transaction of `engine` (PostgreSQL) works in `esquema`: `SET LOCAL search_path` before its first
    statement.

    Not a setting of the connection (the `options` startup parameter, a `SET` when it connects): through PgBouncer
    in transaction mode a client connection gets whichever server connection is free at each transaction, one that
    another service (another schema) used a moment before, and PgBouncer refuses or drops `options`. A transaction
    is what the pooler keeps whole, and SET LOCAL lasts exactly that long.

    Sent when the transaction's first statement runs (the `begin` event only marks it): from SQLAlchemy's own
    execution, so a connection that died is reported and discarded as for any statement, and a transaction that
    runs no statement costs nothing. One round trip more per transaction. Connections in AUTOCOMMIT (none here)
    would not keep it: SET LOCAL outside a transaction does nothing."""
    if not esquema.isidentifier() or not esquema.isascii():
        raise ValueError(f"esquema inválido: {esquema!r}")
    fijar = f'SET LOCAL search_path TO "{esquema}"'

    @event.listens_for(engine, "begin")
    def _al_empezar(conexion):
        conexion.info[_ESQUEMA_PENDIENTE] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _antes_de_la_primera(conexion, _cursor, *_):
        if conexion.info.pop(_ESQUEMA_PENDIENTE, False):
            # A cursor of its own: the statement's may be one that executes only once (a named cursor).
            cursor = conexion.connection.dbapi_connection.cursor()
            try:
                cursor.execute(fijar)
            finally:
                cursor.close()


# A pooled connection unused for longer than this is tried before it is handed out.
PROBAR_TRAS_S = 2.0


def probar_si_estuvo_quieta(engine: Engine) -> None:
    """Hand out a working connection after a database restart without a round trip on every checkout.

    SQLAlchemy's pool_pre_ping tries every connection it hands out: measured under `make bench`, that SELECT 1 was
    6–10% of each service's CPU, for connections given back milliseconds before. Here only a connection idle for
    more than PROBAR_TRAS_S is tried (a restart or a dropped link shows there); a dead one is replaced at once. A
    connection that dies within that window fails its statement: the pool drops it with every older one, and the
    call answers 503 (`servicio.Llamada`) or its event is retried (`buzon_comun.consumo`)."""

    @event.listens_for(engine, "checkin")
    def _al_devolver(_dbapi_conn, registro):
        registro.info["devuelta_en"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _al_tomar(dbapi_conn, registro, _proxy):
        devuelta_en = registro.info.get("devuelta_en")
        if devuelta_en is None or time.monotonic() - devuelta_en < PROBAR_TRAS_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards it and tries another (a new one if need be).
            raise sa_exc.DisconnectionError(str(exc)) from exc


class BaseDatos(DependencyProvider):
    """Injects a SQLAlchemy session per worker, closed (and rolled back if left open) when the worker ends."""

    def __init__(self):
        self.engine: Engine | None = None
        self._fabrica = None
        self._sesiones: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        config = Config.desde_entorno()
        self.engine = crear_engine(config, self.container.service_name)
        self._fabrica = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx) -> Session:
        sesion = self._fabrica()
        self._sesiones[worker_ctx] = sesion
        return sesion

    def sesion_de(self, worker_ctx) -> Session | None:
        """The worker's session, for other providers' hooks (the outbox asks whether it enqueued events)."""
        return self._sesiones.get(worker_ctx)

    def worker_teardown(self, worker_ctx):
        sesion = self._sesiones.pop(worker_ctx, None)
        if sesion is not None:
            try:
                sesion.close()
            except Exception:  # noqa: BLE001 - lifecycle hooks never raise
                pass


class FechaUtc(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("las fechas se guardan con zona horaria")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
