"""The Solicitud y manifestación as the activation page shows it: its own text, cut into what it is made of.

The text is plain (activacion writes it, the person signs its hash): a legal paragraph, then blocks separated by
blank lines, each a title line followed by labelled data ("RFC: …") or a list ("- …"). The page shows each block
with its heading, a definition list or a list, so it reads as a document and not as a box of fixed-width text.
Nothing is added, dropped or reworded: `texto_de(bloques(texto)) == texto` for every text written this way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# "Etiqueta: valor", with a short label that is not a sentence.
_DATO = re.compile(r"(?P<etiqueta>[^:\n]{1,60}): (?P<valor>\S.*)")
_ELEMENTO = "- "
_LARGO_TITULO = 80


@dataclass
class Bloque:
    titulo: str | None = None
    parrafos: list[str] = field(default_factory=list)
    datos: list[tuple[str, str]] = field(default_factory=list)
    elementos: list[str] = field(default_factory=list)


def _es_titulo(linea: str) -> bool:
    return (len(linea) <= _LARGO_TITULO and ":" not in linea and not linea.startswith(_ELEMENTO)
            and not linea.rstrip().endswith("."))


def _bloque(lineas: list[str]) -> Bloque:
    bloque = Bloque()
    if len(lineas) > 1 and _es_titulo(lineas[0]):
        bloque.titulo, lineas = lineas[0], lineas[1:]
    if all(linea.startswith(_ELEMENTO) for linea in lineas):
        bloque.elementos = [linea[len(_ELEMENTO):] for linea in lineas]
    elif len(lineas) > 1 and all(_DATO.fullmatch(linea) for linea in lineas):
        bloque.datos = [(m["etiqueta"], m["valor"]) for m in map(_DATO.fullmatch, lineas)]
    else:
        bloque.parrafos = lineas
    return bloque


def bloques(texto: str) -> list[Bloque]:
    """The text's blocks, in order."""
    partes = [parte.split("\n") for parte in re.split(r"\n\s*\n", texto.strip("\n")) if parte.strip()]
    return [_bloque(lineas) for lineas in partes]


def texto_de(partes: list[Bloque]) -> str:
    """The text the blocks came from (what the tests hold the page to)."""
    salida = []
    for bloque in partes:
        lineas = [bloque.titulo] if bloque.titulo else []
        lineas += bloque.parrafos + [f"{etiqueta}: {valor}" for etiqueta, valor in bloque.datos]
        lineas += [_ELEMENTO + elemento for elemento in bloque.elementos]
        salida.append("\n".join(lineas))
    return "\n\n".join(salida)
