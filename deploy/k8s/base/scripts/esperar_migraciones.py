"""Init step of every Deployment with data: wait until the schema is at the head of this image's migrations.

`buzon-migrar` runs as a Job of each version before its pods (README.md, "Migraciones"). This step keeps a pod of
the new version from running against the old schema if the Job hasn't finished (or wasn't run): it reads the
schema's Alembic revision through the service's own connection and waits until it is the head this image knows.
A revision this image doesn't know is a newer one (a rollback to an older version after a newer migration): the
pod starts, with a warning, since migrations only add what older code can ignore.

    python esperar_migraciones.py SERVICIO [--plazo 1800] [--cada 5]

Exit 0 once the schema is at the head (or newer); 1 when the deadline passes (the pod's init step is retried).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.migraciones import configuracion_alembic, servicios_con_migraciones

log = logging.getLogger("esperar_migraciones")

AL_DIA, ATRASADA, MAS_NUEVA = "al_dia", "atrasada", "mas_nueva"


def cabezas_del_codigo(servicio: str) -> set[str]:
    ubicacion = servicios_con_migraciones()[servicio]
    return set(ScriptDirectory.from_config(configuracion_alembic(ubicacion)).get_heads())


def revisiones_de_la_base(config: Config, servicio: str) -> set[str]:
    engine = crear_engine(config, servicio, conexiones=1)
    try:
        with engine.connect() as conexion:
            return set(MigrationContext.configure(conexion).get_current_heads())
    finally:
        engine.dispose()


def comparar(servicio: str, en_la_base: set[str]) -> str:
    """Whether the schema is at this image's head, behind it, or ahead of it (a revision the image doesn't know)."""
    cabezas = cabezas_del_codigo(servicio)
    if en_la_base == cabezas:
        return AL_DIA
    script = ScriptDirectory.from_config(configuracion_alembic(servicios_con_migraciones()[servicio]))
    for revision in en_la_base:
        try:
            script.get_revision(revision)
        except CommandError:
            return MAS_NUEVA
    return ATRASADA


def esperar(config: Config, servicio: str, plazo_s: float, cada_s: float, reloj=time.monotonic,
            dormir=time.sleep) -> bool:
    limite = reloj() + plazo_s
    while True:
        try:
            en_la_base = revisiones_de_la_base(config, servicio)
            estado = comparar(servicio, en_la_base)
        except Exception as exc:  # noqa: BLE001 - the database may not take connections yet: try again
            estado, en_la_base = f"sin base de datos ({type(exc).__name__}: {exc})", set()
        if estado == AL_DIA:
            log.info("%s: el esquema está al día (%s)", servicio, ", ".join(sorted(en_la_base)))
            return True
        if estado == MAS_NUEVA:
            log.warning("%s: el esquema tiene una revisión más nueva que esta imagen (%s); se continúa",
                        servicio, ", ".join(sorted(en_la_base)))
            return True
        if reloj() >= limite:
            log.error("%s: el esquema sigue %s tras %.0f s: ¿corrió el Job buzon-migrar de esta versión?",
                      servicio, estado, plazo_s)
            return False
        log.info("%s: esperando las migraciones (esquema %s: %s)", servicio, estado,
                 ", ".join(sorted(en_la_base)) or "sin revisión")
        dormir(cada_s)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="esperar_migraciones",
                                     description="Espera a que el esquema del servicio esté migrado.")
    parser.add_argument("servicio", choices=sorted(servicios_con_migraciones()))
    parser.add_argument("--plazo", type=float, default=1800.0, help="segundos de espera como máximo")
    parser.add_argument("--cada", type=float, default=5.0, help="segundos entre una consulta y la siguiente")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return 0 if esperar(Config.desde_entorno(), args.servicio, args.plazo, args.cada) else 1


if __name__ == "__main__":
    sys.exit(main())
