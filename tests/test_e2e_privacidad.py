"""Privacy through the gateway of the system `make up` started: an acuse is verified only with its código de
verificación (the folio alone says nothing), failed guesses are limited per client, the owner reads the codes,
metrics are not public, and every answer carries its security headers."""
import pytest
import requests

from buzon_dev.pruebas import esperar

pytestmark = pytest.mark.e2e

LIMITE = 60  # BUZON_LIMITE_VERIFICACIONES_POR_MINUTO's default, which the system under test keeps


@pytest.fixture(scope="module")
def acuse(sistema):
    """An acuse de registro of a fresh person: its folio, its code (read as its owner) and its PDF."""
    emitido = sistema.pki.emitir("PRIV800101AB1", "PAULA RIVERA VEGA", "PIVP800101MDFRVL04")
    cabecera = sistema.login(emitido)
    medio = requests.post(f"{sistema.api}/medios-contacto", headers=cabecera,
                          json={"mecanismo": "correo", "valor": "paula@example.mx"}).json()

    def codigo():
        medios = requests.get(f"{sistema.api}/medios-contacto", headers=cabecera).json()["medios"]
        return next(m for m in medios if m["id"] == medio["id"])["codigos_verificacion"]["registro"]

    pdf = esperar(lambda: (r := requests.get(f"{sistema.api}/medios-contacto/{medio['id']}/acuses/registro",
                                            headers=cabecera)).status_code == 200 and r, plazo=60)
    return {"folio": medio["folio"], "codigo": esperar(codigo), "pdf": pdf, "cabecera": cabecera}


def verificar(sistema, folio, codigo=None, cliente="198.51.100.1", **cabeceras):
    return requests.get(f"{sistema.api}/acuses/{folio}/verificacion", params={"codigo": codigo} if codigo else None,
                        headers={"X-Forwarded-For": cliente, **cabeceras})


def test_the_code_opens_the_verification_and_nothing_else_does(sistema, acuse):
    respuesta = verificar(sistema, acuse["folio"], acuse["codigo"])
    assert respuesta.status_code == 200
    assert respuesta.json()["folio"] == acuse["folio"] and respuesta.json()["sello_valido"] is True
    assert verificar(sistema, acuse["folio"], acuse["codigo"].lower()).status_code == 200
    fallidas = [verificar(sistema, acuse["folio"]), verificar(sistema, acuse["folio"], "A" * 16),
                verificar(sistema, "REG-1999-00000001", acuse["codigo"])]
    # No oracle: an unknown folio and a wrong code are the very same answer.
    assert {(r.status_code, r.text) for r in fallidas} == {(404, fallidas[0].text)}
    assert fallidas[0].json()["error"]["codigo"] == "no_encontrado"


def test_a_browser_gets_a_page_a_person_can_read(sistema, acuse):
    pagina = verificar(sistema, acuse["folio"], acuse["codigo"], Accept="text/html,application/xhtml+xml")
    assert pagina.status_code == 200 and pagina.headers["Content-Type"].startswith("text/html")
    for texto in ("Sello digital válido", acuse["folio"], "PRIV800101AB1", "Acuse de registro"):
        assert texto in pagina.text, texto
    assert pagina.headers["X-Frame-Options"] == "DENY" and pagina.headers["X-Content-Type-Options"] == "nosniff"
    desconocido = verificar(sistema, acuse["folio"], "B" * 16, Accept="text/html")
    assert desconocido.status_code == 404 and desconocido.headers["Content-Type"].startswith("text/html")


def test_failed_guesses_are_limited_per_client_and_an_ipv6_client_by_its_64(sistema, acuse):
    for i in range(LIMITE):
        # One /64: two addresses of the same subscriber count together.
        assert verificar(sistema, acuse["folio"], f"{i:016d}", cliente=f"2001:db8:5:6::{i % 2 + 1}").status_code == 404
    bloqueada = verificar(sistema, acuse["folio"], acuse["codigo"], cliente="2001:db8:5:6::99")
    assert (bloqueada.status_code, bloqueada.json()["error"]["codigo"]) == (429, "demasiadas_solicitudes")
    assert verificar(sistema, acuse["folio"], acuse["codigo"], cliente="2001:db8:5:7::1").status_code == 200
    assert verificar(sistema, acuse["folio"], acuse["codigo"], cliente="198.51.100.2").status_code == 200


def test_every_answer_carries_nosniff_and_pages_refuse_framing(sistema, acuse):
    assert acuse["pdf"].headers["X-Content-Type-Options"] == "nosniff"
    for respuesta in (requests.get(f"{sistema.api}/openapi.json"), requests.get(f"{sistema.api}/nada"),
                      requests.get(f"{sistema.url}/health")):
        assert respuesta.headers["X-Content-Type-Options"] == "nosniff"
        assert "X-Frame-Options" not in respuesta.headers
        # The system under test is reached over plain HTTP: no HSTS there.
        assert "Strict-Transport-Security" not in respuesta.headers
    inicio = requests.get(sistema.url + "/")
    assert inicio.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in inicio.headers[
        "Content-Security-Policy"]


def test_metrics_answer_only_allowed_networks(sistema):
    assert requests.get(f"{sistema.url}/metrics").status_code == 200
    ajena = requests.get(f"{sistema.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert (ajena.status_code, ajena.json()["error"]["codigo"]) == (404, "no_encontrado")
