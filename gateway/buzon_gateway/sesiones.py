"""A short-lived cache, per gateway process, of what auth answers to `auth.sesion(token)`.

Every authenticated request needs the session's identity; without a cache each one is an RPC to auth and a
query of its database (an activation made about seven). Here a successful answer is kept for `ttl_s`
(`BUZON_GATEWAY_CACHE_SESION_S`), never past the session's own `expira_en`, and dropped at once when the session
ends:
- a logout through this process drops its token as soon as auth has closed it (`olvidar`);
- auth announces every logout (`SesionCerrada`, which names the RFC, not the token): every gateway process gets it
  on a queue of its own and drops every session of that RFC (`al_cerrarse`); an event of a version it doesn't know
  drops everything, since it can't tell whose session ended;
- a lookup that was in flight while any session was dropped is not kept: its answer may predate the logout.
A refusal (`no_autenticado`) or any failure is never kept, so a token that didn't work is asked again next time.
What the TTL trades is in gateway/README.md: only a session that ends without its event reaching this process
(this process cut off from the broker at that moment) is served for at most `ttl_s` after auth refuses it.

Entries are keyed by a hash of the token (the cache holds no usable token) and bounded in number, least recently
used first out; callers get a copy of the answer, so a handler that edits it changes nothing for the next request.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nameko.extensions import DependencyProvider

from buzon_comun.config import Config
from buzon_comun.eventos import ContratoDesconocido, SesionCerrada, leer
from buzon_comun.reloj import Reloj

log = logging.getLogger(__name__)

# About 1 KiB each: a few MiB at most, and more sessions than one process serves within any sensible TTL.
MAXIMO_SESIONES = 20_000


def _clave(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _restante_s(sesion: dict, ahora: datetime) -> float:
    """Seconds the session has left by its `expira_en` (0 when it can't be read: such an answer is not kept)."""
    try:
        return (datetime.fromisoformat(sesion["expira_en"]) - ahora).total_seconds()
    except (KeyError, TypeError, ValueError):
        return 0.0


@dataclass
class _Entrada:
    sesion: dict
    rfc: str
    vence: float  # on the monotonic clock


class CacheSesiones:
    """Successful answers of `auth.sesion`, each kept until the first of: `ttl_s` after auth gave it, the session's
    `expira_en`, its logout. Plain code with clocks to move in tests; under eventlet nothing here yields."""

    def __init__(self, ttl_s: float, maximo: int = MAXIMO_SESIONES, reloj: Reloj | None = None,
                 monotono: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.maximo = maximo
        self.reloj = reloj or Reloj()
        self.monotono = monotono
        self._entradas: OrderedDict[bytes, _Entrada] = OrderedDict()
        self._por_rfc: dict[str, set[bytes]] = {}
        # Moves on every drop: a lookup that started before one may carry an answer the drop should have removed.
        self._epoca = 0

    def __len__(self) -> int:
        return len(self._entradas)

    def obtener(self, token: str, consultar: Callable[[str], dict]) -> dict:
        """The session of `token`: from the cache, or from `consultar` (auth), whose refusals pass through."""
        if self.ttl_s <= 0:
            return consultar(token)
        clave = _clave(token)
        entrada = self._entradas.get(clave)
        if entrada is not None:
            if entrada.vence > self.monotono():
                self._entradas.move_to_end(clave)
                return dict(entrada.sesion)
            self._quitar(clave)
        epoca = self._epoca
        sesion = consultar(token)
        if epoca == self._epoca:
            self._guardar(clave, sesion)
        return dict(sesion)

    def _guardar(self, clave: bytes, sesion: dict) -> None:
        vigencia = min(self.ttl_s, _restante_s(sesion, self.reloj.ahora()))
        rfc = sesion.get("rfc")
        if vigencia <= 0 or not isinstance(rfc, str):
            return
        self._quitar(clave)
        self._entradas[clave] = _Entrada(dict(sesion), rfc, self.monotono() + vigencia)
        self._por_rfc.setdefault(rfc, set()).add(clave)
        while len(self._entradas) > self.maximo:
            self._quitar(next(iter(self._entradas)))

    def _quitar(self, clave: bytes) -> None:
        entrada = self._entradas.pop(clave, None)
        if entrada is None:
            return
        claves = self._por_rfc.get(entrada.rfc)
        if claves is not None:
            claves.discard(clave)
            if not claves:
                del self._por_rfc[entrada.rfc]

    def olvidar(self, token: str) -> None:
        """This token's session ended (a logout through this process)."""
        self._epoca += 1
        self._quitar(_clave(token))

    def olvidar_rfc(self, rfc: str) -> None:
        """A session of this RFC ended somewhere: drop every one of its sessions (the next request asks auth)."""
        self._epoca += 1
        for clave in list(self._por_rfc.get(rfc, ())):
            self._quitar(clave)

    def vaciar(self) -> None:
        self._epoca += 1
        self._entradas.clear()
        self._por_rfc.clear()

    def al_cerrarse(self, mensaje: dict) -> None:
        """auth's `SesionCerrada`, as it came from the bus."""
        try:
            _, evento = leer(mensaje)
        except ContratoDesconocido:
            log.warning("evento de cierre de sesión de contrato desconocido: se olvidan todas las sesiones")
            self.vaciar()
            return
        if isinstance(evento, SesionCerrada):
            self.olvidar_rfc(evento.rfc)
        else:
            self.vaciar()


class ProveedorSesiones(DependencyProvider):
    """One `CacheSesiones` per gateway process, shared by its workers."""

    def setup(self):
        self.cache = CacheSesiones(Config.desde_entorno().gateway_cache_sesion_s)

    def get_dependency(self, worker_ctx) -> CacheSesiones:
        return self.cache
