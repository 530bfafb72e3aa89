"""Server secrets: `BUZON_SECRETO_CODIGOS`, the key of the stored hash of SMS codes.

Every replica must hash with the same key, or a code sent by one is refused by another: in production the
operator gives it to all of them. In desarrollo, without it, one is generated once under the data folder and
shared by every process on the machine.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from buzon_comun.archivos import crear_una_vez
from buzon_comun.config import Config

BYTES_SECRETO = 32


class SecretoNoConfigurado(RuntimeError):
    pass


def secreto_codigos(config: Config) -> bytes:
    """The configured secret's UTF-8 bytes or, in desarrollo only, the one kept under the data folder."""
    if config.secreto_codigos:
        return config.secreto_codigos.encode("utf-8")
    if config.entorno == "produccion":
        # A secret made up per container would differ between replicas and vanish with the container.
        raise SecretoNoConfigurado("BUZON_ENTORNO=produccion: falta BUZON_SECRETO_CODIGOS, el secreto de los "
                                   "códigos SMS que comparten todas las réplicas")
    return _guardado(Path(config.data_dir) / "secretos" / "codigos")


def _guardado(ruta: Path) -> bytes:
    """The secret in `ruta`, made on first use and shared by every process that starts at once."""
    texto = crear_una_vez(ruta, lambda: secrets.token_hex(BYTES_SECRETO).encode("ascii")).decode(
        "ascii", errors="replace").strip()
    try:
        secreto = bytes.fromhex(texto)
    except ValueError:
        secreto = b""
    if len(secreto) < BYTES_SECRETO // 2:
        raise SecretoNoConfigurado(f"{ruta} no contiene un secreto en hexadecimal: bórrelo para generar otro "
                                   "o configure BUZON_SECRETO_CODIGOS")
    return secreto
