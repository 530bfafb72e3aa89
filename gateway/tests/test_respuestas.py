"""Reading requests at the edge, without a broker."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from buzon_comun.errores import SolicitudInvalida
from buzon_gateway.respuestas import (
    Campo, CuerpoDemasiadoGrande, TipoContenidoNoSoportado, clave_cliente, ip_cliente, leer_json, redes, token_bearer,
)


def peticion(cuerpo=b"", cabeceras=None, ip="203.0.113.7", tipo="application/json"):
    return Request(EnvironBuilder(method="POST", data=cuerpo, headers=cabeceras or {}, content_type=tipo,
                                  environ_base={"REMOTE_ADDR": ip}).get_environ())


TEXTO = Campo()


def test_fields_are_read_typed_and_checked():
    assert leer_json(peticion(b'{"a": "x", "b": 2, "otro": 1}'), {"a": TEXTO, "b": Campo(tipo=int)}) == {"a": "x", "b": 2}
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": true}'), {"a": Campo(tipo=int)})
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": ""}'), {"a": TEXTO})
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(b'{"a": "QU*D"}'), {"a": Campo(base64=True)})


def test_a_body_just_over_the_limit_is_refused_even_without_content_length():
    with pytest.raises(CuerpoDemasiadoGrande):
        leer_json(peticion(b"x" * (1024 * 1024 + 1)), {"a": TEXTO})


@pytest.mark.parametrize("tipo", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None])
def test_a_body_that_is_not_declared_json_is_415(tipo):
    with pytest.raises(TipoContenidoNoSoportado):
        leer_json(peticion(b'{"a": "x"}', tipo=tipo), {"a": TEXTO})
    assert leer_json(peticion(b'{"a": "x"}', tipo="application/json; charset=utf-8"), {"a": TEXTO}) == {"a": "x"}


@pytest.mark.parametrize("cuerpo", [b"[" * 100_000, b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}",
                                    b'{"a": "x", "b": ' + b'{"c": ' * 5000 + b"1" + b"}" * 5000 + b"}"])
def test_a_body_nested_too_deep_is_400_never_a_recursion_error(cuerpo):
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(cuerpo), {"a": TEXTO})


@pytest.mark.parametrize("valor", ["\\ud800", "a\\u0000b", "\\udfff\\ud800", "x" * 5000])
def test_text_that_cannot_cross_the_edge_is_refused_or_handed_on_empty_to_its_owner(valor):
    cuerpo = ('{"a": "%s", "l": ["ok", "%s"]}' % (valor, valor)).encode()
    with pytest.raises(SolicitudInvalida):
        leer_json(peticion(cuerpo), {"a": TEXTO})
    propio = Campo(maximo=100, propio=True)
    assert leer_json(peticion(cuerpo), {"a": propio, "l": Campo(tipo=list, maximo=100, propio=True)}) == {
        "a": "", "l": ["ok", ""]}


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
    campos = {"a": TEXTO, "l": Campo(tipo=list, requerido=False)}
    assert leer_json(peticion(b'{"a": "x"}'), campos) == {"a": "x"}
    assert leer_json(peticion(b'{"a": "x", "l": ["1"]}'), campos)["l"] == ["1"]
    for malo in (b'{"a": "x", "l": "1"}', b'{"a": "x", "l": [1]}'):
        with pytest.raises(SolicitudInvalida):
            leer_json(peticion(malo), campos)


@pytest.mark.parametrize("direccion,clave", [("203.0.113.7", "203.0.113.7"), ("::ffff:203.0.113.7", "203.0.113.7"),
                                             ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
                                             ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")])
def test_limits_count_an_ipv6_client_by_its_64(direccion, clave):
    assert clave_cliente(direccion) == clave
