"""Alembic migrations of every service, run as one step before the services start.

Each service declares its migrations folder under the `buzon.migraciones` entry point group. On PostgreSQL each
service's step takes an advisory lock per service (transaction-scoped), so replicas or repeated runs never race; it
creates the service's schema and upgrades it to head.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import zlib
from importlib.metadata import entry_points

from alembic import command, context
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from buzon_comun import produccion
from buzon_comun.config import Config
from buzon_comun.db import crear_engine

log = logging.getLogger(__name__)


def servicios_con_migraciones() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="buzon.migraciones")}


def _clave_bloqueo(servicio: str) -> int:
    return zlib.crc32(f"buzon-migraciones-{servicio}".encode())


def configuracion_alembic(ubicacion: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", ubicacion)
    return cfg


def migrar_servicio(config: Config, servicio: str, ubicacion: str, destino: str = "head") -> None:
    """On PostgreSQL two transactions, each under the service's advisory lock: the schema if it is missing, then
    every migration up to `destino` (committed together or not at all). The lock is transaction-scoped, so it holds
    through PgBouncer in transaction mode and a failed run never leaves it taken. The schema goes first on its own:
    the migrations' transaction begins with it in place (one whose search_path was set before another migrator
    committed the schema might not find it)."""
    engine = crear_engine(config, servicio, conexiones=1)
    try:
        with engine.connect() as conexion:
            postgres = conexion.dialect.name == "postgresql"
            if postgres:
                _bloquear(conexion, servicio)
                # Created only when missing: `CREATE SCHEMA IF NOT EXISTS` asks for CREATE on the database even when
                # the schema exists, and a cluster's role per service owns its schema and nothing more.
                existe = conexion.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                          {"s": servicio}).first()
                if existe is None:
                    conexion.execute(text(f'CREATE SCHEMA "{servicio}"'))
                conexion.commit()
                _bloquear(conexion, servicio)
            cfg = configuracion_alembic(ubicacion)
            cfg.attributes["connection"] = conexion
            command.upgrade(cfg, destino)
            conexion.commit()
    finally:
        engine.dispose()


def _bloquear(conexion, servicio: str) -> None:
    """The service's migration lock until the connection's transaction ends: other migrators wait their turn."""
    conexion.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _clave_bloqueo(servicio)})


def migrar(config: Config | None = None, servicios: list[str] | None = None) -> list[str]:
    config = config or Config.desde_entorno()
    todos = servicios_con_migraciones()
    elegidos = servicios or sorted(todos)
    desconocidos = [s for s in elegidos if s not in todos]
    if desconocidos:
        raise ValueError(f"servicios sin migraciones: {', '.join(desconocidos)}")
    for servicio in elegidos:
        log.info("migrando %s", servicio)
        migrar_servicio(config, servicio, todos[servicio])
    return elegidos


def ejecutar_entorno_alembic(metadata) -> None:
    """Body of every service's migrations/env.py: run online on the connection `migrar` opened."""
    conexion = context.config.attributes.get("connection")
    if conexion is None:
        raise RuntimeError("las migraciones se ejecutan con buzon-migrar, que abre la conexión")
    context.configure(connection=conexion, target_metadata=metadata, render_as_batch=conexion.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="buzon-migrar", description="Aplica las migraciones de los servicios.")
    parser.add_argument("servicios", nargs="*", help="servicios a migrar (todos si se omite)")
    args = parser.parse_args(argv)
    try:
        produccion.exigir(os.environ, produccion.MIGRACIONES)
    except produccion.ConfiguracionDeDesarrollo as exc:
        print(f"buzon-migrar: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        hechos = migrar(servicios=args.servicios or None)
    except Exception as exc:  # noqa: BLE001 - a CLI reports, it doesn't trace
        print(f"buzon-migrar: error: {exc}", file=sys.stderr)
        return 1
    print("migraciones aplicadas: " + ", ".join(hechos))
    return 0
