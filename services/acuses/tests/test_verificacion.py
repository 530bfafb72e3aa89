"""The public verification of an acuse: only with its código de verificación, one answer for every failure, and a
limit of failures per client."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from buzon_acuses import acuses, solicitudes
from buzon_acuses.models import acuses as tabla_acuses, limites as tabla_limites
from buzon_comun.errores import DemasiadasSolicitudes, NoEncontrado, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado

# At the start of a minute, so a test's calls all fall in one window.
AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
PUBLIC_URL = "https://buzon.imss.example"
CLIENTE = "ip:203.0.113.7"
OTRO_CLIENTE = "ip6:2001:db8:0:1::/64"
PDF = b"%PDF-1.7 bytes of an acuse\x00\xff"


@pytest.fixture
def emitido(db, sello_dev, registro):
    """An issued and downloaded acuse (the PDF's bytes stand in: rendering is tested elsewhere) and its code."""
    solicitudes.guardar(db, AcuseSolicitado(**registro), ahora=AHORA)
    assert acuses.emitir(db, registro["folio"], sello=sello_dev, public_url=PUBLIC_URL, ahora=AHORA)
    assert acuses.pdf_de(db, registro["folio"], registro["rfc"], renderizar=lambda *_: PDF, ahora=AHORA) == PDF
    codigo = solicitudes.codigos(db, registro["rfc"], [registro["folio"]])["codigos"][registro["folio"]]
    return registro, codigo


def verificar(db, sello, folio, codigo, cliente=CLIENTE, *, ahora=AHORA, limite=60):
    return acuses.verificacion(db, folio, codigo, cliente, sello=sello, ahora=ahora, limite=limite)


def no_encontrado(db, sello, folio, codigo, cliente=CLIENTE, **kwargs) -> tuple:
    with pytest.raises(NoEncontrado) as error:
        verificar(db, sello, folio, codigo, cliente, **kwargs)
    return error.value.args


def test_the_issued_acuse_keeps_its_requests_code(db, emitido):
    registro, codigo = emitido
    fila = db.execute(select(tabla_acuses.c.codigo_verificacion, tabla_acuses.c.pdf)
                      .where(tabla_acuses.c.folio == registro["folio"])).one()
    assert fila.codigo_verificacion == codigo and bytes(fila.pdf) == PDF


def test_the_right_code_in_any_letter_case_verifies(db, sello_dev, emitido):
    registro, codigo = emitido
    esperado = {"folio": registro["folio"], "tipo": "registro_medio", "rfc": registro["rfc"],
                "emitido_en": registro["emitido_en"], "sello_valido": True}
    for escrito in (codigo, codigo.lower(), codigo[:8].lower() + codigo[8:], f" {codigo}\n"):
        respuesta = verificar(db, sello_dev, registro["folio"], escrito)
        assert set(respuesta) == {*esperado, "cadena_original"}
        assert {k: respuesta[k] for k in esperado} == esperado
        assert respuesta["cadena_original"].startswith(f"||1.0|registro_medio|{registro['folio']}|")


def test_unknown_folio_missing_code_and_wrong_code_are_one_and_the_same_answer(db, sello_dev, emitido,
                                                                                 activacion_particular):
    registro, codigo = emitido
    # Stored but not yet issued: no different from a folio that never existed.
    solicitudes.guardar(db, AcuseSolicitado(**activacion_particular), ahora=AHORA)
    pendiente = solicitudes.codigos(db, activacion_particular["rfc"], [activacion_particular["folio"]])
    otro = "A" * 16 if codigo != "A" * 16 else "B" * 16
    casos = [
        (registro["folio"], otro),
        (registro["folio"], codigo[:-1]),
        (registro["folio"], codigo + "A"),
        (registro["folio"], ""),
        (registro["folio"], "   "),
        (registro["folio"], None),
        (registro["folio"], 12345),
        (registro["folio"], [codigo]),
        (registro["folio"], "\x00" * 16),
        (registro["folio"], "\ud800" + codigo),
        (registro["folio"], codigo * 1000),
        ("REG-2026-99999999", codigo),
        ("REG-2026-99999999", ""),
        (registro["folio"].lower(), codigo),
        (activacion_particular["folio"], pendiente["codigos"][activacion_particular["folio"]]),
        ("", codigo),
        (None, codigo),
        (17, codigo),
        ({"folio": registro["folio"]}, codigo),
        (registro["folio"] + "\x00", codigo),
        ("\udfff", codigo),
        ("R" * 10_000, codigo),
    ]
    respuestas = {no_encontrado(db, sello_dev, folio, escrito, limite=100) for folio, escrito in casos}
    assert len(respuestas) == 1
    [(codigo_error, mensaje, _extra)] = respuestas
    assert codigo_error == "no_encontrado" and "código de verificación" in mensaje


def test_codes_are_compared_in_constant_time(db, sello_dev, emitido, monkeypatch):
    registro, codigo = emitido
    comparados = []
    original = acuses.hmac.compare_digest

    def espia(a, b):
        comparados.append((a, b))
        return original(a, b)

    monkeypatch.setattr(acuses.hmac, "compare_digest", espia)
    verificar(db, sello_dev, registro["folio"], codigo.lower())
    no_encontrado(db, sello_dev, registro["folio"], "A" * 16)
    no_encontrado(db, sello_dev, "REG-2026-99999999", codigo)
    assert len(comparados) == 3 and comparados[0] == (codigo.encode(), codigo.encode())


@pytest.mark.parametrize("limite", [30, 60])
def test_past_the_limit_of_failures_a_client_is_refused_even_with_the_right_code(db, sello_dev, emitido, limite):
    registro, codigo = emitido
    # Successes don't count.
    for _ in range(limite + 5):
        verificar(db, sello_dev, registro["folio"], codigo, limite=limite)
    for intento in range(limite):
        folio = registro["folio"] if intento % 2 else f"REG-2026-{intento:08d}"
        no_encontrado(db, sello_dev, folio, "A" * 16, ahora=AHORA + timedelta(seconds=intento % 60), limite=limite)
    for folio, escrito in ((registro["folio"], codigo), (registro["folio"], "A" * 16), ("REG-2026-99999999", "")):
        with pytest.raises(DemasiadasSolicitudes) as error:
            verificar(db, sello_dev, folio, escrito, ahora=AHORA + timedelta(seconds=59), limite=limite)
        assert error.value.codigo == "demasiadas_solicitudes" and "Espera un minuto" in error.value.mensaje

    # Another client is not held back, and the next minute the first one may verify again.
    assert verificar(db, sello_dev, registro["folio"], codigo, OTRO_CLIENTE, limite=limite)["sello_valido"]
    no_encontrado(db, sello_dev, registro["folio"], "A" * 16, OTRO_CLIENTE, limite=limite)
    assert verificar(db, sello_dev, registro["folio"], codigo, ahora=AHORA + timedelta(seconds=60),
                     limite=limite)["folio"] == registro["folio"]


def test_a_call_without_a_client_to_count_against_is_refused(db, sello_dev, emitido):
    registro, codigo = emitido
    for cliente in (None, "", "  ", 7, "ip:\x00", "ip:" + "1" * 500, "\ud800"):
        with pytest.raises(SolicitudInvalida):
            verificar(db, sello_dev, registro["folio"], codigo, cliente)


def test_the_counts_of_past_minutes_are_purged(db, sello_dev, emitido):
    registro, _codigo = emitido
    no_encontrado(db, sello_dev, registro["folio"], "A" * 16, ahora=AHORA)
    no_encontrado(db, sello_dev, registro["folio"], "A" * 16, OTRO_CLIENTE, ahora=AHORA + timedelta(minutes=1))
    acuses.purgar_limites(db, ahora=AHORA + timedelta(minutes=1))
    claves = db.execute(select(tabla_limites.c.clave)).scalars().all()
    db.commit()
    assert claves == [f"verificacion:{OTRO_CLIENTE}"]
    acuses.purgar_limites(db, ahora=AHORA + timedelta(minutes=2))
    assert db.execute(select(tabla_limites.c.clave)).scalars().all() == []
