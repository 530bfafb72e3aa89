"""Codificador y lector DER mínimos.

Sólo lo necesario para escribir la llave privada cifrada en el formato exacto de SAT (PBES2 + PBKDF2-SHA1 +
DES-EDE3-CBC), que cryptography lee pero no sabe escribir, y para inspeccionarla en las pruebas.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
OID = 0x06
OCTET_STRING = 0x04
INTEGER = 0x02
NULL = 0x05


def _longitud(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    cuerpo = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(cuerpo)]) + cuerpo


def tlv(etiqueta: int, contenido: bytes) -> bytes:
    return bytes([etiqueta]) + _longitud(len(contenido)) + contenido


def secuencia(*elementos: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(elementos))


def octetos(valor: bytes) -> bytes:
    return tlv(OCTET_STRING, valor)


def entero(valor: int) -> bytes:
    if valor < 0:
        raise ValueError("sólo enteros no negativos")
    # One extra byte keeps the sign bit clear, as DER's two's complement requires.
    cuerpo = valor.to_bytes(valor.bit_length() // 8 + 1, "big")
    return tlv(INTEGER, cuerpo)


def oid(punteado: str) -> bytes:
    partes = [int(p) for p in punteado.split(".")]
    if len(partes) < 2:
        raise ValueError(f"OID inválido: {punteado}")
    cuerpo = bytearray()
    for arco in [partes[0] * 40 + partes[1], *partes[2:]]:
        grupo = [arco & 0x7F]
        arco >>= 7
        while arco:
            grupo.append(0x80 | (arco & 0x7F))
            arco >>= 7
        cuerpo.extend(reversed(grupo))
    return tlv(OID, bytes(cuerpo))


@dataclass(frozen=True)
class Nodo:
    etiqueta: int
    contenido: bytes
    hijos: tuple["Nodo", ...] = ()

    @property
    def oid(self) -> str:
        if self.etiqueta != OID:
            raise ValueError("el nodo no es un OID")
        arcos: list[int] = []
        valor = 0
        for b in self.contenido:
            valor = (valor << 7) | (b & 0x7F)
            if not b & 0x80:
                arcos.append(valor)
                valor = 0
        primero = min(arcos[0] // 40, 2)
        return ".".join(str(a) for a in [primero, arcos[0] - primero * 40, *arcos[1:]])

    @property
    def entero(self) -> int:
        if self.etiqueta != INTEGER:
            raise ValueError("el nodo no es un INTEGER")
        return int.from_bytes(self.contenido, "big", signed=True)


def leer(datos: bytes) -> Nodo:
    """Lee un elemento DER completo; las estructuras construidas se leen de forma recursiva."""
    nodo, fin = _leer_en(datos, 0, len(datos))
    if fin != len(datos):
        raise ValueError("sobran bytes después del elemento DER")
    return nodo


def _leer_en(datos: bytes, pos: int, limite: int) -> tuple[Nodo, int]:
    if pos + 2 > limite:
        raise ValueError("DER truncado")
    etiqueta = datos[pos]
    largo = datos[pos + 1]
    pos += 2
    if largo & 0x80:
        n = largo & 0x7F
        if n == 0 or n > 4 or pos + n > limite:
            raise ValueError("longitud DER inválida")
        largo = int.from_bytes(datos[pos : pos + n], "big")
        pos += n
    fin = pos + largo
    if fin > limite:
        raise ValueError("DER truncado")
    contenido = datos[pos:fin]
    hijos: list[Nodo] = []
    if etiqueta & 0x20:
        p = pos
        while p < fin:
            hijo, p = _leer_en(datos, p, fin)
            hijos.append(hijo)
    return Nodo(etiqueta, contenido, tuple(hijos)), fin
