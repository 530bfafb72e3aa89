"""The Buzón's notifications through the gateway, over real RabbitMQ and PostgreSQL: a depositing system known by
its key (BUZON_SISTEMAS_DEPOSITANTES), the deposit's larger body limit, and the addressee listing, opening with a
real e.firma and downloading; plus the key file's reading and the constant-time lookup, without a broker.

buzon and auth are the real services; activacion and contactos answer what buzon asks; acuses is a stand-in that
has a código de verificación and a PDF for every folio."""
import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from buzon_auth.service import Servicio as Auth
from buzon_buzon.service import Servicio as Buzon
from buzon_comun.config import Config
from buzon_comun.errores import NoAutenticado
from buzon_dev.documentos import carpeta_de_pruebas, firmar_pdf, pdf_de_prueba
from buzon_dev.pruebas import b64, firmar
from buzon_gateway import notificaciones_buzon as notificaciones
from buzon_gateway.service import Gateway
from buzon_dev.sustitutos import AcusesSustituto, ActivacionSustituta, ContactosSustituto

# Signed with the development key of the Institute's documents, which buzon trusts here (BUZON_DOCUMENTOS_CA_DIR).
PDF = firmar_pdf(pdf_de_prueba("Requerimiento"), carpeta_de_pruebas())
ACUSE = AcusesSustituto.PDF
FISICA, MORAL, INACTIVO = "MAVA800101RS5", "EDE0101013A2", "GOCJ750505AB1"
CLAVE_SIPARE, CLAVE_IDSE = "clave-de-sipare-0123456789", "clave-de-idse-9876543210"
CODIGO = AcusesSustituto.CODIGO


def _sha(clave: str) -> str:
    return hashlib.sha256(clave.encode()).hexdigest()


class ActivacionFalsa(ActivacionSustituta):
    ACTIVOS = frozenset({FISICA, MORAL})


@pytest.fixture
def url(entorno_auth, levantar, motor_de, tmp_path):
    motor_de("buzon")
    archivo = tmp_path / "sistemas.txt"
    archivo.write_text(f"# sistemas del Instituto\nsipare:{_sha(CLAVE_SIPARE)}\n\nidse:{_sha(CLAVE_IDSE).upper()}\n")
    return levantar(Auth, ActivacionFalsa, ContactosSustituto, AcusesSustituto, Buzon, Gateway,
                    BUZON_SISTEMAS_DEPOSITANTES=str(archivo),
                    BUZON_DOCUMENTOS_CA_DIR=str(carpeta_de_pruebas() / "ca")) + "/api/v1"


def _sesion(url, emitido) -> dict:
    reto = requests.post(f"{url}/sesiones/retos").json()["reto"]
    respuesta = requests.post(f"{url}/sesiones", json={"certificado": b64(emitido.cer_der), "reto": reto,
                                                      "firma": firmar(emitido, reto)})
    assert respuesta.status_code == 201, respuesta.text
    return {"Authorization": f"Bearer {respuesta.json()['token']}"}


def _deposito(rfc=FISICA, referencia="OF-1", documento=PDF) -> dict:
    return {"rfc": rfc, "asunto": "Requerimiento de información", "area": "Subdelegación Centro",
            "tipo_acto": "Requerimiento", "referencia": referencia, "documento": b64(documento)}


def _clave(clave):
    return {"Authorization": f"Bearer {clave}"}


def test_a_system_deposits_and_the_addressee_opens_it_with_the_efirma(url, efirma_dev_fisica, efirma_dev_moral):
    assert requests.post(f"{url}/notificaciones", json=_deposito()).status_code == 401
    sin_clave = requests.post(f"{url}/notificaciones", json=_deposito(), headers=_clave("otra-clave"))
    assert (sin_clave.status_code, sin_clave.json()["error"]["codigo"]) == (401, "no_autenticado")

    depositada = requests.post(f"{url}/notificaciones", json=_deposito(), headers=_clave(CLAVE_SIPARE))
    assert depositada.status_code == 201, depositada.text
    id_ = depositada.json()["id"]
    assert depositada.json()["estado"] == "pendiente"
    otra_vez = requests.post(f"{url}/notificaciones", json=_deposito(), headers=_clave(CLAVE_SIPARE))
    assert (otra_vez.status_code, otra_vez.json()) == (201, depositada.json())

    # Only the depositing system sees it; idse's key (listed in capitals) is known, but it is not idse's.
    assert requests.get(f"{url}/notificaciones/{id_}", headers=_clave(CLAVE_IDSE)).status_code == 404
    assert requests.get(f"{url}/notificaciones/{id_}").status_code == 401
    vista = requests.get(f"{url}/notificaciones/{id_}", headers=_clave(CLAVE_SIPARE)).json()
    assert (vista["rfc"], vista["estado"], vista["avisos"], vista["folio_acuse"]) == (FISICA, "pendiente", [], None)

    persona = _sesion(url, efirma_dev_fisica)
    [listada] = requests.get(f"{url}/buzon/notificaciones", headers=persona).json()["notificaciones"]
    assert (listada["id"], listada["asunto"], listada["estado"]) == (id_, "Requerimiento de información",
                                                                     "pendiente")
    assert requests.get(f"{url}/buzon/notificaciones").status_code == 401
    sin_abrir = requests.get(f"{url}/buzon/notificaciones/{id_}/documento", headers=persona)
    assert (sin_abrir.status_code, sin_abrir.json()["error"]["codigo"]) == (409, "notificacion_sin_abrir")
    assert requests.get(f"{url}/buzon/notificaciones/{id_}/acuse", headers=persona).status_code == 404

    # Another RFC: as absent as an id that never existed, for every route.
    otra = _sesion(url, efirma_dev_moral)
    assert requests.get(f"{url}/buzon/notificaciones", headers=otra).json() == {"notificaciones": []}
    for ruta in ("acuse-recibo", "documento", "acuse"):
        assert requests.get(f"{url}/buzon/notificaciones/{id_}/{ruta}", headers=otra).status_code == 404, ruta

    cadena = requests.get(f"{url}/buzon/notificaciones/{id_}/acuse-recibo", headers=persona).json()["cadena_original"]
    cer = b64(efirma_dev_fisica.cer_der)
    mala = requests.post(f"{url}/buzon/notificaciones/{id_}/apertura", headers=persona,
                         json={"certificado": cer, "firma": firmar(efirma_dev_fisica, cadena + "x")})
    assert (mala.status_code, mala.json()["error"]["codigo"]) == (422, "firma_invalida")
    abierta = requests.post(f"{url}/buzon/notificaciones/{id_}/apertura", headers=persona,
                            json={"certificado": cer, "firma": firmar(efirma_dev_fisica, cadena)})
    assert abierta.status_code == 200, abierta.text
    assert abierta.json()["estado"] == "abierta" and abierta.json()["folio_acuse"].startswith("NOT-")
    # The código de verificación buzon minted with the acuse's request (acuses keeps it): in the answer at once,
    # and in both lists.
    codigo = abierta.json()["codigo_verificacion"]
    assert re.fullmatch(r"[A-Z2-7]{16}", codigo)
    [listada] = requests.get(f"{url}/buzon/notificaciones", headers=persona).json()["notificaciones"]
    assert listada["codigo_verificacion"] == codigo
    assert requests.get(f"{url}/notificaciones/{id_}", headers=_clave(CLAVE_SIPARE)).json()["codigo_verificacion"] \
        == codigo
    otra_vez = requests.post(f"{url}/buzon/notificaciones/{id_}/apertura", headers=persona,
                             json={"certificado": cer, "firma": firmar(efirma_dev_fisica, cadena)})
    assert (otra_vez.status_code, otra_vez.json()["error"]["codigo"]) == (409, "ya_notificada")

    documento = requests.get(f"{url}/buzon/notificaciones/{id_}/documento", headers=persona)
    assert (documento.status_code, documento.headers["Content-Type"], documento.content) == (200, "application/pdf",
                                                                                              PDF)
    acuse = requests.get(f"{url}/buzon/notificaciones/{id_}/acuse", headers=persona)
    assert (acuse.status_code, acuse.content) == (200, ACUSE)
    vista = requests.get(f"{url}/notificaciones/{id_}", headers=_clave(CLAVE_SIPARE)).json()
    assert (vista["estado"], vista["folio_acuse"]) == ("abierta", abierta.json()["folio_acuse"])


def test_the_deposit_takes_a_large_pdf_and_refuses_more_than_its_limit(url):
    # 4 MiB, signed: 5.3 MiB of base64, over every other route's 1 MiB.
    grande = firmar_pdf(pdf_de_prueba("Grande", relleno=4 * 1024 * 1024), carpeta_de_pruebas())
    aceptada = requests.post(f"{url}/notificaciones", json=_deposito(referencia="GRANDE", documento=grande),
                             headers=_clave(CLAVE_IDSE))
    assert aceptada.status_code == 201, aceptada.text
    excede = requests.post(f"{url}/notificaciones", headers={**_clave(CLAVE_IDSE), "Content-Type": "application/json"},
                           data=b"{" + b" " * notificaciones.LIMITE_DEPOSITO + b"}")
    assert (excede.status_code, excede.json()["error"]["codigo"]) == (413, "solicitud_demasiado_grande")
    # Another route keeps its 1 MiB.
    otra = requests.post(f"{url}/aclaraciones", headers={"Content-Type": "application/json"},
                         data=b"{" + b" " * (1024 * 1024) + b"}")
    assert otra.status_code in (401, 413)
    inactivo = requests.post(f"{url}/notificaciones", json=_deposito(rfc=INACTIVO, referencia="X"),
                             headers=_clave(CLAVE_IDSE))
    assert (inactivo.status_code, inactivo.json()["error"]["codigo"]) == (409, "buzon_inactivo")
    no_pdf = requests.post(f"{url}/notificaciones", json=_deposito(referencia="Y", documento=b"hola"),
                           headers=_clave(CLAVE_IDSE))
    assert (no_pdf.status_code, no_pdf.json()["error"]["codigo"]) == (422, "documento_invalido")
    # A PDF without the Institute's signature, or with it but bytes added after: 422 with the contract's codes.
    for referencia, documento, codigo in (("Y2", pdf_de_prueba(), "documento_sin_firma"),
                                          ("Y3", PDF + b"%%", "firma_documento_invalida")):
        rechazado = requests.post(f"{url}/notificaciones", json=_deposito(referencia=referencia, documento=documento),
                                  headers=_clave(CLAVE_IDSE))
        assert (rechazado.status_code, rechazado.json()["error"]["codigo"]) == (422, codigo)
        assert rechazado.json()["error"]["mensaje"].startswith(("El documento no está firmado",
                                                                 "La firma del documento no es válida"))
    sin_rfc = requests.post(f"{url}/notificaciones", json={**_deposito(referencia="Z"), "rfc": "XYZ"},
                            headers=_clave(CLAVE_IDSE))
    assert (sin_rfc.status_code, sin_rfc.json()["error"]["codigo"]) == (400, "rfc_invalido")


@pytest.fixture
def url_un_deposito_por_segundo(monkeypatch, request):
    monkeypatch.setenv("BUZON_DEPOSITOS_POR_SEGUNDO", "1")
    return request.getfixturevalue("url")


def test_a_systems_deposits_wait_for_their_turns_and_past_a_seconds_wait_429_with_retry_after(
        url_un_deposito_por_segundo):
    """One per second: deposits sent back to back are held by the gateway until their turns (none refused), and of
    three sent at once two get turns within the second's wait and the third 429; retried after its Retry-After,
    the same body gets a turn."""
    url = url_un_deposito_por_segundo

    def depositar(referencia):
        return requests.post(f"{url}/notificaciones", json=_deposito(referencia=referencia),
                             headers=_clave(CLAVE_SIPARE))

    comienzo = time.monotonic()
    assert [depositar(f"SEG-{i}").status_code for i in range(3)] == [201] * 3
    assert time.monotonic() - comienzo >= 2 - 0.05  # the 2nd and 3rd held a second each, never refused
    time.sleep(1)  # the next turn is now
    with ThreadPoolExecutor(3) as hilos:
        respuestas = list(hilos.map(depositar, ["JUN-0", "JUN-1", "JUN-2"]))
    assert sorted(r.status_code for r in respuestas) == [201, 201, 429], [r.text for r in respuestas]
    respuesta = next(r for r in respuestas if r.status_code == 429)
    assert respuesta.json()["error"]["codigo"] == "demasiadas_solicitudes"
    assert "por segundo" in respuesta.json()["error"]["mensaje"]
    assert 0 < respuesta.json()["error"]["reintentar_en_s"] <= 1 and respuesta.headers["Retry-After"] == "1"
    time.sleep(int(respuesta.headers["Retry-After"]))
    referencia = ["JUN-0", "JUN-1", "JUN-2"][respuestas.index(respuesta)]
    reintento = depositar(referencia)
    assert reintento.status_code == 201, reintento.text


# --- the key file and the lookup, without a broker -----------------------------------------------------------

def test_the_file_lists_systems_by_the_digest_of_their_key():
    sistemas = notificaciones.leer_sistemas(f"# comentario\n\n sipare : {_sha('a').upper()} \nidse:{_sha('b')}\n")
    assert sistemas == {"sipare": hashlib.sha256(b"a").digest(), "idse": hashlib.sha256(b"b").digest()}
    assert notificaciones.sistema_de(sistemas, "b") == "idse"
    for clave in (None, "", "c", _sha("a")):  # the digest itself is no key
        with pytest.raises(NoAutenticado):
            notificaciones.sistema_de(sistemas, clave)


@pytest.mark.parametrize("texto, error", [
    ("sipare:1234\n", "línea 1"),
    (f"sipare {_sha('a')}\n", "línea 1"),
    (f"# uno\nSIPARE:{_sha('a')}\n", "línea 2"),
    (f"sipare:{_sha('a')}\nsipare:{_sha('b')}\n", "línea 2: el sistema «sipare» ya está"),
    ("# nada\n", "ningún sistema"),
])
def test_a_mistake_in_the_file_names_its_line(texto, error):
    with pytest.raises(notificaciones.SistemasInvalidos, match=error):
        notificaciones.leer_sistemas(texto, "BUZON_SISTEMAS_DEPOSITANTES (/etc/buzon/sistemas)")


def test_unset_a_development_key_in_desarrollo_and_refused_in_produccion(tmp_path):
    desarrollo = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    clave = notificaciones.clave_desarrollo(desarrollo)
    assert len(clave) >= 40 and notificaciones.clave_desarrollo(desarrollo) == clave  # made once, kept
    assert notificaciones.cargar_sistemas(desarrollo) == {"desarrollo": hashlib.sha256(clave.encode()).digest()}
    produccion = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path), "BUZON_ENTORNO": "produccion"})
    with pytest.raises(notificaciones.SistemasInvalidos, match="falta BUZON_SISTEMAS_DEPOSITANTES"):
        notificaciones.cargar_sistemas(produccion)
    faltante = Config.desde_entorno({"BUZON_SISTEMAS_DEPOSITANTES": str(tmp_path / "no-existe")})
    with pytest.raises(notificaciones.SistemasInvalidos, match="no existe"):
        notificaciones.cargar_sistemas(faltante)
