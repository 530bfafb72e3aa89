"""Property tests of the gateway's edge (hypothesis): any body, as bytes or as JSON of any shape, read with each
of the API's body specs, is the contract's refusal or plain values that can cross the bus and reach a database."""
import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from buzon_comun.errores import SolicitudInvalida
from buzon_comun.textos import es_texto_valido
from buzon_gateway import cuerpos
from buzon_gateway.respuestas import CuerpoDemasiadoGrande, TipoContenidoNoSoportado, leer_json

ESPECIFICACIONES = [cuerpos.SESION, cuerpos.FIRMA_CADENA, cuerpos.MEDIO, cuerpos.VALIDACION_CORREO,
                    cuerpos.CODIGO_SMS]
REFUSALS = (SolicitudInvalida, CuerpoDemasiadoGrande, TipoContenidoNoSoportado)
TEXTO = st.text(alphabet=st.characters(exclude_categories=()), max_size=50) | st.sampled_from(
    ["\ud800", "a\x00", "QUJD", "correo", "telefono", "*", "", " ", "x" * 20_000])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXTO,
                    lambda hijos: st.lists(hijos, max_size=4) | st.dictionaries(TEXTO, hijos, max_size=4),
                    max_leaves=30)
CAMPOS = st.sampled_from(["certificado", "reto", "firma", "mecanismo", "valor", "registros_patronales", "token",
                          "codigo"])
CUERPO = st.dictionaries(CAMPOS, JSON, max_size=6)
SETTINGS = settings(max_examples=300, deadline=None, database=None)


def peticion(crudo: bytes, tipo: str = "application/json") -> Request:
    return Request(EnvironBuilder(method="POST", data=crudo, content_type=tipo).get_environ())


def comprobar(crudo: bytes, especificacion: dict, tipo: str = "application/json") -> None:
    try:
        valores = leer_json(peticion(crudo, tipo), especificacion)
    except REFUSALS:
        return
    assert set(valores) <= set(especificacion)
    for nombre, valor in valores.items():
        campo = especificacion[nombre]
        assert isinstance(valor, campo.tipo)
        textos = valor if isinstance(valor, list) else [valor]
        assert all(es_texto_valido(texto, campo.maximo) for texto in textos), nombre
        if campo.base64:
            base64.b64decode(valor, validate=True)
        # What reaches a service crosses the bus as JSON and its database as UTF-8.
        json.dumps(valor).encode("utf-8")
        "".join(textos).encode("utf-8")


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(ESPECIFICACIONES))
def test_any_bytes_are_read_or_refused(crudo, especificacion):
    comprobar(crudo, especificacion)


@SETTINGS
@given(CUERPO, st.sampled_from(ESPECIFICACIONES))
def test_any_object_is_read_or_refused(cuerpo, especificacion):
    comprobar(json.dumps(cuerpo).encode("utf-8"), especificacion)


@SETTINGS
@given(JSON, st.sampled_from(ESPECIFICACIONES), st.integers(min_value=0, max_value=3000))
def test_any_json_however_deep_is_read_or_refused(valor, especificacion, profundidad):
    comprobar(("[" * profundidad + json.dumps(valor) + "]" * profundidad).encode("utf-8"), especificacion)


@SETTINGS
@given(CUERPO, st.sampled_from(ESPECIFICACIONES), st.sampled_from(["text/plain", "", "application/jsonx",
                                                                   "multipart/form-data; boundary=x"]))
def test_any_other_content_type_is_refused(cuerpo, especificacion, tipo):
    comprobar(json.dumps(cuerpo).encode("utf-8"), especificacion, tipo)
