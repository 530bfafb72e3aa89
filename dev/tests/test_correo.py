import argparse
import json
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest

from buzon_dev.correo import SumideroCorreo, enlazar, registrar_cli


@pytest.fixture
def sumidero(tmp_path):
    with SumideroCorreo(tmp_path / "correo") as sumidero:
        yield sumidero


def enviar(sumidero, mensaje):
    with smtplib.SMTP("127.0.0.1", sumidero.puerto_smtp, timeout=5) as smtp:
        smtp.send_message(mensaje)


def correo_de_validacion(para="ana.lopez@example.mx"):
    mensaje = EmailMessage()
    mensaje["From"] = "Buzón IMSS <no-responder@imss.gob.mx>"
    mensaje["To"] = para
    mensaje["Subject"] = "Validación de tu correo en el Buzón IMSS"
    mensaje["Message-ID"] = "<m-1@buzon.imss.gob.mx>"
    mensaje.set_content(
        "Hola, José Núñez:\nConfirma tu correo en https://buzon.example/validar?t=abc&x=1 antes de 72 horas.\n",
        cte="quoted-printable",
    )
    mensaje.add_alternative(
        "<p>Hola, José Núñez: <a href='https://buzon.example/validar?t=abc&amp;x=1'>confirma</a></p>",
        subtype="html",
        cte="quoted-printable",
    )
    return mensaje


def leer_json(url):
    with urllib.request.urlopen(url, timeout=5) as respuesta:
        return json.load(respuesta)


def test_guarda_y_decodifica_un_mensaje_multiparte(sumidero):
    enviar(sumidero, correo_de_validacion())

    [mensaje] = sumidero.mensajes()
    assert mensaje["para"] == ["ana.lopez@example.mx"]
    assert mensaje["de"] == "no-responder@imss.gob.mx"
    assert mensaje["asunto"] == "Validación de tu correo en el Buzón IMSS"
    assert "José Núñez" in mensaje["texto"]
    assert "https://buzon.example/validar?t=abc&x=1" in mensaje["texto"]
    assert "\r" not in mensaje["texto"]  # SMTP's CRLF: a link copied from a line must not carry a \r
    assert "José Núñez" in mensaje["html"]
    assert mensaje["id"] and mensaje["fecha"]
    assert mensaje["message_id"] == "<m-1@buzon.imss.gob.mx>"
    assert list((sumidero.carpeta).glob("*.eml"))


def test_la_api_filtra_por_destinatario_y_ordena_del_mas_reciente(sumidero):
    enviar(sumidero, correo_de_validacion("ana.lopez@example.mx"))
    enviar(sumidero, correo_de_validacion("ana+rh@example.mx"))
    enviar(sumidero, correo_de_validacion("ANA.LOPEZ@example.mx"))

    base = f"http://127.0.0.1:{sumidero.puerto_web}"
    todos = leer_json(f"{base}/api/mensajes")["mensajes"]
    assert [m["para"] for m in todos] == [["ANA.LOPEZ@example.mx"], ["ana+rh@example.mx"], ["ana.lopez@example.mx"]]
    assert leer_json(f"{base}/api/mensajes?para=ana.lopez%40example.mx")["mensajes"] == [todos[0], todos[2]]
    # Sin codificar, el "+" llega como espacio: el sumidero lo entiende igual.
    assert leer_json(f"{base}/api/mensajes?para=ana+rh@example.mx")["mensajes"] == [todos[1]]
    assert set(todos[0]) == {"id", "fecha", "de", "para", "asunto", "message_id", "texto", "html"}


def test_la_pagina_lista_y_muestra_el_mensaje(sumidero):
    enviar(sumidero, correo_de_validacion())
    [mensaje] = sumidero.mensajes()
    base = f"http://127.0.0.1:{sumidero.puerto_web}"

    with urllib.request.urlopen(base + "/", timeout=5) as respuesta:
        lista = respuesta.read().decode()
    assert "Validación de tu correo en el Buzón IMSS" in lista
    assert f"/mensajes/{mensaje['id']}" in lista

    with urllib.request.urlopen(f"{base}/mensajes/{mensaje['id']}", timeout=5) as respuesta:
        detalle = respuesta.read().decode()
    assert '<a href="https://buzon.example/validar?t=abc&amp;x=1">' in detalle
    assert "<iframe sandbox" in detalle
    # El HTML del mensaje solo aparece escapado o dentro del iframe, nunca como marcado de la página.
    assert "<p>Hola, José" not in detalle

    with urllib.request.urlopen(f"{base}/mensajes/{mensaje['id']}/html", timeout=5) as respuesta:
        assert respuesta.headers["Content-Security-Policy"] == "sandbox"


def test_id_desconocido_da_404(sumidero):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{sumidero.puerto_web}/mensajes/..%2Findice", timeout=5)
    assert error.value.code == 404


def test_enlazar_escapa_el_texto():
    assert enlazar("<b> ve a https://x.mx/a?b=1&c=2.") == (
        '&lt;b&gt; ve a <a href="https://x.mx/a?b=1&amp;c=2">https://x.mx/a?b=1&amp;c=2</a>.'
    )


def test_cli_leer_desde_otro_proceso(sumidero, capsys):
    enviar(sumidero, correo_de_validacion())
    parser = argparse.ArgumentParser()
    registrar_cli(parser.add_subparsers())

    args = parser.parse_args(["correo", "leer", "--carpeta", str(sumidero.carpeta), "--ultimo"])
    assert args.func(args) == 0
    salida = capsys.readouterr().out
    assert "Asunto: Validación de tu correo en el Buzón IMSS" in salida
    assert "José Núñez" in salida

    args = parser.parse_args(["correo", "leer", "--carpeta", str(sumidero.carpeta), "--para", "otra@x.mx", "--ultimo"])
    assert args.func(args) == 1
