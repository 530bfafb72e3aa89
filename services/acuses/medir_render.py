"""CPU per render of each template version, for the same stored values: the README's measure of a template change.

    .venv/bin/python services/acuses/medir_render.py [--veces 30] [VERSIÓN …]   (default: every version)

One warm process, as a render process runs (`pdf.calentar`, one font configuration), the versions alternating so
that whatever else the machine does falls on all of them alike; the median CPU time (`time.process_time`) of each
version, and each one's ratio to the first named, for the bench's activation acuse (`make bench`'s) and an acuse de
registro. Not a test: CPU figures depend on the machine.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from buzon_acuses import documento, pdf
from buzon_acuses.cadena import cadena_original
from buzon_acuses.sello import desarrollo
from buzon_dev.banco import solicitud_de_banco

REGISTRO = {"folio": "REG-2026-99000000", "tipo": "registro_medio", "rfc": "BANC800101AB1",
            "emitido_en": "2026-11-29T12:00:00-06:00",
            "titular": {"rfc": "BANC800101AB1", "nombre": "PERSONA DE BANCO DE PRUEBAS", "curp": "BANC800101HDFRST01",
                        "tipo_persona": "fisica", "rfc_representante": None},
            "datos": {"medio_id": "m", "mecanismo": "correo", "valor": "banco@example.mx", "estado": "pendiente",
                      "registros_patronales": [], "vence_en": "2026-12-02T12:00:00-06:00"}}


def medir(versiones: list[str], veces: int) -> None:
    sello = desarrollo(Path(tempfile.mkdtemp()))
    pdf.calentar()
    for nombre, solicitud in (("activación (make bench)", solicitud_de_banco("ACT-2026-99000000")),
                              ("registro de un medio", REGISTRO)):
        cadena = cadena_original(solicitud)
        valores = documento.contexto(solicitud, cadena=cadena, sello=sello.sellar(cadena),
                                     public_url="https://buzon.imss.gob.mx", codigo="ABCDEFGHIJKLMNOP",
                                     certificado_sello=sello.numero_certificado)
        for version in versiones:  # one render each first, out of the count
            pdf.pdf_de_documento(version, valores)
        tiempos: dict[str, list[float]] = {version: [] for version in versiones}
        for _ in range(veces):
            for version in versiones:
                inicio = time.process_time()
                pdf.pdf_de_documento(version, valores)
                tiempos[version].append(time.process_time() - inicio)
        medianas = {version: statistics.median(t) * 1000 for version, t in tiempos.items()}
        base = medianas[versiones[0]]
        print(f"{nombre}, {veces} renders por versión:")
        for version in versiones:
            print(f"  versión {version}: {medianas[version]:6.1f} ms de CPU ({medianas[version] / base:.2f})")


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--veces", type=int, default=30)
    argumentos.add_argument("versiones", nargs="*", default=sorted(documento.PLANTILLAS))
    opciones = argumentos.parse_args()
    medir(opciones.versiones, opciones.veces)


if __name__ == "__main__":
    main()
