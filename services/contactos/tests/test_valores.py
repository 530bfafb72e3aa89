"""What people type: mechanisms, emails and phones, normalised or refused with the contract's codes."""
import pytest

from buzon_comun.errores import ReglaIncumplida, SolicitudInvalida
from buzon_contactos import valores


@pytest.mark.parametrize("texto", ["correo", "telefono"])
def test_the_two_mechanisms(texto):
    assert valores.mecanismo(texto) == texto


@pytest.mark.parametrize("texto", ["", "Correo", "email", "sms", None, 1, ["correo"]])
def test_any_other_mechanism_is_refused(texto):
    with pytest.raises(ReglaIncumplida) as error:
        valores.mecanismo(texto)
    assert error.value.codigo == "mecanismo_invalido"


@pytest.mark.parametrize("texto, esperado", [
    ("Ana.Martinez@Ejemplo.COM.mx", "ana.martinez@ejemplo.com.mx"),
    ("  contacto@empresa.mx \t", "contacto@empresa.mx"),
    ("nombre+buzon@sub.dominio.mx", "nombre+buzon@sub.dominio.mx"),
    ("juan@méxico.mx", "juan@xn--mxico-bsa.mx"),
])
def test_emails_are_trimmed_and_lower_cased(texto, esperado):
    assert valores.correo(texto) == esperado


@pytest.mark.parametrize("texto", [
    "", "   ", "sin-arroba", "a@", "@dominio.mx", "a@@dominio.mx", "a@dominio", "a b@dominio.mx",
    "niño@dominio.mx", "x" * 250 + "@dominio.mx", None, 5,
])
def test_malformed_emails_are_refused(texto):
    with pytest.raises(ReglaIncumplida) as error:
        valores.correo(texto)
    assert error.value.codigo == "correo_invalido"


@pytest.mark.parametrize("texto", [
    "5512345678", "55 1234 5678", "55-1234-5678", "(55) 1234-5678", "+52 55 1234 5678", "+525512345678",
    "525512345678", " 5512345678 ",
])
def test_phones_are_stored_as_ten_digits(texto):
    assert valores.telefono(texto) == "5512345678"


def test_a_ten_digit_number_that_starts_with_52_keeps_its_digits():
    assert valores.telefono("5212345678") == "5212345678"


@pytest.mark.parametrize("texto", [
    "", "551234567", "55123456789", "+15512345678", "0512345678", "1512345678", "55l2345678",
    "５５１２３４５６７８", "+52 55 1234 567", "52 512345678", None, 5512345678,
])
def test_malformed_phones_are_refused(texto):
    with pytest.raises(ReglaIncumplida) as error:
        valores.telefono(texto)
    assert error.value.codigo == "telefono_invalido"


def test_sms_destination_has_the_country_code():
    assert valores.destino_sms("5512345678") == "+525512345678"


def test_rps_asked_for():
    assert valores.registros_pedidos(None) == []
    assert valores.registros_pedidos([]) == []
    assert valores.registros_pedidos(["*"]) is None
    assert valores.registros_pedidos([" a1234567890", "A1234567890", "B1234567890"]) == ["A1234567890", "B1234567890"]


@pytest.mark.parametrize("pedidos", ["*", "A1234567890", [1], {"a": 1}])
def test_rps_must_be_a_list_of_texts(pedidos):
    with pytest.raises(SolicitudInvalida):
        valores.registros_pedidos(pedidos)


def test_at_most_a_thousand_rps_are_asked_for_at_once():
    mil = [f"A{i:010d}" for i in range(1000)]
    assert valores.registros_pedidos(mil) == mil
    for demasiados in (mil + ["B0000000000"], mil + mil[:1]):
        with pytest.raises(ReglaIncumplida) as error:
            valores.registros_pedidos(demasiados)
        assert error.value.codigo == "registro_patronal_ajeno"


def test_repeated_rps_are_dropped_keeping_the_first_of_each_in_order():
    pedidos = [f"a{i % 500:010d}" for i in range(1000)]
    assert valores.registros_pedidos(pedidos) == [f"A{i:010d}" for i in range(500)]
