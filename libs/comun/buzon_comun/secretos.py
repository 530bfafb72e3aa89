"""Server secrets: `BUZON_SECRETO_CODIGOS`, the key of the stored hash of SMS codes.

Every replica must hash with the same key, or a code sent by one is refused by another: in production the
operator gives it to all of them. In desarrollo, without it, one is generated once under the data folder and
shared by every process on the machine.
"""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

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
    """The secret in `ruta`, made on first use.

    Published with a hard link that fails if the file exists: when several processes start at once exactly one
    file wins and every process reads it (a rename would let a loser replace the secret after the winner had
    hashed codes with it), and the file is complete before it has its name, so it is never read half-written.
    """
    ruta.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not ruta.exists():
        temporal = ruta.with_name(f".{ruta.name}.{uuid.uuid4().hex}")
        try:
            descriptor = os.open(temporal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as archivo:
                archivo.write(secrets.token_hex(BYTES_SECRETO))
                archivo.flush()
                os.fsync(archivo.fileno())
            try:
                os.link(temporal, ruta)
            except FileExistsError:
                pass
        finally:
            temporal.unlink(missing_ok=True)
    texto = ruta.read_text(encoding="ascii").strip()
    try:
        secreto = bytes.fromhex(texto)
    except ValueError:
        secreto = b""
    if len(secreto) < BYTES_SECRETO // 2:
        raise SecretoNoConfigurado(f"{ruta} no contiene un secreto en hexadecimal: bórrelo para generar otro "
                                   "o configure BUZON_SECRETO_CODIGOS")
    return secreto
