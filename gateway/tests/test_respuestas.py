"""Reading requests at the edge, without a broker."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from buzon_comun.errores import SolicitudInvalida
from buzon_gateway.respuestas import CuerpoDemasiadoGrande, ip_cliente, leer_json, redes, token_bearer


def peticion(cuerpo=b"", cabeceras=None, ip="203.0.113.7"):
    return Request(EnvironBuilder(method="POST", data=cuerpo, headers=cabeceras or {},
                                  environ_base={"REMOTE_ADDR": ip}).get_environ())


def test_fields_are_read_typed_and_checked():
    assert leer_json(peticion(b'{"a": "x", "b": 2, "otro": 1}'), {"a": str, "b": int}) == {"a": "x", "b": 2}
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": true}'), {"a": int})
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": "   "}'), {"a": str})
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": "QU*D"}'), {"a": str}, base64_en=("a",))


def test_a_body_just_over_the_limit_is_refused_even_without_content_length():
    with pytest.raises(CuerpoDemasiadoGrande):
        leer_json(peticion(b"x" * (1024 * 1024 + 1)), {"a": str})


@pytest.mark.parametrize("cabecera,token", [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None),
                                             ("Bearer", None), ("", None)])
def test_bearer_token(cabecera, token):
    assert token_bearer(peticion(cabeceras={"Authorization": cabecera})) == token


def test_client_ip_without_trusted_proxies_is_the_peer_even_if_the_client_claims_another():
    assert ip_cliente(peticion(cabeceras={"X-Forwarded-For": "1.2.3.4"})) == "203.0.113.7"


def test_client_ip_behind_trusted_proxies_is_the_first_untrusted_hop_from_the_right():
    confiables = redes("10.0.0.0/8, 192.168.1.5")
    desde_balanceador = peticion(cabeceras={"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.1.1.1"}, ip="192.168.1.5")
    assert ip_cliente(desde_balanceador, confiables) == "198.51.100.9"
    directo = peticion(cabeceras={"X-Forwarded-For": "6.6.6.6"}, ip="203.0.113.7")
    assert ip_cliente(directo, confiables) == "203.0.113.7"


def test_optional_fields_are_checked_only_when_present():
    assert leer_json(peticion(b'{"a": "x"}'), {"a": str}, opcionales={"l": list}) == {"a": "x"}
    assert leer_json(peticion(b'{"a": "x", "l": ["1"]}'), {"a": str}, opcionales={"l": list})["l"] == ["1"]
    for malo in (b'{"a": "x", "l": "1"}', b'{"a": "x", "l": [1]}'):
        with pytest.raises(SolicitudInvalida):
            leer_json(peticion(malo), {"a": str}, opcionales={"l": list})
