"""The texts people get: one validation link, one 5-digit code, Spanish, HTML escaped."""
import re

import pytest

from buzon_notificaciones.fallas import FallaPermanente
from buzon_notificaciones.plantillas import renderizar

URL_PUBLICA = "https://buzon.pruebas.imss.gob.mx"
CINCO_DIGITOS = re.compile(r"(?<!\d)\d{5}(?!\d)")
ENLACE = f"{URL_PUBLICA}/api/v1/medios/validacion/0123456789abcdef0123456789abcdef"


def validacion(**extra):
    return renderizar("correo", "validacion_correo", {"enlace": ENLACE, "vence_en": "2026-12-01T12:00:00-06:00", **extra})


def test_the_validation_email_has_its_link_once_and_no_other_link_to_the_system():
    mensaje = validacion()
    assert mensaje.asunto == "Buzón IMSS: valida tu correo electrónico"
    assert mensaje.texto.count(ENLACE) == 1
    assert re.findall(re.escape(URL_PUBLICA) + r"\S*", mensaje.texto) == [ENLACE]
    assert re.findall(re.escape(URL_PUBLICA) + r"[^\"\s<]*", mensaje.html) == [ENLACE]
    assert f"aquí: {ENLACE}" in mensaje.texto
    assert f'<a href="{ENLACE}">aquí</a>' in mensaje.html


def test_the_validation_email_follows_the_guide():
    texto = validacion().texto
    assert "72 horas" in texto and "a partir del registro" in texto
    assert "spam" in texto and "correo no deseado" in texto
    assert "01/12/2026 a las 12:00" in texto  # vence_en shown in Mexico City time
    assert texto.startswith("Hola:")


def test_names_are_escaped_in_html_but_not_in_text():
    mensaje = validacion(nombre="ANA <script>")
    assert "Hola, ANA <script>:" in mensaje.texto
    assert "<script>" not in mensaje.html and "ANA &lt;script&gt;" in mensaje.html


def test_the_confirmation_email_names_the_address_and_has_no_link():
    mensaje = renderizar("correo", "confirmacion_correo", {"valor": "ana@example.com"})
    assert mensaje.asunto.startswith("Buzón IMSS:")
    assert "ana@example.com" in mensaje.texto and "validación" in mensaje.texto and "concluyó" in mensaje.texto.lower()
    assert "http" not in mensaje.texto and mensaje.html is not None


@pytest.mark.parametrize("codigo", ["48213", "00000", "99999"])
def test_the_code_is_the_only_five_digit_number_of_the_sms(codigo):
    mensaje = renderizar("sms", "codigo_sms", {"codigo": codigo})
    assert CINCO_DIGITOS.findall(mensaje.texto) == [codigo]
    assert "Validación de Celular" in mensaje.texto and "72 horas" in mensaje.texto
    assert mensaje.asunto is None and mensaje.html is None


def test_the_confirmation_sms_says_the_validation_succeeded():
    texto = renderizar("sms", "confirmacion_sms", {}).texto
    assert "exitosa" in texto and CINCO_DIGITOS.findall(texto) == []


@pytest.mark.parametrize("canal, plantilla, datos", [
    ("sms", "codigo_sms", {"codigo": "1234"}),
    ("sms", "codigo_sms", {"codigo": "123456"}),
    ("sms", "codigo_sms", {}),
    ("sms", "validacion_correo", {"enlace": ENLACE, "vence_en": "2026-12-01T12:00:00-06:00"}),
    ("correo", "validacion_correo", {"enlace": ENLACE}),
    ("correo", "validacion_correo", {"enlace": ENLACE, "vence_en": "mañana"}),
    ("correo", "inexistente", {}),
])
def test_a_request_the_templates_cannot_honour_is_a_permanent_failure(canal, plantilla, datos):
    with pytest.raises(FallaPermanente):
        renderizar(canal, plantilla, datos)
