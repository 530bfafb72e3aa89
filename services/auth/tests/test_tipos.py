import logging

import pytest

from buzon_comun.tipos import Curp, RegistroPatronal, Rfc, ValorInvalido


@pytest.mark.parametrize(
    "texto, tipo",
    [
        ("XIQB891116QE4", "fisica"),
        ("GODE561231GR8", "fisica"),
        ("EKU9003173C9", "moral"),
        ("AAA010101AAA", "moral"),
        ("ÑAÑ000229AB1", "moral"),  # Ñ in the name part, Feb 29 of a leap year
        ("A&B850101XY3", "moral"),
    ],
)
def test_rfc_valido_y_tipo_persona(texto, tipo):
    rfc = Rfc.parse(texto)
    assert rfc == texto
    assert isinstance(rfc, str)
    assert rfc.tipo_persona == tipo


def test_rfc_se_normaliza():
    assert Rfc.parse("  xiqb891116qe4 ") == "XIQB891116QE4"


@pytest.mark.parametrize(
    "texto",
    [
        "", "XIQB891116QE", "XIQB891116QE45", "XIQB8911160E4X", "XI1B891116QE4", "XIQB891316QE4",  # month 13
        "XIQB890230QE4",  # Feb 30
        "AAA010229AAA",  # 2001 is not a leap year
        "XIQB891116Q-4", "AB010101AAA",
    ],
)
def test_rfc_mal_formado(texto):
    with pytest.raises(ValorInvalido) as e:
        Rfc.parse(texto)
    assert e.value.codigo == "rfc_invalido"
    assert isinstance(e.value, ValueError)
    assert e.value.mensaje and "RFC" in e.value.mensaje


def test_rfc_no_texto():
    with pytest.raises(ValorInvalido):
        Rfc.parse(None)


def test_digito_verificador_rfc_solo_advierte(caplog):
    with caplog.at_level(logging.WARNING, logger="buzon_comun.tipos"):
        rfc = Rfc.parse("AAA010101AAA")  # SAT's own test RFC has a wrong check digit
    assert not rfc.digito_verificador_valido
    assert "AAA010101AAA" in caplog.text


@pytest.mark.parametrize("texto", ["XIQB891116QE4", "GODE561231GR8", "EKU9003173C9", "JES900109Q90",
                                   "SMA0112284B2", "KAHO641101B39"])
def test_digito_verificador_rfc_correcto(texto, caplog):
    with caplog.at_level(logging.WARNING, logger="buzon_comun.tipos"):
        assert Rfc.parse(texto).digito_verificador_valido
    assert caplog.text == ""


def test_rfc_digito_incorrecto_no_se_rechaza(caplog):
    with caplog.at_level(logging.WARNING, logger="buzon_comun.tipos"):
        rfc = Rfc.parse("XIQB891116QE5")
    assert not rfc.digito_verificador_valido
    assert "XIQB891116QE5" in caplog.text


@pytest.mark.parametrize("texto", ["XIQB891116MGRMZR05", "KAHO641101HNTLKS06", "GOCA741120HVZMNR00"])
def test_curp_valida(texto, caplog):
    with caplog.at_level(logging.WARNING, logger="buzon_comun.tipos"):
        curp = Curp.parse(texto.lower())
    assert curp == texto
    assert curp.digito_verificador_valido
    assert caplog.text == ""


def test_curp_digito_incorrecto_solo_advierte(caplog):
    with caplog.at_level(logging.WARNING, logger="buzon_comun.tipos"):
        curp = Curp.parse("HEGT761003MDFRNN09")  # the representative's CURP in SAT's test e.firma
    assert not curp.digito_verificador_valido
    assert "HEGT761003MDFRNN09" in caplog.text


@pytest.mark.parametrize(
    "texto",
    [
        "", "XIQB891116MGRMZR0", "XIQB891116MGRMZR055",
        "XIQB891316MGRMZR05",  # month 13
        "XIQB890230MGRMZR05",  # Feb 30
        "XIQB891116ZGRMZR05",  # sex
        "XIQB891116MZZMZR05",  # state
        "XIQB891116MGRAZR05",  # vowel where a consonant goes
        "XIQB891116MGRMZR0A",  # check digit must be a digit
        "1IQB891116MGRMZR05",
    ],
)
def test_curp_mal_formada(texto):
    with pytest.raises(ValorInvalido) as e:
        Curp.parse(texto)
    assert e.value.codigo == "curp_invalida"
    assert "CURP" in e.value.mensaje


def test_registro_patronal():
    assert RegistroPatronal.parse(" y5412345108 ") == "Y5412345108"
    for malo in ["", "Y541234510", "Y54123451089", "15412345108", "Y54123451O8"]:
        with pytest.raises(ValorInvalido) as e:
            RegistroPatronal.parse(malo)
        assert e.value.codigo == "registro_patronal_invalido"


def test_construir_directo_tambien_valida():
    with pytest.raises(ValorInvalido):
        Rfc("no es un rfc")
    assert Rfc("XIQB891116QE4") == Rfc.parse("XIQB891116QE4")
