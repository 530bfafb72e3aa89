"""The texts people get: one validation link, one 5-digit code, Spanish, HTML escaped; SMS in one GSM-7 segment;
emails that say which RFC and Registros Patronales; windows stated as configured."""
import re

import pytest

from buzon_notificaciones.fallas import FallaPermanente
from buzon_notificaciones.plantillas import GSM7, MAXIMO_SMS, PLANTILLAS_CORREO, PLANTILLAS_SMS, a_gsm7, renderizar

URL_PUBLICA = "https://buzon.pruebas.imss.gob.mx"
CINCO_DIGITOS = re.compile(r"(?<!\d)\d{5}(?!\d)")
ENLACE = f"{URL_PUBLICA}/api/v1/medios/validacion/0123456789abcdef0123456789abcdef"


VENTANA_S = 72 * 3600
RP1, RP2 = "A1234567890", "B1234567890"
SOBRE = {"rfc": "EDE0101013A2", "nombre": "EMPRESA <DE> DEMOSTRACION",
         "registros_patronales": [{"registro_patronal": RP1, "razon_social": "PLANTA <UNO>"},
                                  {"registro_patronal": RP2, "razon_social": None}]}
AVISOS = ("aviso_medio_registrado", "aviso_medio_eliminado", "aviso_medio_vencido")


def validacion(**extra):
    return renderizar("correo", "validacion_correo", {"enlace": ENLACE, "vence_en": "2026-12-01T12:00:00-06:00",
                                                      "ventana_s": VENTANA_S, **extra})


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
    mensaje = renderizar("sms", "codigo_sms", {"codigo": codigo, "ventana_s": VENTANA_S})
    assert CINCO_DIGITOS.findall(mensaje.texto) == [codigo]
    assert "Validacion de Celular" in mensaje.texto and "72 horas" in mensaje.texto
    assert "No compartas este codigo" in mensaje.texto
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


# -- SMS: GSM-7, one segment ------------------------------------------------------------------------------------

# The longest value each field of an SMS can take: the longest RFC (persona física, with the letters GSM-7 holds
# of all an RFC may have), the longest mechanism's name, the longest window in words that configuration allows.
MAS_LARGOS = {"codigo": "99999", "rfc": "ÑÑÑ&991231ZZ9", "ventana_s": 10**9 + 1,
              "mecanismo": "correo", "valor": "x" * 64 + "@" + "y" * 185 + ".mx", "momento": "2026-12-31T23:59:59-06:00",
              "depositada_en": "2026-12-31T23:59:59-06:00",
              **{k: v for k, v in SOBRE.items() if k != "rfc"}}


@pytest.mark.parametrize("plantilla", sorted(PLANTILLAS_SMS))
@pytest.mark.parametrize("mecanismo", ["correo", "telefono"])
def test_every_sms_is_gsm7_in_one_segment_with_the_longest_values(plantilla, mecanismo):
    texto = renderizar("sms", plantilla, {**MAS_LARGOS, "mecanismo": mecanismo}).texto
    assert set(texto) <= GSM7, set(texto) - GSM7
    assert not re.search(r"[áéíóúÁÉÍÓÚ]", texto)  # no accents at all, even the few GSM-7 has
    assert len(texto) <= MAXIMO_SMS, (len(texto), texto)
    assert texto.startswith("BUZON IMSS: ")


def test_a_value_from_outside_loses_its_accents_in_an_sms():
    assert a_gsm7("Número celular de José Ñandú €") == "Numero celular de Jose Ñandu ?"
    assert set(renderizar("sms", "aviso_medio_vencido", {"mecanismo": "telefono", "rfc": "ÁÉÍ991231ZZ9"}).texto) <= GSM7


# -- the window in words follows configuration ------------------------------------------------------------------

@pytest.mark.parametrize("ventana_s, texto", [(259200, "72 horas"), (3600, "1 hora"), (900, "15 minutos"),
                                               (60, "1 minuto"), (15, "15 segundos"), (90, "90 segundos")])
def test_the_window_stated_is_the_configured_one(ventana_s, texto):
    assert f"vence en {texto}." in renderizar("sms", "codigo_sms", {"codigo": "12345", "ventana_s": ventana_s}).texto
    correo = validacion(ventana_s=ventana_s)
    assert f"Cuentas con {texto} a partir del registro" in correo.texto
    assert f"Cuentas con {texto} a partir del registro" in " ".join(correo.html.split())
    assert "72 horas" not in correo.texto or ventana_s == 259200


def test_without_a_window_the_texts_state_no_figure():
    """A request queued before the field existed: the deadline itself, never a figure that may be wrong."""
    sms = renderizar("sms", "codigo_sms", {"codigo": "12345"}).texto
    assert "horas" not in sms and "No compartas este codigo" in sms
    texto = validacion(ventana_s=None).texto
    assert "horas a partir" not in texto and "Cuentas hasta el 01/12/2026 a las 12:00 horas" in texto


def test_no_template_writes_a_window_of_its_own():
    from importlib.resources import files

    for plantilla in files("buzon_notificaciones").joinpath("plantillas").iterdir():
        assert not re.search(r"\b72\b", plantilla.read_text(encoding="utf-8")), plantilla.name


# -- emails say whom they are about -----------------------------------------------------------------------------

@pytest.mark.parametrize("plantilla, datos", [
    ("validacion_correo", {"enlace": ENLACE, "vence_en": "2026-12-01T12:00:00-06:00", "ventana_s": VENTANA_S}),
    ("confirmacion_correo", {"valor": "ana@example.com"}),
    *[(aviso, {"mecanismo": "correo", "valor": "nuevo@example.com", "momento": "2026-11-28T12:00:00-06:00"})
      for aviso in AVISOS],
])
def test_every_email_names_the_rfc_its_name_and_the_registros_patronales(plantilla, datos):
    mensaje = renderizar("correo", plantilla, {**datos, **SOBRE})
    assert "RFC: EDE0101013A2 (EMPRESA <DE> DEMOSTRACION)" in mensaje.texto
    assert f"Registros Patronales:\n- {RP1} (PLANTA <UNO>)\n- {RP2}\n" in mensaje.texto
    assert "<strong>EDE0101013A2</strong> (EMPRESA &lt;DE&gt; DEMOSTRACION)" in mensaje.html
    assert f"<li>{RP1} (PLANTA &lt;UNO&gt;)</li>" in mensaje.html and f"<li>{RP2}</li>" in mensaje.html
    assert "\n\n\n" not in mensaje.texto
    sin_rp = renderizar("correo", plantilla, {**datos, **SOBRE, "registros_patronales": []})
    assert "Registros Patronales" not in sin_rp.texto and "Registros Patronales" not in sin_rp.html


def test_every_email_template_is_listed_and_complete():
    from importlib.resources import files

    carpeta = files("buzon_notificaciones").joinpath("plantillas")
    for plantilla in PLANTILLAS_CORREO:
        for parte in ("asunto", "txt", "html"):
            assert carpeta.joinpath(f"{plantilla}.{parte}.j2").is_file(), (plantilla, parte)
    for plantilla in PLANTILLAS_SMS:
        assert carpeta.joinpath(f"{plantilla}.sms.j2").is_file(), plantilla


# -- notices of a medio's change --------------------------------------------------------------------------------

@pytest.mark.parametrize("plantilla, asunto, hecho", [
    ("aviso_medio_registrado", "se registró un medio de contacto", "Si no realizaste este registro"),
    ("aviso_medio_eliminado", "se eliminó un medio de contacto", "Si no realizaste esta baja"),
    ("aviso_medio_vencido", "dado de baja por vencimiento", "no se validó dentro del plazo"),
])
def test_a_notice_says_what_happened_to_which_medio_and_when(plantilla, asunto, hecho):
    mensaje = renderizar("correo", plantilla, {"mecanismo": "telefono", "valor": "5512345678",
                                               "momento": "2026-11-28T18:30:00+00:00", **SOBRE})
    assert mensaje.asunto.startswith("Buzón IMSS:") and asunto in mensaje.asunto
    assert "Número celular: 5512345678" in mensaje.texto and hecho in mensaje.texto
    assert "Fecha: 28/11/2026 a las 12:30 horas" in mensaje.texto  # Mexico City time
    assert "http" not in mensaje.texto
    sms = renderizar("sms", plantilla, {"mecanismo": "telefono", "rfc": "EDE0101013A2"}).texto
    assert "numero celular" in sms and "EDE0101013A2" in sms


@pytest.mark.parametrize("plantilla", AVISOS)
@pytest.mark.parametrize("falta", ["mecanismo", "valor", "rfc", "momento"])
def test_a_notice_without_what_it_must_say_is_a_permanent_failure(plantilla, falta):
    datos = {"mecanismo": "correo", "valor": "a@example.com", "rfc": "EDE0101013A2",
             "momento": "2026-11-28T12:00:00-06:00"}
    with pytest.raises(FallaPermanente):
        renderizar("correo", plantilla, {k: v for k, v in datos.items() if k != falta})
    with pytest.raises(FallaPermanente):
        renderizar("correo", plantilla, {**datos, "momento": "2026-11-28T12:00:00"})  # no zone


# -- the aviso of a notification in the Buzón (buzon's requests) ------------------------------------------------

AVISO = {"rfc": "EDE0101013A2", "depositada_en": "2026-12-07T01:30:00+00:00"}  # 06/12/2026 19:30 in Mexico City


def test_the_aviso_of_a_notification_says_there_is_a_message_when_and_for_whom_with_the_portal():
    mensaje = renderizar("correo", "aviso_notificacion", {**AVISO, **SOBRE}, url_publica=URL_PUBLICA)
    assert mensaje.asunto == "Tienes un mensaje en tu Buzón IMSS"
    assert "Tienes un mensaje en tu Buzón IMSS." in mensaje.texto
    assert "Fecha del depósito: 06/12/2026 a las 19:30 horas (hora del centro de México)" in mensaje.texto
    assert "RFC: EDE0101013A2 (EMPRESA <DE> DEMOSTRACION)" in mensaje.texto
    assert f"Registros Patronales:\n- {RP1} (PLANTA <UNO>)\n- {RP2}\n" in mensaje.texto
    assert "<strong>EDE0101013A2</strong> (EMPRESA &lt;DE&gt; DEMOSTRACION)" in mensaje.html
    assert "06/12/2026 a las 19:30" in mensaje.html
    # The portal, and no other address: never a link to the document or the notification.
    assert re.findall(r"https?://\S+", mensaje.texto) == [URL_PUBLICA + "/"]
    assert set(re.findall(r"https?://[^\s\"<]+", mensaje.html)) == {URL_PUBLICA + "/"}
    assert "\n\n\n" not in mensaje.texto


def test_the_aviso_never_carries_the_subject_the_content_or_the_document_even_if_asked():
    """buzon sends only rfc, registros_patronales and depositada_en; anything else in `datos` is not printed."""
    intruso = {"asunto": "Requerimiento de pago 123", "area": "Subdelegación Centro", "tipo_acto": "requerimiento",
               "documento": "JVBERi0xLjQK", "enlace": "https://otro.example/documento.pdf"}
    for canal in ("correo", "sms"):
        mensaje = renderizar(canal, "aviso_notificacion", {**AVISO, **intruso}, url_publica=URL_PUBLICA)
        for parte in (mensaje.asunto, mensaje.texto, mensaje.html):
            for valor in intruso.values():
                assert valor not in (parte or "")


def test_the_aviso_by_sms_is_gsm7_in_one_segment_with_the_date():
    texto = renderizar("sms", "aviso_notificacion", {**AVISO, "rfc": "ÑÑÑ&991231ZZ9"}).texto
    assert "Tienes un mensaje en tu Buzon IMSS" in texto and "06/12/2026 a las 19:30" in texto
    assert "ÑÑÑ&991231ZZ9" in texto
    assert set(texto) <= GSM7 and len(texto) <= MAXIMO_SMS, (len(texto), texto)


@pytest.mark.parametrize("canal", ["correo", "sms"])
@pytest.mark.parametrize("datos", [{"rfc": "EDE0101013A2"}, {"depositada_en": "2026-12-07T01:30:00+00:00"},
                                   {"rfc": "EDE0101013A2", "depositada_en": "2026-12-07T01:30:00"}])
def test_an_aviso_without_its_rfc_or_a_zoned_date_is_a_permanent_failure(canal, datos):
    with pytest.raises(FallaPermanente):
        renderizar(canal, "aviso_notificacion", datos, url_publica=URL_PUBLICA)


def test_the_aviso_by_email_needs_the_portal_address():
    with pytest.raises(FallaPermanente, match="BUZON_PUBLIC_URL"):
        renderizar("correo", "aviso_notificacion", AVISO)
