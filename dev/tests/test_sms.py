import argparse
import json
import time

import pytest
import requests

from buzon_dev.sms import SumideroSms, registrar_cli

TOKEN = "secreto-de-prueba"


@pytest.fixture
def sumidero(tmp_path):
    with SumideroSms(tmp_path / "sms", token=TOKEN) as sumidero:
        yield sumidero


def sms(id_mensaje="m-1", to="+525512345678", text="Tu código de validación es 48213."):
    return {"id": id_mensaje, "to": to, "from": "BUZON IMSS", "text": text}


def enviar(sumidero, cuerpo, token=TOKEN):
    cabeceras = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(sumidero.url, json=cuerpo, headers=cabeceras, timeout=5)


def test_acepta_y_guarda_segun_el_protocolo(sumidero):
    respuesta = enviar(sumidero, sms())

    assert respuesta.status_code == 202
    assert respuesta.json() == {"id": "m-1"}
    [guardado] = sumidero.mensajes()
    assert {k: guardado[k] for k in ("id", "to", "from", "text")} == sms()
    assert guardado["fecha"]
    assert (sumidero.carpeta / "mensajes.jsonl").exists()


@pytest.mark.parametrize("token", [None, "otro"])
def test_sin_token_valido_da_401(sumidero, token):
    respuesta = enviar(sumidero, sms(), token=token)

    assert respuesta.status_code == 401
    assert respuesta.json()["error"]["codigo"] == "no_autenticado"
    assert sumidero.mensajes() == []


@pytest.mark.parametrize(
    "cuerpo",
    [
        [],
        {"to": "+525512345678", "from": "BUZON IMSS", "text": "hola"},
        sms(to="5512345678"),
        sms(to="+52551234567"),
        sms(to="+15551234567"),
        {**sms(), "text": 48213},
    ],
)
def test_cuerpo_mal_formado_da_400(sumidero, cuerpo):
    respuesta = enviar(sumidero, cuerpo)

    assert respuesta.status_code == 400
    assert respuesta.json()["error"]["codigo"] == "solicitud_invalida"
    assert sumidero.mensajes() == []


def test_cuerpo_que_no_es_json_da_400(sumidero):
    respuesta = requests.post(
        sumidero.url,
        data="{no es json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert respuesta.status_code == 400


def test_fallas_simuladas_no_se_guardan(sumidero):
    sumidero.fallar(2)

    estados = [enviar(sumidero, sms()).status_code for _ in range(3)]

    assert estados == [503, 503, 202]
    assert len(sumidero.mensajes()) == 1


def test_fallas_por_http_de_control(sumidero):
    base = sumidero.url.removesuffix("/sms")
    assert requests.post(f"{base}/control", json={"fallar": 1, "estado": 429}, timeout=5).json()["fallar"] == 1
    assert enviar(sumidero, sms()).status_code == 429
    assert enviar(sumidero, sms()).status_code == 202

    requests.post(f"{base}/control", json={"fallar": 5}, timeout=5)
    requests.post(f"{base}/control", json={"fallar": 0}, timeout=5)
    assert enviar(sumidero, sms()).status_code == 202
    assert requests.post(f"{base}/control", json={"fallar": -1}, timeout=5).status_code == 400


def test_fallas_durante_unos_segundos(sumidero):
    base = sumidero.url.removesuffix("/sms")
    respuesta = requests.post(f"{base}/control", json={"fallar_s": 0.6, "estado": 503}, timeout=5).json()
    assert 0 < respuesta["fallar_s"] <= 0.6
    assert [enviar(sumidero, sms()).status_code for _ in range(3)] == [503, 503, 503]
    time.sleep(0.7)
    assert enviar(sumidero, sms()).status_code == 202
    assert requests.post(f"{base}/control", json={"fallar_s": -1}, timeout=5).status_code == 400
    assert requests.post(f"{base}/control", json={}, timeout=5).status_code == 400


def test_un_id_repetido_se_guarda_dos_veces(sumidero):
    enviar(sumidero, sms("m-7", text="Código 11111."))
    enviar(sumidero, sms("m-7", text="Código 11111."))

    assert [m["id"] for m in sumidero.mensajes()] == ["m-7", "m-7"]


def test_api_y_pagina_filtran_por_numero_del_mas_reciente(sumidero):
    enviar(sumidero, sms("a", to="+525512345678", text="SMS viejo"))
    enviar(sumidero, sms("b", to="+528112345678", text="otro número"))
    enviar(sumidero, sms("c", to="+525512345678", text="SMS nuevo"))
    base = sumidero.url.removesuffix("/sms")

    todos = requests.get(f"{base}/api/mensajes", timeout=5).json()["mensajes"]
    assert [m["id"] for m in todos] == ["c", "b", "a"]
    assert set(todos[0]) == {"id", "fecha", "to", "from", "text"}
    filtrados = requests.get(f"{base}/api/mensajes", params={"to": "+525512345678"}, timeout=5).json()
    assert [m["id"] for m in filtrados["mensajes"]] == ["c", "a"]
    # Sin codificar, el "+" llega como espacio: el sumidero lo entiende igual.
    sin_codificar = requests.get(f"{base}/api/mensajes?to=+525512345678", timeout=5).json()
    assert sin_codificar == filtrados

    pagina = requests.get(f"{base}/", timeout=5).text
    assert pagina.index("SMS nuevo") < pagina.index("SMS viejo")
    assert "otro número" in pagina


def test_sin_token_configurado_no_exige_autorizacion(tmp_path):
    with SumideroSms(tmp_path) as abierto:
        assert enviar(abierto, sms(), token=None).status_code == 202


def test_cli_leer(sumidero, capsys):
    enviar(sumidero, sms())
    parser = argparse.ArgumentParser()
    registrar_cli(parser.add_subparsers())

    args = parser.parse_args(["sms", "leer", "--carpeta", str(sumidero.carpeta), "--to", "+525512345678", "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["mensajes"][0]["text"] == "Tu código de validación es 48213."

    args = parser.parse_args(["sms", "leer", "--carpeta", str(sumidero.carpeta), "--to", "+525500000000", "--ultimo"])
    assert args.func(args) == 1
