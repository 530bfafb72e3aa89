"""Files that several processes may create at the same moment and must all end up sharing (development keys and
secrets under the data folder)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable


def crear_una_vez(ruta: Path, contenido: Callable[[], bytes]) -> bytes:
    """The bytes of `ruta`, written with `contenido()` if it doesn't exist yet; mode 0600.

    Published with a hard link that fails if the file exists: when several processes start at once exactly one
    file wins and every process reads it (a rename would let a loser replace the file after the winner had used
    it), and the file is complete before it has its name, so it is never read half-written.
    """
    ruta.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not ruta.exists():
        temporal = ruta.with_name(f".{ruta.name}.{uuid.uuid4().hex}")
        try:
            descriptor = os.open(temporal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as archivo:
                archivo.write(contenido())
                archivo.flush()
                os.fsync(archivo.fileno())
            try:
                os.link(temporal, ruta)
            except FileExistsError:
                pass
        finally:
            temporal.unlink(missing_ok=True)
    return ruta.read_bytes()
