"""The gateway's session cache (buzon_gateway.sesiones) as plain code, with clocks moved by hand; the same cache
between real gateway processes and auth is in test_cache_sesiones.py."""
import datetime as dt

import pytest

from buzon_comun.config import Config
from buzon_comun.errores import NoAutenticado, ServicioNoDisponible
from buzon_comun.eventos import SesionCerrada, SesionIniciada, mensaje
from buzon_comun.reloj import RelojFijo, iso_mexico
from buzon_gateway.sesiones import CacheSesiones

INICIO = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.timezone.utc)


class Relojes:
    """The wall clock (expira_en) and the monotonic one (the TTL), moved together."""

    def __init__(self):
        self.reloj = RelojFijo(INICIO)

    def monotono(self) -> float:
        return (self.reloj.ahora() - INICIO).total_seconds()

    def avanzar(self, segundos: float) -> None:
        self.reloj.avanzar(seconds=segundos)


class Auth:
    """What auth answers to `sesion(token)`: the live sessions it holds, each call counted."""

    def __init__(self, relojes: Relojes):
        self.relojes = relojes
        self.vivas: dict[str, dict] = {}
        self.llamadas = 0

    def abrir(self, token: str, rfc: str, dura_s: float = 3600) -> None:
        self.vivas[token] = {"rfc": rfc, "curp": f"CURP{rfc}", "nombre": f"NOMBRE {rfc}", "tipo_persona": "fisica",
                             "rfc_representante": None, "numero_certificado": f"000{rfc}",
                             "expira_en": iso_mexico(self.relojes.reloj.ahora() + dt.timedelta(seconds=dura_s))}

    def sesion(self, token: str) -> dict:
        self.llamadas += 1
        sesion = self.vivas.get(token)
        if sesion is None or dt.datetime.fromisoformat(sesion["expira_en"]) <= self.relojes.reloj.ahora():
            raise NoAutenticado("no_autenticado", "Su sesión no es válida o ya terminó.")
        return dict(sesion)


@pytest.fixture
def relojes():
    return Relojes()


@pytest.fixture
def auth(relojes):
    return Auth(relojes)


def cache_de(relojes, ttl_s=30, maximo=100) -> CacheSesiones:
    return CacheSesiones(ttl_s, maximo=maximo, reloj=relojes.reloj, monotono=relojes.monotono)


def test_a_session_is_asked_once_within_the_ttl_then_again(relojes, auth):
    cache = cache_de(relojes, ttl_s=30)
    auth.abrir("t1", "AAA010101AA1")
    for _ in range(5):
        assert cache.obtener("t1", auth.sesion)["rfc"] == "AAA010101AA1"
    assert auth.llamadas == 1
    relojes.avanzar(29.9)
    cache.obtener("t1", auth.sesion)
    assert auth.llamadas == 1
    relojes.avanzar(0.2)
    cache.obtener("t1", auth.sesion)
    assert auth.llamadas == 2


def test_a_session_is_never_served_past_its_own_expiry(relojes, auth):
    cache = cache_de(relojes, ttl_s=300)
    auth.abrir("t1", "AAA010101AA1", dura_s=10)
    cache.obtener("t1", auth.sesion)
    relojes.avanzar(9)
    cache.obtener("t1", auth.sesion)
    assert auth.llamadas == 1
    relojes.avanzar(1)
    with pytest.raises(NoAutenticado):
        cache.obtener("t1", auth.sesion)
    assert auth.llamadas == 2


@pytest.mark.parametrize("error", [NoAutenticado("no_autenticado", "no"), ServicioNoDisponible("servicio_no_disponible",
                                                                                               "no")])
def test_a_refusal_or_a_failure_is_never_kept(relojes, error):
    cache = cache_de(relojes)
    llamadas = []

    def falla(token):
        llamadas.append(token)
        raise error

    for _ in range(3):
        with pytest.raises(type(error)):
            cache.obtener("t1", falla)
    assert len(llamadas) == 3 and len(cache) == 0


def test_no_token_ever_gets_another_tokens_session(relojes, auth):
    cache = cache_de(relojes)
    auth.abrir("t1", "AAA010101AA1")
    auth.abrir("t2", "BBB020202BB2")
    assert cache.obtener("t1", auth.sesion)["rfc"] == "AAA010101AA1"
    assert cache.obtener("t2", auth.sesion)["rfc"] == "BBB020202BB2"
    assert cache.obtener("t1", auth.sesion)["rfc"] == "AAA010101AA1"
    # A token that differs by one character, or is a prefix, is a token of its own: auth decides.
    for ajeno in ("t", "t1 ", "T1", "t12"):
        with pytest.raises(NoAutenticado):
            cache.obtener(ajeno, auth.sesion)


def test_a_caller_editing_its_answer_changes_nothing_for_the_next(relojes, auth):
    cache = cache_de(relojes)
    auth.abrir("t1", "AAA010101AA1")
    primera = cache.obtener("t1", auth.sesion)
    primera.pop("expira_en")
    primera["rfc"] = "OTRO"
    assert cache.obtener("t1", auth.sesion) == auth.vivas["t1"]


def test_a_local_logout_drops_the_token_at_once(relojes, auth):
    cache = cache_de(relojes)
    auth.abrir("t1", "AAA010101AA1")
    auth.abrir("t2", "AAA010101AA1")
    cache.obtener("t1", auth.sesion)
    cache.obtener("t2", auth.sesion)
    del auth.vivas["t1"]
    cache.olvidar("t1")
    with pytest.raises(NoAutenticado):
        cache.obtener("t1", auth.sesion)
    llamadas = auth.llamadas
    cache.obtener("t2", auth.sesion)
    assert auth.llamadas == llamadas


def test_the_logout_event_drops_every_session_of_its_rfc_and_only_those(relojes, auth):
    cache = cache_de(relojes)
    for token, rfc in (("a1", "AAA010101AA1"), ("a2", "AAA010101AA1"), ("b1", "BBB020202BB2")):
        auth.abrir(token, rfc)
        cache.obtener(token, auth.sesion)
    del auth.vivas["a1"]
    cache.al_cerrarse(mensaje(SesionCerrada(rfc="AAA010101AA1"), ahora=INICIO))
    with pytest.raises(NoAutenticado):
        cache.obtener("a1", auth.sesion)
    llamadas = auth.llamadas
    cache.obtener("a2", auth.sesion)  # asked again: the event can't say which of the RFC's sessions ended
    assert auth.llamadas == llamadas + 1
    cache.obtener("b1", auth.sesion)
    assert auth.llamadas == llamadas + 1


def test_an_event_it_cannot_read_drops_everything(relojes, auth):
    cache = cache_de(relojes)
    auth.abrir("t1", "AAA010101AA1")
    cache.obtener("t1", auth.sesion)
    cache.al_cerrarse({"id": "x", "tipo": "sesion_cerrada", "version": 99, "datos": {"token": "t1"}})
    assert len(cache) == 0
    cache.obtener("t1", auth.sesion)
    cache.al_cerrarse(mensaje(SesionIniciada(rfc="AAA010101AA1", tipo_persona="fisica", numero_certificado="1",
                                             rfc_representante=None), ahora=INICIO))
    assert len(cache) == 0


def test_an_answer_given_before_a_logout_and_arriving_after_it_is_not_kept(relojes, auth):
    cache = cache_de(relojes)
    auth.abrir("t1", "AAA010101AA1")

    def lenta(token):
        sesion = auth.sesion(token)
        # While this answer travels, the session is closed through another gateway and the event arrives here.
        del auth.vivas[token]
        cache.al_cerrarse(mensaje(SesionCerrada(rfc="AAA010101AA1"), ahora=INICIO))
        return sesion

    assert cache.obtener("t1", lenta)["rfc"] == "AAA010101AA1"
    with pytest.raises(NoAutenticado):
        cache.obtener("t1", auth.sesion)


def test_the_cache_is_bounded_and_drops_the_least_recently_used(relojes, auth):
    cache = cache_de(relojes, maximo=3)
    for i in range(4):
        auth.abrir(f"t{i}", f"AAA01010{i}AA1")
    for token in ("t0", "t1", "t2"):
        cache.obtener(token, auth.sesion)
    cache.obtener("t0", auth.sesion)  # used again: t1 is now the least recent
    cache.obtener("t3", auth.sesion)
    assert len(cache) == 3
    llamadas = auth.llamadas
    cache.obtener("t0", auth.sesion)
    cache.obtener("t2", auth.sesion)
    cache.obtener("t3", auth.sesion)
    assert auth.llamadas == llamadas
    cache.obtener("t1", auth.sesion)
    assert auth.llamadas == llamadas + 1
    # The index by RFC follows what was dropped.
    assert set(cache._por_rfc) == {sesion["rfc"] for sesion in (auth.vivas[t] for t in ("t1", "t2", "t3"))}


def test_without_a_ttl_every_request_asks_auth(relojes, auth):
    cache = cache_de(relojes, ttl_s=0)
    auth.abrir("t1", "AAA010101AA1")
    cache.obtener("t1", auth.sesion)
    cache.obtener("t1", auth.sesion)
    assert auth.llamadas == 2 and len(cache) == 0


def test_an_answer_without_a_readable_expiry_is_not_kept(relojes):
    cache = cache_de(relojes)
    for sesion in ({"rfc": "AAA010101AA1"}, {"rfc": "AAA010101AA1", "expira_en": "mañana"}):
        cache.obtener("t1", lambda token, sesion=sesion: sesion)
        assert len(cache) == 0


def test_the_ttl_is_configured_and_bounded():
    assert Config.desde_entorno({}).gateway_cache_sesion_s == 30
    assert Config.desde_entorno({"BUZON_GATEWAY_CACHE_SESION_S": "0"}).gateway_cache_sesion_s == 0
    assert Config.desde_entorno({"BUZON_GATEWAY_CACHE_SESION_S": "5"}).gateway_cache_sesion_s == 5
    assert Config.desde_entorno({"BUZON_GATEWAY_CACHE_SESION_S": "86400"}).gateway_cache_sesion_s == 300
    assert Config.desde_entorno({"BUZON_GATEWAY_CACHE_SESION_S": "-1"}).gateway_cache_sesion_s == 0
