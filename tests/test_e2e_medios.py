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


# --- resending, the history of bajas, the notices of a change (issue 12) -----------------------------------------

GSM7_SIN_ACENTOS = set("@£$¥\n\r _!\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZÑabcdefghijklmnopqrstuvwxyzñ")


@pytest.fixture(scope="module")
def duena(sistema):
    """A person whose email and mobile are validated: the notices of any change to her medios reach them."""
    emitido = sistema.pki.emitir("ROLE850505AB1", "ROSA LOPEZ ESTRADA", "ROLE850505MDFPSS08")
    cabecera = sistema.login(emitido)
    sistema.validar_medios(cabecera, "rosa.duena@example.mx", "5544332211")
    return cabecera


def reenviar(sistema, cabecera, medio_id, **encabezados):
    return requests.post(f"{sistema.api}/medios-contacto/{medio_id}/reenvio", headers={**cabecera, **encabezados})


def codigo_de(sms):
    [codigo] = CODIGO.findall(sms["text"])
    return codigo


def en_orden(mensajes, cuantos):
    """The sinks list the newest first: the first `cuantos` in the order they arrived, once they are there."""
    return list(reversed(mensajes))[:cuantos] if len(mensajes) >= cuantos else None


def test_a_resent_code_replaces_the_old_one_and_every_sms_is_one_gsm7_segment(sistema):
    cabecera = sistema.login(sistema.pki.emitir("REEN800101AB1", "RENE ENRIQUEZ NUÑEZ", "REEN800101HDFNXN05"))
    registrado = registrar(sistema, cabecera, "telefono", "5500001111").json()
    primero = esperar(lambda: sistema.sms("+525500001111"))[0]
    respuesta = reenviar(sistema, cabecera, registrado["id"])
    assert respuesta.status_code == 200, respuesta.text
    assert respuesta.json()["estado"] == "pendiente"
    segundo = esperar(lambda: en_orden(sistema.sms("+525500001111"), 2))[1]
    viejo, nuevo = codigo_de(primero), codigo_de(segundo)
    if viejo != nuevo:  # one chance in 100,000 that the new code is the old one
        fallo = requests.post(f"{sistema.api}/medios-contacto/{registrado['id']}/validacion", headers=cabecera,
                              json={"codigo": viejo})
        assert (fallo.status_code, fallo.json()["error"]["codigo"]) == (422, "codigo_incorrecto")
    validado = requests.post(f"{sistema.api}/medios-contacto/{registrado['id']}/validacion", headers=cabecera,
                             json={"codigo": nuevo})
    assert validado.status_code == 200 and validado.json()["estado"] == "validado"
    otra_vez = reenviar(sistema, cabecera, registrado["id"])
    assert (otra_vez.status_code, otra_vez.json()["error"]["codigo"]) == (409, "ya_validado")
    todos = esperar(lambda: en_orden(sistema.sms("+525500001111"), 3))
    for sms in todos:  # the codes and the confirmation, as the provider got them
        assert set(sms["text"]) <= GSM7_SIN_ACENTOS and len(sms["text"]) <= 160, sms["text"]
    assert all("No compartas este codigo" in sms["text"] for sms in todos[:2])


def test_a_resent_link_replaces_the_old_one_within_the_destinations_limit(sistema):
    cabecera = sistema.login(sistema.pki.emitir("LIMI800101AB1", "LIDIA MIRANDA", "LIMI800101MDFRRD02"))
    registrado = registrar(sistema, cabecera, "correo", "reenvio@example.mx").json()
    repetida = [reenviar(sistema, cabecera, registrado["id"], **{"Idempotency-Key": "reenvio-e2e"}) for _ in range(2)]
    assert [r.status_code for r in repetida] == [200, 200] and repetida[0].json() == repetida[1].json()
    assert repetida[0].json()["vence_en"] == registrado["vence_en"]  # an email's window runs from its registration
    viejo, nuevo = (sistema.enlace_de_validacion(c) for c in esperar(
        lambda: en_orden(sistema.correos("reenvio@example.mx"), 2)))
    assert requests.get(viejo).status_code == 404
    assert requests.get(nuevo).status_code == 200

    limitado = registrar(sistema, cabecera, "correo", "limite@example.mx").json()
    respuestas = [reenviar(sistema, cabecera, limitado["id"]).status_code for _ in range(10)]
    assert respuestas == [200] * 9 + [429]  # registration and resends share BUZON_LIMITE_MENSAJES_POR_DESTINO (10)
    esperar(lambda: len(sistema.correos("limite@example.mx")) >= 10)
    time.sleep(2)  # an extra copy, if any, would arrive now
    assert len(sistema.correos("limite@example.mx")) == 10
    assert len([c for c in sistema.correos("reenvio@example.mx") if "valida tu correo" in c["asunto"]]) == 2


def test_bajas_stay_in_the_history_with_their_acuse_de_baja(sistema, duena):
    registrado = registrar(sistema, duena, "correo", "historial.rosa@example.mx").json()
    enlace = sistema.enlace_de_validacion(esperar(lambda: sistema.correos("historial.rosa@example.mx"))[0])
    assert requests.get(enlace).status_code == 200
    baja = requests.delete(f"{sistema.api}/medios-contacto/{registrado['id']}", headers=duena).json()
    assert baja["estado"] == "baja" and baja["acuses"]["baja"] and baja["baja_en"]
    assert medio(sistema, duena, registrado["id"]) is None
    assert medio(sistema, duena, registrado["id"], todos=True)["acuses"] == baja["acuses"]
    pdf = esperar(lambda: (lambda r: r if r.status_code == 200 else None)(requests.get(
        f"{sistema.api}/medios-contacto/{registrado['id']}/acuses/baja", headers=duena)), plazo=60)
    assert pdf.content.startswith(b"%PDF")

    # The portal lists it in the history, with its acuse de baja to download.
    portal = {"buzon_sesion": duena["Authorization"].split()[1]}
    pagina = requests.get(f"{sistema.url}/medios-contacto", cookies=portal)
    vigentes, _, historial = pagina.text.partition('id="historial"')
    assert "historial.rosa@example.mx" not in vigentes and "historial.rosa@example.mx" in historial
    assert f'href="/medios-contacto/{registrado["id"]}/acuse/baja"' in historial
    descarga = requests.get(f"{sistema.url}/medios-contacto/{registrado['id']}/acuse/baja", cookies=portal)
    assert descarga.headers["Content-Type"] == "application/pdf" and descarga.content == pdf.content


def test_a_new_deleted_or_lapsed_medio_is_told_to_the_owners_validated_medios_once(sistema, duena):
    def avisos_correo(asunto, valor):
        return [c for c in sistema.correos("rosa.duena@example.mx")
                if asunto in c["asunto"] and valor in c["texto"]]

    def avisos_sms(texto):
        return [s for s in sistema.sms("+525544332211") if texto in s["text"]]

    intruso = registrar(sistema, duena, "correo", "intruso@example.mx").json()
    [registrado] = esperar(lambda: avisos_correo("se registró un medio de contacto", "intruso@example.mx"))
    assert "RFC: ROLE850505AB1 (ROSA LOPEZ ESTRADA)" in registrado["texto"]
    esperar(lambda: avisos_sms("se registro un correo electronico como medio de contacto del RFC ROLE850505AB1"))
    requests.delete(f"{sistema.api}/medios-contacto/{intruso['id']}", headers=duena)
    esperar(lambda: avisos_correo("se eliminó un medio de contacto", "intruso@example.mx"))
    esperar(lambda: avisos_sms("se elimino un correo electronico"))

    registrar(sistema, duena, "correo", "tarde.rosa@example.mx")
    time.sleep(sistema.ventana_s + 1)
    requests.get(f"{sistema.api}/medios-contacto", headers=duena)  # reading enforces the window
    [vencido] = esperar(lambda: avisos_correo("dado de baja por vencimiento", "tarde.rosa@example.mx"), plazo=30)
    assert "no se validó dentro del plazo" in vencido["texto"]
    esperar(lambda: avisos_sms("fue dado de baja por vencimiento"))
    time.sleep(2)  # a second copy of any notice, if there were one, would be here by now
    for asunto in ("se registró un medio de contacto", "se eliminó un medio de contacto"):
        assert len(avisos_correo(asunto, "intruso@example.mx")) == 1
    assert len(avisos_correo("dado de baja por vencimiento", "tarde.rosa@example.mx")) == 1
    assert len(avisos_sms("fue dado de baja por vencimiento")) == 1
    for sms in sistema.sms("+525544332211"):
        assert set(sms["text"]) <= GSM7_SIN_ACENTOS and len(sms["text"]) <= 160, sms["text"]
