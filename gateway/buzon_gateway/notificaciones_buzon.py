"""The Buzón's notifications at the edge: who a depositing system is (its key), and the deposit's body limit.

Depositing systems (the Institute's, never a person) send `Authorization: Bearer <system key>`. Operators list
them in the file `BUZON_SISTEMAS_DEPOSITANTES`, one line per system, `<name>:<sha256 hex of its key>` (`#`
comments and blank lines allowed): the gateway keeps only digests, and compares the digest of what it is sent with
every one listed in constant time (`hmac.compare_digest`, all of them, whichever matches), so neither a key nor
which system's key is near can be learnt from the timing. Unset in desarrollo: one development system,
`desarrollo`, whose key is made once under the data folder (`secretos/sistema_desarrollo`) and printed by
`make run`; unset in produccion the gateway doesn't start (buzon_comun.produccion).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from pathlib import Path
from typing import Mapping

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from buzon_comun.archivos import crear_una_vez
from buzon_comun.config import Config
from buzon_comun.errores import NoAutenticado
from buzon_gateway.respuestas import token_bearer

log = logging.getLogger(__name__)

VARIABLE = "BUZON_SISTEMAS_DEPOSITANTES"
SISTEMA_DESARROLLO = "desarrollo"
# The deposit's body: a 5 MiB PDF is 6.67 MiB of base64 (buzon's own limit is the exact one, 422 past it); 7 MiB
# leaves room for the other fields. Every other route keeps the 1 MiB of respuestas.LIMITE_CUERPO.
LIMITE_DEPOSITO = 7 * 1024 * 1024
MENSAJE_LIMITE_DEPOSITO = "La solicitud excede el tamaño máximo permitido (7 MiB, para un documento de hasta 5 MiB)."
MENSAJE_SIN_CLAVE = "Falta la clave del sistema depositante o no es válida."
_LINEA = re.compile(r"([a-z0-9][a-z0-9_.-]{0,49}):([0-9a-f]{64})")
BYTES_CLAVE = 32


class SistemasInvalidos(ValueError):
    """The file of depositing systems has a mistake: the message names the file and the line."""


def leer_sistemas(texto: str, origen: str = VARIABLE) -> dict[str, bytes]:
    """`{name: sha256 digest}` from the file's text; any line that is not `name:64 hex digits` is refused."""
    sistemas: dict[str, bytes] = {}
    for numero, linea in enumerate(texto.splitlines(), start=1):
        linea = linea.strip()
        if not linea or linea.startswith("#"):
            continue
        nombre, _, digito = linea.partition(":")
        coincide = _LINEA.fullmatch(f"{nombre.strip()}:{digito.strip().lower()}")
        if coincide is None:
            raise SistemasInvalidos(f"{origen}, línea {numero}: se esperaba «nombre:sha256 en hexadecimal» (el "
                                    "nombre en minúsculas, letras, dígitos, _ . -, hasta 50; 64 dígitos hexadecimales)")
        nombre, huella_hex = coincide.groups()
        if nombre in sistemas:
            raise SistemasInvalidos(f"{origen}, línea {numero}: el sistema «{nombre}» ya está en el archivo")
        sistemas[nombre] = bytes.fromhex(huella_hex)
    if not sistemas:
        raise SistemasInvalidos(f"{origen}: no lista ningún sistema depositante")
    return sistemas


def ruta_clave_desarrollo(config: Config) -> Path:
    return Path(config.data_dir) / "secretos" / "sistema_desarrollo"


def clave_desarrollo(config: Config) -> str:
    """The development system's key, made on first use and shared by every process of the machine."""
    return crear_una_vez(ruta_clave_desarrollo(config),
                         lambda: secrets.token_urlsafe(BYTES_CLAVE).encode("ascii")).decode("ascii").strip()


def huella(clave: str) -> bytes:
    return hashlib.sha256(clave.encode("utf-8")).digest()


def cargar_sistemas(config: Config) -> dict[str, bytes]:
    """The configured systems or, in desarrollo only, the development one. Read once at the gateway's start."""
    if config.sistemas_depositantes:
        ruta = Path(config.sistemas_depositantes)
        origen = f"{VARIABLE} ({ruta})"
        try:
            texto = ruta.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SistemasInvalidos(f"{origen}: el archivo no existe") from None
        except UnicodeDecodeError:
            raise SistemasInvalidos(f"{origen}: el archivo no está en UTF-8") from None
        return leer_sistemas(texto, origen)
    if config.entorno == "produccion":
        raise SistemasInvalidos(f"BUZON_ENTORNO=produccion: falta {VARIABLE}, el archivo de los sistemas "
                                "depositantes y la huella de su clave")
    return {SISTEMA_DESARROLLO: huella(clave_desarrollo(config))}


def sistema_de(sistemas: Mapping[str, bytes], clave: str | None) -> str:
    """The system whose key is `clave`, comparing its digest with every listed one; else 401 `no_autenticado`."""
    encontrado = None
    if clave:
        recibida = huella(clave)
        for nombre, esperada in sistemas.items():
            if hmac.compare_digest(recibida, esperada) and encontrado is None:
                encontrado = nombre
    if encontrado is None:
        raise NoAutenticado("no_autenticado", MENSAJE_SIN_CLAVE)
    return encontrado


def sistema_de_solicitud(sistemas: Mapping[str, bytes], request: Request) -> str:
    return sistema_de(sistemas, token_bearer(request))


class ProveedorSistemas(DependencyProvider):
    """The depositing systems, read once per process: a mistake in the file stops the gateway's start."""

    def setup(self):
        self.sistemas = cargar_sistemas(Config.desde_entorno())
        log.info("sistemas depositantes: %s", ", ".join(sorted(self.sistemas)))

    def get_dependency(self, worker_ctx) -> dict[str, bytes]:
        return self.sistemas
