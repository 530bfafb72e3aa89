"""Property tests of what people type (hypothesis): whatever arrives, the parsers answer a value in its canonical
form or the contract's refusal, never another exception."""
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from buzon_comun.errores import ReglaIncumplida, SolicitudInvalida
from buzon_contactos import valores

CUALQUIER_COSA = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.binary(),
                           st.text(), st.lists(st.text(), max_size=3), st.dictionaries(st.text(), st.text(), max_size=2))
# Text with what breaks naive code: surrogates, NUL, other scripts' digits, look-alike letters, long runs.
TEXTO_HOSTIL = st.text(alphabet=st.characters(codec=None, categories=None), max_size=400) | st.sampled_from([
    "\ud800", "a\x00@b.mx", "٥٥١٢٣٤٥٦٧٨", "５５１２３４５６７８", "ana@ejemplo.mx\x00", "x" * 100_000 + "@b.mx",
    "+52 55 1234 5678", "ana@ejemplo.mx", "ANA@EJEMPLO.MX", "55-1234-5678", "(55) 1234.5678"])
SETTINGS = settings(max_examples=400, deadline=None, database=None)


@SETTINGS
@given(st.one_of(CUALQUIER_COSA, TEXTO_HOSTIL))
def test_a_phone_is_ten_ascii_digits_or_telefono_invalido(texto):
    try:
        telefono = valores.telefono(texto)
    except ReglaIncumplida as error:
        assert error.codigo == "telefono_invalido"
        return
    assert re.fullmatch(r"[2-9][0-9]{9}", telefono)
    assert valores.telefono(telefono) == telefono


@SETTINGS
@given(st.one_of(CUALQUIER_COSA, TEXTO_HOSTIL, st.emails()))
def test_an_email_is_lower_case_ascii_or_correo_invalido(texto):
    try:
        correo = valores.correo(texto)
    except ReglaIncumplida as error:
        assert error.codigo == "correo_invalido"
        return
    assert correo.isascii() and correo == correo.lower() and "\x00" not in correo and len(correo) <= 254
    assert valores.correo(correo) == correo


@SETTINGS
@given(CUALQUIER_COSA, st.one_of(CUALQUIER_COSA, TEXTO_HOSTIL))
def test_a_medio_is_its_mechanism_and_value_or_the_contracts_code(mecanismo, texto):
    try:
        mec = valores.mecanismo(mecanismo)
        valores.valor(mec, texto)
    except ReglaIncumplida as error:
        assert error.codigo in ("mecanismo_invalido", "correo_invalido", "telefono_invalido")


@SETTINGS
@given(st.one_of(CUALQUIER_COSA, st.lists(TEXTO_HOSTIL, max_size=1200)))
def test_the_rps_asked_for_are_a_list_without_repeats_or_a_refusal(pedidos):
    try:
        resultado = valores.registros_pedidos(pedidos)
    except SolicitudInvalida as error:
        assert error.codigo == "solicitud_invalida"
        return
    except ReglaIncumplida as error:
        assert error.codigo == "registro_patronal_ajeno" and len(pedidos) > valores.MAXIMO_REGISTROS_PEDIDOS
        return
    if resultado is None:
        assert pedidos == ["*"]
    else:
        assert len(resultado) == len(set(resultado)) <= len(pedidos or [])
        assert all(rp == rp.strip().upper() for rp in resultado)
