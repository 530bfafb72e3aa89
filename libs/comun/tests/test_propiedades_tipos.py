"""Property tests (hypothesis) of the typed identifiers at the edge: RFC, CURP and Registro Patronal.

Whatever arrives (any text, surrogates, NUL, huge strings, objects that are not text) the only failure is
`ValorInvalido` with the type's code; whatever is accepted has the identifier's form, in ASCII, and parses back
to itself.
"""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buzon_comun.tipos import Curp, RegistroPatronal, Rfc, ValorInvalido

ACOTADO = settings(max_examples=300, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The forms written out again, independently of the code under test: ASCII digits and letters only, plus the
# RFC's Ñ and &.
FORMAS = {
    Rfc: re.compile(r"[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}"),
    Curp: re.compile(r"[A-Z][AEIOUX][A-Z]{2}[0-9]{6}[HMX][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z][0-9]"),
    RegistroPatronal: re.compile(r"[A-Z][0-9]{10}"),
}
LETRAS_Y_DIGITOS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzÑñ&0123456789")
CODIGOS = {Rfc: "rfc_invalido", Curp: "curp_invalida", RegistroPatronal: "registro_patronal_invalido"}
TIPOS = list(FORMAS)

# Text of every kind: any code point (lone surrogates and NUL included), the identifiers' own alphabet, and
# look-alikes that case mapping or Unicode digits could turn into it.
CUALQUIER_TEXTO = st.text(st.characters(codec=None, exclude_categories=()), max_size=64)
ALFABETO = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZÑ&abcxyzñ0123456789 \t\n\x00"), max_size=24)
PARECIDOS = st.text(st.sampled_from("ıſﬀKＡ٠١٢٣٤٥٦٧٨٩０１２８９ß\u00a0\u3000\ud800\udfff\x00"), min_size=1, max_size=3)
NO_TEXTO = st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=20), st.lists(st.integers()),
                     st.dictionaries(st.text(max_size=3), st.integers()), st.builds(object))


def _fecha():
    return st.dates().map(lambda d: d.strftime("%y%m%d"))


def _letras(alfabeto: str, n: int):
    return st.text(st.sampled_from(alfabeto), min_size=n, max_size=n)


MAYUSCULAS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Values of the right form with a real date, which random text almost never is.
VALIDOS = {
    Rfc: st.builds(lambda nombre, fecha, homoclave: nombre + fecha + homoclave,
                   st.one_of(_letras(MAYUSCULAS + "Ñ&", 3), _letras(MAYUSCULAS + "Ñ&", 4)), _fecha(),
                   _letras(MAYUSCULAS + "0123456789", 3)),
    Curp: st.builds(lambda a, b, c, fecha, sexo, entidad, consonantes, d, e: a + b + c + fecha + sexo + entidad
                    + consonantes + d + e,
                    _letras(MAYUSCULAS, 1), _letras("AEIOUX", 1), _letras(MAYUSCULAS, 2), _fecha(),
                    _letras("HMX", 1), st.sampled_from(["DF", "NT", "GR", "VZ", "NE", "AS", "ZS"]),
                    _letras("BCDFGHJKLMNPQRSTVWXYZ", 3), _letras(MAYUSCULAS + "0123456789", 1),
                    _letras("0123456789", 1)),
    RegistroPatronal: st.from_regex(FORMAS[RegistroPatronal], fullmatch=True),
}


@st.composite
def _variante(draw, tipo):
    """A valid value, changed by case, padding and a look-alike here and there."""
    texto = draw(VALIDOS[tipo])
    if draw(st.booleans()):
        texto = texto.lower()
    if draw(st.booleans()):
        i = draw(st.integers(0, len(texto)))
        texto = texto[:i] + draw(PARECIDOS) + texto[i + 1:]
    if draw(st.booleans()):
        # The same number in another script's digits (Arabic-Indic, fullwidth): equal for int(), not for a person.
        otro_cero = draw(st.sampled_from([0x0660, 0x06F0, 0x0966, 0xFF10]))
        i = draw(st.integers(0, len(texto) - 1))
        if texto[i] in "0123456789":
            texto = texto[:i] + chr(otro_cero + int(texto[i])) + texto[i + 1:]
    return draw(st.sampled_from(["", " ", "\t", "\u00a0"])) + texto + draw(st.sampled_from(["", " ", "\n"]))


def _comprobar(tipo, valor) -> None:
    try:
        leido = tipo.parse(valor)
    except ValorInvalido as e:
        assert e.codigo == CODIGOS[tipo]
        assert e.mensaje
        return
    assert isinstance(leido, tipo) and isinstance(leido, str)
    assert FORMAS[tipo].fullmatch(leido), ascii(leido)
    assert tipo.parse(str(leido)) == leido
    assert tipo.parse(leido) == leido
    # Accepting means the input was that value, up to surrounding blanks and the case of its letters: never
    # another value reached through Unicode case mapping (ı → I, ſ → S) or non-ASCII digits.
    assert set(valor.strip()) <= LETRAS_Y_DIGITOS, ascii(valor)
    assert valor.strip().upper() == leido


@pytest.mark.parametrize("tipo", TIPOS, ids=lambda t: t.__name__)
@ACOTADO
@given(valor=st.one_of(CUALQUIER_TEXTO, ALFABETO, NO_TEXTO))
def test_cualquier_entrada_solo_da_valor_invalido(tipo, valor):
    _comprobar(tipo, valor)


@pytest.mark.parametrize("tipo", TIPOS, ids=lambda t: t.__name__)
@ACOTADO
@given(datos=st.data())
def test_lo_que_se_acepta_tiene_la_forma_y_vuelve_a_leerse_igual(tipo, datos):
    valor = datos.draw(st.one_of(VALIDOS[tipo], _variante(tipo)))
    _comprobar(tipo, valor)


@pytest.mark.parametrize("tipo", TIPOS, ids=lambda t: t.__name__)
@settings(ACOTADO, max_examples=20)
@given(relleno=st.sampled_from(["A", "0", " ", "\x00", "\ud800", "Ñ", "XIQB891116QE4"]),
       veces=st.integers(10_000, 1_000_000))
def test_textos_enormes(tipo, relleno, veces):
    _comprobar(tipo, relleno * veces)


# -- what the properties found ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tipo, texto", [
    # Non-ASCII decimal digits matched `\d` and were accepted (and stored) as a different string than the
    # ASCII value the rest of the system compares with.
    (Rfc, "XIQB\u0668\u0669\u0661\u0661\u0661\u0666QE4"),
    (Rfc, "XIQB８９１１１６QE4"),
    (Curp, "XIQB891116MGRMZR0\u0665"),
    (RegistroPatronal, "Y\u0665\u0664\u0661\u0662\u0663\u0664\u0665\u0661\u0660\u0668"),
    # Unicode case mapping turned look-alikes into other letters: dotless ı into I, long ſ into S.
    (Rfc, "xıqb891116qe4"),
    (Rfc, "ſIQB891116QE4"),
    (Curp, "XIſB891116MGRMZR05"),
    (RegistroPatronal, "ſ5412345108"),
])
def test_regresiones_encontradas(tipo, texto):
    with pytest.raises(ValorInvalido) as e:
        tipo.parse(texto)
    assert e.value.codigo == CODIGOS[tipo]


@pytest.mark.parametrize("tipo, texto, esperado", [
    (Rfc, "  ñañ000229ab1 ", "ÑAÑ000229AB1"),
    (Rfc, "\u00a0xiqb891116qe4\n", "XIQB891116QE4"),
    (Curp, "xiqb891116mgrmzr05", "XIQB891116MGRMZR05"),
    (RegistroPatronal, "\ty5412345108 ", "Y5412345108"),
])
def test_se_siguen_aceptando_minusculas_y_espacios(tipo, texto, esperado):
    assert tipo.parse(texto) == esperado
