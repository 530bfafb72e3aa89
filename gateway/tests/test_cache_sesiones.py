"""The session cache between real parts: auth and two gateways (two containers, each with its own cache, as two
processes would be) on RabbitMQ and PostgreSQL. The TTL is set far longer than any wait here, so that only the
logout, its event or the session's own expiry can explain a session being refused."""
import time

import pytest
import requests
from nameko.testing.utils import find_free_port

from buzon_auth.service import Servicio as Auth
from buzon_comun.metricas import LLAMADAS
from buzon_dev.pruebas import b64, firmar
from buzon_gateway.service import Gateway

TTL_S = "300"


def llamadas_a_sesion() -> float:
    """auth.sesion calls answered so far (auth runs in this process: its counter is this one)."""
    return LLAMADAS.labels("auth", "sesion", "ok")._value.get() + LLAMADAS.labels("auth", "sesion", "rechazo")._value.get()


@pytest.fixture
def gateways(entorno_auth, container_factory, config_nameko, monkeypatch):
    """auth and two gateways, each on its port."""
    monkeypatch.setenv("BUZON_GATEWAY_CACHE_SESION_S", TTL_S)

    def arrancar(**entorno):
        for nombre, valor in entorno.items():
            monkeypatch.setenv(nombre, valor)
        container_factory(Auth, config_nameko).start()
        urls = []
        for _ in range(2):
            puerto = find_free_port()
            container_factory(Gateway, {**config_nameko, "WEB_SERVER_ADDRESS": f"127.0.0.1:{puerto}"}).start()
            urls.append(f"http://127.0.0.1:{puerto}")
        return urls

    return arrancar


def token_de(url, emitido) -> str:
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    respuesta = requests.post(f"{url}/api/v1/sesiones", json={
        "certificado": b64(emitido.cer_der), "reto": reto, "firma": firmar(emitido, reto)})
    assert respuesta.status_code == 201, respuesta.text
    return respuesta.json()["token"]


def actual(url, token) -> requests.Response:
    return requests.get(f"{url}/api/v1/sesiones/actual", headers={"Authorization": f"Bearer {token}"})


def hasta(condicion, plazo_s=10.0):
    limite = time.monotonic() + plazo_s
    while time.monotonic() < limite:
        if condicion():
            return True
        time.sleep(0.05)
    return False


def test_each_gateway_asks_auth_once_then_answers_from_its_cache(gateways, efirma_dev_fisica, efirma_dev_moral):
    a, b = gateways()
    fisica, moral = token_de(a, efirma_dev_fisica), token_de(a, efirma_dev_moral)
    antes = llamadas_a_sesion()
    for _ in range(5):
        for url in (a, b):
            assert actual(url, fisica).json()["rfc"] == "MAVA800101RS5"
            assert actual(url, moral).json()["rfc"] == "EDE0101013A2"
    assert llamadas_a_sesion() - antes == 4  # one per token and gateway
    # A token that is not one (a prefix, another case) never gets a cached session: auth refuses it.
    for ajeno in (fisica[:-1], fisica.swapcase(), fisica + "x"):
        assert actual(a, ajeno).status_code == 401
    assert actual(a, fisica).json()["rfc"] == "MAVA800101RS5"


def test_a_logout_through_one_gateway_ends_the_session_in_both(gateways, efirma_dev_fisica, efirma_dev_moral):
    a, b = gateways()
    fisica, moral = token_de(a, efirma_dev_fisica), token_de(b, efirma_dev_moral)
    for url in (a, b):
        assert actual(url, fisica).status_code == 200 and actual(url, moral).status_code == 200
    cerrada = requests.delete(f"{a}/api/v1/sesiones/actual", headers={"Authorization": f"Bearer {fisica}"})
    assert cerrada.status_code == 204
    # The gateway that closed it refuses it at once; the other as soon as auth's event reaches it, long before
    # its TTL: neither asks auth for a session it was told ended.
    assert actual(a, fisica).status_code == 401
    assert hasta(lambda: actual(b, fisica).status_code == 401), "b siguió aceptando una sesión cerrada"
    # Another person's session stays in b's cache.
    antes = llamadas_a_sesion()
    assert actual(b, moral).json()["rfc"] == "EDE0101013A2"
    assert llamadas_a_sesion() == antes


def test_the_portals_logout_drops_the_cookies_session_at_once(gateways, efirma_dev_fisica):
    from buzon_gateway import sesion_web

    a, b = gateways()
    token = token_de(a, efirma_dev_fisica)
    cookies = {sesion_web.COOKIE_SESION: token}

    def dentro(url) -> bool:
        """The page a logged-in person sees carries the logout form."""
        return 'action="/salir"' in requests.get(f"{url}/soporte", cookies=cookies).text

    assert dentro(a) and dentro(b)
    salida = requests.post(f"{a}/salir", cookies=cookies, data={"csrf": sesion_web.csrf_de_sesion(token)},
                           allow_redirects=False)
    assert salida.status_code == 303
    assert not dentro(a)
    assert hasta(lambda: not dentro(b)), "b siguió aceptando una sesión cerrada"


def test_a_cached_session_ends_when_auth_says_it_expires(gateways, efirma_dev_fisica):
    a, b = gateways(BUZON_SESION_DURACION_S="3")
    token = token_de(a, efirma_dev_fisica)
    inicio = time.monotonic()
    assert actual(a, token).status_code == 200
    antes = llamadas_a_sesion()
    assert actual(a, token).status_code == 200
    assert llamadas_a_sesion() == antes
    time.sleep(max(0.0, 3.2 - (time.monotonic() - inicio)))
    assert actual(a, token).status_code == 401
