"""`buzon-servicio`: run one service (`buzon_comun.ejecutar`), or answer the health probe (`--salud`,
`buzon_comun.salud`).

The probe runs every few seconds in every pod, so this module decides which before anything heavy is imported:
the probe loads neither eventlet nor nameko (about a tenth of the CPU of starting the service's stack), and the
service's stack is imported only to run it, with eventlet's monkey patch first.
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points

from buzon_comun import salud


def servicios_disponibles() -> dict:
    return {ep.name: ep for ep in entry_points(group="buzon.servicios")}


def analizador(disponibles) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="buzon-servicio", description="Ejecuta un servicio del Buzón IMSS.")
    parser.add_argument("nombre", nargs="?", choices=sorted(disponibles))
    parser.add_argument("--gracia", type=float, default=10.0, help="segundos para terminar el trabajo en curso")
    sonda = parser.add_argument_group("sonda de salud (no ejecuta el servicio)")
    sonda.add_argument("--salud", action="store_true",
                       help="¿está vivo el proceso de NOMBRE de este contenedor? (sin NOMBRE: cada uno con latido); "
                            "sale con 0 si sí, 1 si no")
    sonda.add_argument("--listo", action="store_true",
                       help="con --salud: además, su tipo responde su RPC salud (el gateway: RabbitMQ acepta conexión)")
    sonda.add_argument("--plazo", type=float, default=salud.PLAZO_S, help="segundos para la respuesta de --listo")
    sonda.add_argument("--ventana", type=float, default=None,
                       help="edad máxima del último latido, en segundos (BUZON_SALUD_VENTANA_S, 30)")
    sonda.add_argument("--pid", type=int, default=None, help="el proceso con este pid, no el más reciente de NOMBRE")
    return parser


def main(argv=None) -> int:
    disponibles = servicios_disponibles()
    parser = analizador(disponibles)
    args = parser.parse_args(argv)
    try:
        ajustes = salud.Ajustes.desde_entorno(os.environ)
        if args.salud:
            return sondear(args, ajustes)
    except ValueError as exc:
        print(f"buzon-servicio: {exc}", file=sys.stderr)
        # A probe answers 0 or 1 only (Docker reserves 2).
        return salud.ENFERMO if args.salud else 2
    if args.nombre is None:
        parser.error("falta NOMBRE, el servicio que se ejecuta")
    from buzon_comun import ejecutar  # eventlet's monkey patch, then the service's stack

    return ejecutar.ejecutar(args, disponibles[args.nombre], ajustes)


def sondear(args, ajustes: salud.Ajustes) -> int:
    """The probe: its verdict on one line (stdout when healthy, stderr when not) and 0 or 1."""
    from buzon_comun.config import Config

    resultado = salud.sondear(args.nombre, ajustes, uri=Config.desde_entorno().amqp_uri, listo=args.listo,
                              plazo_s=args.plazo, ventana_s=args.ventana, pid=args.pid)
    print(resultado.mensaje, file=sys.stdout if resultado.sano else sys.stderr)
    return resultado.codigo


if __name__ == "__main__":
    sys.exit(main())
