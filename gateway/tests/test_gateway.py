"""The gateway over real RabbitMQ and PostgreSQL: the Session calls of API.md, its error shapes and limits."""
import datetime as dt
import json
from importlib.metadata import entry_points

import pytest
import requests
from nameko.testing.utils import find_free_port
from prometheus_client import REGISTRY

from buzon_auth.service import Servicio as Auth
from buzon_dev.pruebas import b64, firmar
from buzon_gateway.service import Gateway

SERVICIOS = {ep.name: ep for ep in entry_points(group="buzon.servicios") if ep.name not in ("auth", "gateway")}


def arrancar(container_factory, config_nameko, otros) -> tuple[str, dict]:
    """auth, the given other services and the gateway on a free port."""
    puerto = find_free_port()
    config = {**config_nameko, "WEB_SERVER_ADDRESS": f"127.0.0.1:{puerto}"}
    contenedores = {"auth": container_factory(Auth, config)}
    for nombre in otros:
        contenedores[nombre] = container_factory(SERVICIOS[nombre].load(), config)
    contenedores["gateway"] = container_factory(Gateway, config)
    for contenedor in contenedores.values():
        contenedor.start()
    return f"http://127.0.0.1:{puerto}", contenedores


@pytest.fixture
def url(entorno_auth, container_factory, config_nameko):
    """The session calls need only auth behind the gateway (the acuses' renderers take seconds to start)."""
    return arrancar(container_factory, config_nameko, ())[0]


@pytest.fixture
def sistema(entorno_auth, entorno_documentos, container_factory, config_nameko, monkeypatch):
    """Every declared service behind the gateway."""
    monkeypatch.setenv("BUZON_ACUSES_PROCESOS", "1")
    return arrancar(container_factory, config_nameko, SERVICIOS)


def error_de(respuesta):
    cuerpo = respuesta.json()
    assert set(cuerpo) == {"error"} and {"codigo", "mensaje"} <= set(cuerpo["error"])
    assert cuerpo["error"]["mensaje"].strip()
    return cuerpo["error"]["codigo"]


def nuevo_reto(url):
    respuesta = requests.post(f"{url}/api/v1/sesiones/retos")
    assert respuesta.status_code == 201
    return respuesta.json()["reto"]


def iniciar(url, emitido, reto=None, firma=None):
    reto = reto or nuevo_reto(url)
    return requests.post(f"{url}/api/v1/sesiones", json={
        "certificado": b64(emitido.cer_der), "reto": reto, "firma": firma or firmar(emitido, reto)})


def test_login_session_and_logout(url, efirma_dev_fisica):
    reto = requests.post(f"{url}/api/v1/sesiones/retos")
    assert reto.status_code == 201
    cuerpo = reto.json()
    assert set(cuerpo) == {"reto", "expira_en"}
    expira = dt.datetime.fromisoformat(cuerpo["expira_en"])
    assert expira.utcoffset() is not None
    assert dt.timedelta(0) < expira - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=5)

    sesion = iniciar(url, efirma_dev_fisica, cuerpo["reto"])
    assert sesion.status_code == 201, sesion.text
    datos = sesion.json()
    assert set(datos) == {"token", "expira_en", "rfc", "curp", "nombre", "tipo_persona", "rfc_representante",
                          "numero_certificado"}
    assert (datos["rfc"], datos["curp"], datos["tipo_persona"], datos["rfc_representante"]) == (
        "MAVA800101RS5", "MAVA800101MDFRRN09", "fisica", None)
    assert datos["nombre"] == "ANA MARIA MARTINEZ VARGAS"
    assert datos["numero_certificado"] == efirma_dev_fisica.numero_certificado

    cabecera = {"Authorization": f"Bearer {datos['token']}"}
    actual = requests.get(f"{url}/api/v1/sesiones/actual", headers=cabecera)
    assert actual.status_code == 200
    assert actual.json() == {k: v for k, v in datos.items() if k not in ("token", "expira_en")}

    assert requests.delete(f"{url}/api/v1/sesiones/actual", headers=cabecera).status_code == 204
    despues = requests.get(f"{url}/api/v1/sesiones/actual", headers=cabecera)
    assert despues.status_code == 401 and error_de(despues) == "no_autenticado"


def test_a_persona_moral_logs_in_with_its_representative(url, efirma_dev_moral):
    datos = iniciar(url, efirma_dev_moral).json()
    assert (datos["rfc"], datos["rfc_representante"], datos["tipo_persona"]) == ("EDE0101013A2", "MAVA800101RS5", "moral")


@pytest.mark.parametrize("cabeceras", [{}, {"Authorization": "Bearer inventado"}, {"Authorization": "Basic eA=="}])
def test_calls_without_a_valid_token_are_401(url, cabeceras):
    for metodo in ("get", "delete"):
        respuesta = requests.request(metodo, f"{url}/api/v1/sesiones/actual", headers=cabeceras)
        assert respuesta.status_code == 401 and error_de(respuesta) == "no_autenticado"


def test_every_answer_is_counted_by_its_status_code(url):
    def contadas(codigo: str) -> float:
        return REGISTRY.get_sample_value("buzon_http_respuestas_total", {"codigo": codigo}) or 0.0

    antes = {codigo: contadas(codigo) for codigo in ("201", "401")}
    assert requests.post(f"{url}/api/v1/sesiones/retos").status_code == 201
    for _ in range(2):
        assert requests.get(f"{url}/api/v1/sesiones/actual").status_code == 401
    assert {codigo: contadas(codigo) - antes[codigo] for codigo in antes} == {"201": 1, "401": 2}


def test_a_challenge_is_spent_by_a_failed_attempt(url, efirma_dev_fisica):
    reto = nuevo_reto(url)
    fallido = iniciar(url, efirma_dev_fisica, reto, firma=firmar(efirma_dev_fisica, "otra cosa"))
    assert fallido.status_code == 401 and error_de(fallido) == "firma_invalida"
    repetido = iniciar(url, efirma_dev_fisica, reto)
    assert repetido.status_code == 401 and error_de(repetido) == "reto_invalido"


def test_certificate_refusals_answer_401_with_their_code(url, pki_dev, tmp_path):
    from buzon_dev.pki import PKI

    ahora = dt.datetime.now(dt.timezone.utc)
    rfc, nombre, curp = "GOCJ750505AB1", "JUAN GOMEZ CRUZ", "GOCJ750505HDFMRN01"
    casos = {
        "certificado_vencido": pki_dev.emitir(rfc, nombre, curp, no_antes=ahora - dt.timedelta(days=900),
                                              no_despues=ahora - dt.timedelta(days=1)),
        "certificado_no_vigente": pki_dev.emitir(rfc, nombre, curp, no_antes=ahora + dt.timedelta(days=1),
                                                 no_despues=ahora + dt.timedelta(days=900)),
        "no_es_efirma": pki_dev.emitir(rfc, nombre, curp, tipo="csd"),
        "certificado_no_confiable": PKI.abrir(tmp_path / "impostora").emitir(rfc, nombre, curp),
    }
    revocado = pki_dev.emitir(rfc, nombre, curp)
    pki_dev.revocar(revocado.numero_certificado)
    casos["certificado_revocado"] = revocado
    for codigo, emitido in casos.items():
        respuesta = iniciar(url, emitido)
        assert (respuesta.status_code, error_de(respuesta)) == (401, codigo)


def test_not_a_certificate_is_certificado_invalido(url):
    reto = nuevo_reto(url)
    respuesta = requests.post(f"{url}/api/v1/sesiones", json={"certificado": b64(b"no soy un certificado"),
                                                              "reto": reto, "firma": b64(b"x")})
    assert (respuesta.status_code, error_de(respuesta)) == (401, "certificado_invalido")


@pytest.mark.parametrize("cuerpo", [
    b"no es json",
    b"[1, 2]",
    b'{"certificado": "QUJD", "reto": "x"}',
    b'{"certificado": 5, "reto": "x", "firma": "QUJD"}',
    b'{"certificado": "no base64!", "reto": "x", "firma": "QUJD"}',
    b'{"certificado": "QUJD", "reto": "x", "firma": "***"}',
    b'{"certificado": "", "reto": "x", "firma": "QUJD"}',
    "{\"certificado\": \"\xff\"}".encode("latin-1"),
])
def test_malformed_bodies_are_400(url, cuerpo):
    respuesta = requests.post(f"{url}/api/v1/sesiones", data=cuerpo, headers={"Content-Type": "application/json"})
    assert (respuesta.status_code, error_de(respuesta)) == (400, "solicitud_invalida")


def test_a_malformed_body_does_not_spend_the_challenge(url, efirma_dev_fisica):
    reto = nuevo_reto(url)
    requests.post(f"{url}/api/v1/sesiones", json={"reto": reto})
    assert iniciar(url, efirma_dev_fisica, reto).status_code == 201


def test_bodies_over_one_mebibyte_are_413(url):
    grande = json.dumps({"certificado": "A" * (1024 * 1024), "reto": "x", "firma": "QUJD"})
    respuesta = requests.post(f"{url}/api/v1/sesiones", data=grande, headers={"Content-Type": "application/json"})
    assert (respuesta.status_code, error_de(respuesta)) == (413, "solicitud_demasiado_grande")


@pytest.mark.parametrize("metodo,ruta", [("get", "/api/v1/nada"), ("get", "/favicon.ico"),
                                          ("get", "/api/v1/acuses/REG-2026-00000001%00/verificacion"),
                                          ("post", "/api/v1/medios-contacto/" + "x" * 300 + "/validacion")])
def test_unknown_routes_and_bad_path_values_are_404_in_the_contract_shape(url, metodo, ruta):
    respuesta = requests.request(metodo, url + ruta)
    assert (respuesta.status_code, error_de(respuesta)) == (404, "no_encontrado")
    assert respuesta.headers["X-Content-Type-Options"] == "nosniff"


def test_a_browser_gets_a_page_for_a_path_that_does_not_exist(url):
    respuesta = requests.get(url + "/nada/%00", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert respuesta.status_code == 404 and respuesta.headers["Content-Type"].startswith("text/html")
    assert respuesta.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("metodo,ruta,permitidos", [("get", "/api/v1/sesiones", {"POST"}),
                                                    ("put", "/api/v1/sesiones/actual", {"GET", "HEAD", "DELETE"}),
                                                    ("patch", "/api/v1/medios-contacto/x", {"DELETE"})])
def test_a_method_a_route_lacks_is_405_with_allow(url, metodo, ruta, permitidos):
    respuesta = requests.request(metodo, url + ruta)
    assert (respuesta.status_code, error_de(respuesta)) == (405, "metodo_no_permitido")
    assert set(respuesta.headers["Allow"].split(", ")) == permitidos


def test_openapi_document_is_served(url):
    respuesta = requests.get(f"{url}/api/v1/openapi.json")
    assert respuesta.status_code == 200
    assert "/api/v1/sesiones" in respuesta.json()["paths"]


def test_health_names_every_service_and_the_one_that_is_down(sistema):
    url, contenedores = sistema
    respuesta = requests.get(f"{url}/health")
    assert respuesta.status_code == 200
    nombres = {"auth"} | {ep.load().name for ep in SERVICIOS.values()}
    assert respuesta.json() == {"estado": "ok", "servicios": {n: "ok" for n in nombres}}
    assert {"auth", "contactos", "notificaciones", "activacion", "acuses"} <= nombres
    contenedores["acuses"].stop()
    caido = requests.get(f"{url}/health")
    assert caido.status_code == 503
    assert caido.json()["servicios"]["acuses"] != "ok"
    assert caido.json()["servicios"]["auth"] == "ok"


def test_metrics_count_calls_per_entrypoint(url):
    requests.post(f"{url}/api/v1/sesiones/retos")
    texto = requests.get(f"{url}/metrics").text
    assert 'buzon_llamadas_total{entrypoint="crear_reto",resultado="ok",servicio="gateway"}' in texto
    assert 'buzon_llamadas_total{entrypoint="crear_reto",resultado="ok",servicio="auth"}' in texto
    assert "buzon_llamada_duracion_segundos_bucket" in texto
