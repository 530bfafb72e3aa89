"""Step 2 of the guide end to end: contact means registered through the gateway, validated with the link and
the code that reach the development mail and SMS sinks, as a person would."""
import re
import time

import pytest
import requests

from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

CODIGO = re.compile(r"(?<!\d)\d{5}(?!\d)")


@pytest.fixture(scope="module")
def particular(sistema):
    emitido = sistema.pki.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")
    return sistema.login(emitido)


@pytest.fixture(scope="module")
def patron(sistema):
    emitido = sistema.pki.emitir("EDE0101013A2", "EMPRESA DE DEMOSTRACION SA DE CV",
                                 rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09")
    return sistema.login(emitido)


def registrar(sistema, cabecera, mecanismo, valor, **extra):
    return requests.post(f"{sistema.api}/medios-contacto", headers=cabecera,
                         json={"mecanismo": mecanismo, "valor": valor, **extra})


def medio(sistema, cabecera, medio_id, todos=False):
    medios = requests.get(f"{sistema.api}/medios-contacto", headers=cabecera,
                          params={"estado": "todos"} if todos else None).json()["medios"]
    return next((m for m in medios if m["id"] == medio_id), None)


def test_an_email_is_validated_with_the_link_it_receives(sistema, particular):
    respuesta = registrar(sistema, particular, "correo", "  Ana.Martinez@Example.MX ")
    assert respuesta.status_code == 201, respuesta.text
    registrado = respuesta.json()
    assert (registrado["estado"], registrado["valor"], registrado["registros_patronales"]) == (
        "pendiente", "ana.martinez@example.mx", [])
    assert registrado["folio"] and registrado["registrado_en"]

    correo = esperar(lambda: sistema.correos("ana.martinez@example.mx"))[0]
    enlace = sistema.enlace_de_validacion(correo)
    assert "aquí" in correo["texto"]
    pagina = requests.get(enlace)
    assert pagina.status_code == 200 and "text/html" in pagina.headers["Content-Type"]
    assert "validado" in pagina.text and "Cerrar" in pagina.text
    assert medio(sistema, particular, registrado["id"])["estado"] == "validado"
    confirmacion = esperar(lambda: len(sistema.correos("ana.martinez@example.mx")) >= 2)
    assert confirmacion

    otra_vez = requests.get(enlace)
    assert otra_vez.status_code == 409 and "ya había sido validado" in otra_vez.text


def test_a_mobile_is_validated_with_the_code_it_receives(sistema, particular):
    registrado = registrar(sistema, particular, "telefono", "55 1234 5678").json()
    assert (registrado["estado"], registrado["valor"]) == ("pendiente", "5512345678")
    sms = esperar(lambda: sistema.sms("+525512345678"))[0]
    assert sms["from"] == "BUZON IMSS"
    codigos = CODIGO.findall(sms["text"])
    assert len(codigos) == 1
    incorrecto = "00000" if codigos[0] != "00000" else "11111"
    fallo = requests.post(f"{sistema.api}/medios-contacto/{registrado['id']}/validacion", headers=particular,
                          json={"codigo": incorrecto})
    assert fallo.status_code == 422
    assert fallo.json()["error"]["codigo"] == "codigo_incorrecto" and fallo.json()["error"]["intentos_restantes"] >= 1
    validado = requests.post(f"{sistema.api}/medios-contacto/{registrado['id']}/validacion", headers=particular,
                             json={"codigo": codigos[0]})
    assert validado.status_code == 200 and validado.json()["estado"] == "validado"
    assert esperar(lambda: len(sistema.sms("+525512345678")) >= 2)


def test_a_link_past_the_window_says_so_and_the_medio_lapses(sistema, particular):
    registrado = registrar(sistema, particular, "correo", "tarde@example.mx").json()
    enlace = sistema.enlace_de_validacion(esperar(lambda: sistema.correos("tarde@example.mx"))[0])
    time.sleep(sistema.ventana_s + 1)
    pagina = requests.get(enlace)
    assert pagina.status_code == 410 and "venció" in pagina.text
    assert medio(sistema, particular, registrado["id"]) is None
    assert medio(sistema, particular, registrado["id"], todos=True)["estado"] == "baja_vencimiento"


def test_an_sms_provider_that_fails_twice_delivers_once(sistema, patron):
    sistema.fallar_sms(2)
    registrado = registrar(sistema, patron, "telefono", "5587654321").json()
    recibidos = esperar(lambda: sistema.sms("+525587654321"), plazo=30)
    time.sleep(2)  # a duplicate, if any, would come now
    recibidos = sistema.sms("+525587654321")
    assert len(recibidos) == 1
    assert sistema.fallas_sms_pendientes() == 0  # both failures were really answered
    assert registrado["estado"] == "pendiente"


def test_a_patron_registers_a_medio_for_all_its_registros_patronales(sistema, patron):
    rps = requests.get(f"{sistema.api}/registros-patronales", headers=patron).json()["registros_patronales"]
    assert {rp["registro_patronal"] for rp in rps} == {"Y6012345107", "E8512345100"}
    registrado = registrar(sistema, patron, "correo", "rh@empresa.mx", registros_patronales=["*"]).json()
    assert sorted(registrado["registros_patronales"]) == ["E8512345100", "Y6012345107"]
    ajeno = registrar(sistema, patron, "correo", "otro@empresa.mx", registros_patronales=["Z0000000001"])
    assert (ajeno.status_code, ajeno.json()["error"]["codigo"]) == (422, "registro_patronal_ajeno")


def test_a_particular_has_no_registros_patronales(sistema, particular):
    respuesta = registrar(sistema, particular, "correo", "rp@example.mx", registros_patronales=["*"])
    assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (422, "sin_registros_patronales")
