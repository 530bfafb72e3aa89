"""`buzon-acuses`: what an operator does with acuses that stopped being retried.

    buzon-acuses estancadas               the parked requests: folio, tipo, tries, since when, last failure
    buzon-acuses reencolar FOLIO [...]    send those back to the sweep, with their tries counted from zero
    buzon-acuses reencolar --todas        every parked one

It speaks to the service's database (the same `BUZON_DATABASE_URL`, or the local SQLite under `BUZON_DATA_DIR`),
so it works whether the service is running or not; a running service's next sweep (within 30 s) takes what was
re-queued. Also `python -m buzon_acuses.operacion ...`.
"""
from __future__ import annotations

import warnings

# buzon_comun.db loads nameko, which loads eventlet: its notice is not for an operator's terminal.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import sys  # noqa: E402

from sqlalchemy.exc import SQLAlchemyError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from buzon_acuses import reintentos  # noqa: E402
from buzon_comun.config import Config  # noqa: E402
from buzon_comun.db import crear_engine  # noqa: E402
from buzon_comun.reloj import Reloj, iso_mexico  # noqa: E402


def estancadas(db: Session, salida=None, limite: int = 1000) -> int:
    salida = salida or sys.stdout
    filas = reintentos.estancadas(db, limite=limite)
    total = reintentos.cuantas_estancadas(db)
    if not filas:
        print("No hay acuses estancados.", file=salida)
        return 0
    for fila in filas:
        print(f"{fila['folio']}\t{fila['tipo']}\t{fila['intentos']} intentos\t"
              f"estancado desde {iso_mexico(fila['estancada_en'])}\t{fila['ultimo_error'] or ''}", file=salida)
    mas = f" (se muestran {len(filas)})" if total > len(filas) else ""
    print(f"{total} acuses estancados{mas}. Para reintentarlos: buzon-acuses reencolar FOLIO ... o --todas.",
          file=salida)
    return 0


def reencolar(db: Session, folios: list[str] | None, *, reloj: Reloj, salida=None) -> int:
    salida = salida or sys.stdout
    hechos = reintentos.reencolar(db, folios, ahora=reloj.ahora())
    for folio in hechos:
        print(f"{folio}\treencolado", file=salida)
    for folio in sorted(set(folios or ()) - set(hechos)):
        print(f"{folio}\tno está estancado (ya emitido, en espera de su reintento o desconocido): sin cambios",
              file=salida)
    print(f"{len(hechos)} acuses reencolados; el siguiente barrido del servicio (cada 30 s) los emite.",
          file=salida)
    return 0 if hechos or folios is None else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="buzon-acuses", description="Acuses que dejaron de reintentarse.")
    ordenes = parser.add_subparsers(dest="orden", required=True)
    ver = ordenes.add_parser("estancadas", help="lista los acuses estancados")
    ver.add_argument("--limite", type=int, default=1000, help="cuántos mostrar como máximo")
    otra_vez = ordenes.add_parser("reencolar", help="devuelve acuses estancados al barrido")
    otra_vez.add_argument("folios", nargs="*", metavar="FOLIO")
    otra_vez.add_argument("--todas", action="store_true", help="todos los estancados")
    args = parser.parse_args(argv)
    if args.orden == "reencolar" and args.todas == bool(args.folios):
        parser.error("indica los folios a reencolar, o --todas (no ambos)")

    engine = crear_engine(Config.desde_entorno(), "acuses", conexiones=1)
    try:
        with Session(engine) as db:
            if args.orden == "estancadas":
                return estancadas(db, limite=args.limite)
            return reencolar(db, None if args.todas else args.folios, reloj=Reloj())
    except SQLAlchemyError as exc:
        print(f"buzon-acuses: no se pudo consultar la base de datos de acuses ({type(exc).__name__}: "
              f"{getattr(exc, 'orig', None) or exc}). Revisa BUZON_DATABASE_URL y que las migraciones estén al día "
              "(buzon-migrar).", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
