"""`buzon-dev`: the development stand-ins and the local launcher, in one command."""
from __future__ import annotations

import argparse
import sys

from buzon_dev import correo, demo, documentos, lanzador, ocsp, pki, sms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="buzon-dev", description="Herramientas de desarrollo del Buzón IMSS.")
    subparsers = parser.add_subparsers(dest="comando", required=True)
    for modulo in (pki, documentos, ocsp, correo, sms, lanzador, demo):
        modulo.registrar_cli(subparsers)
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
