"""Idempotency-Key over HTTP, with the real auth and contactos behind the gateway: a POST repeated with the same key
and body (a client retrying after a timeout) gets the first 201 again and registers one medio.

acuses is a stand-in (the real one's renderers take seconds to start): only the codes the answer carries."""
import pytest
import requests

from buzon_auth.service import Servicio as Auth
from buzon_comun.servicio import rpc
from buzon_contactos.service import Servicio as Contactos
from buzon_dev.pruebas import b64, firmar
from buzon_gateway.service import Gateway


class AcusesFalso:
    name = "acuses"

    @rpc
    def codigos(self, rfc, folios):
        return {"codigos": {}}


@pytest.fixture
def api(entorno_auth, levantar, motor_de):
    motor_de("contactos")
    return levantar(Auth, Contactos, AcusesFalso, Gateway, BUZON_SECRETO_CODIGOS="secreto de las pruebas") + "/api/v1"


def sesion(api, emitido) -> dict:
    reto = requests.post(f"{api}/sesiones/retos").json()["reto"]
    token = requests.post(f"{api}/sesiones", json={"certificado": b64(emitido.cer_der), "reto": reto,
                                                   "firma": firmar(emitido, reto)}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def medios(api, cabecera) -> list[dict]:
    return requests.get(f"{api}/medios-contacto", headers=cabecera).json()["medios"]


def test_a_post_repeated_with_its_key_gets_the_first_201_and_registers_once(api, efirma_dev_fisica):
    cabecera = sesion(api, efirma_dev_fisica)
    con_clave = {**cabecera, "Idempotency-Key": "reintento-de-prueba-1"}
    cuerpo = {"mecanismo": "correo", "valor": "ana@example.com"}
    primera = requests.post(f"{api}/medios-contacto", headers=con_clave, json=cuerpo)
    assert primera.status_code == 201, primera.text
    repetida = requests.post(f"{api}/medios-contacto", headers=con_clave, json=cuerpo)
    assert (repetida.status_code, repetida.json()) == (201, primera.json())
    assert [m["id"] for m in medios(api, cabecera)] == [primera.json()["id"]]

    otra = requests.post(f"{api}/medios-contacto", headers=con_clave, json={**cuerpo, "valor": "otra@example.com"})
    assert otra.status_code == 409
    assert otra.json()["error"]["codigo"] == "idempotencia_conflicto"
    assert otra.json()["error"]["mensaje"].startswith("Esa clave de idempotencia ya se usó con otra solicitud")
    assert len(medios(api, cabecera)) == 1


def test_a_key_is_one_persons_own(api, efirma_dev_fisica, efirma_dev_moral):
    clave = {"Idempotency-Key": "la-misma-clave"}
    cuerpo = {"mecanismo": "telefono", "valor": "5512345678"}
    una = requests.post(f"{api}/medios-contacto", headers={**sesion(api, efirma_dev_fisica), **clave}, json=cuerpo)
    otra = requests.post(f"{api}/medios-contacto", headers={**sesion(api, efirma_dev_moral), **clave}, json=cuerpo)
    assert (una.status_code, otra.status_code) == (201, 201)
    assert una.json()["id"] != otra.json()["id"]


def test_without_a_key_each_post_is_its_own_request(api, efirma_dev_fisica):
    cabecera = sesion(api, efirma_dev_fisica)
    cuerpo = {"mecanismo": "correo", "valor": "ana@example.com"}
    assert requests.post(f"{api}/medios-contacto", headers=cabecera, json=cuerpo).status_code == 201
    repetida = requests.post(f"{api}/medios-contacto", headers=cabecera, json=cuerpo)
    assert (repetida.status_code, repetida.json()["error"]["codigo"]) == (422, "medio_duplicado")


@pytest.mark.parametrize("clave", ["", "x" * 201])
def test_a_key_out_of_shape_is_400(api, efirma_dev_fisica, clave):
    cabecera = {**sesion(api, efirma_dev_fisica), "Idempotency-Key": clave}
    for ruta, cuerpo in (("medios-contacto", {"mecanismo": "correo", "valor": "ana@example.com"}),
                         ("activacion", {"certificado": b64(b"cer"), "firma": b64(b"firma")})):
        respuesta = requests.post(f"{api}/{ruta}", headers=cabecera, json=cuerpo)
        assert (respuesta.status_code, respuesta.json()["error"]["codigo"]) == (400, "solicitud_invalida")
    assert medios(api, cabecera) == []


def test_a_key_of_200_latin_characters_is_taken(api, efirma_dev_fisica):
    cabecera = {**sesion(api, efirma_dev_fisica), "Idempotency-Key": "ñ" * 200}
    cuerpo = {"mecanismo": "correo", "valor": "ana@example.com"}
    # requests sends header values in Latin-1, as any HTTP client may.
    primera = requests.post(f"{api}/medios-contacto", headers=cabecera, json=cuerpo)
    assert primera.status_code == 201, primera.text
    assert requests.post(f"{api}/medios-contacto", headers=cabecera, json=cuerpo).json() == primera.json()
