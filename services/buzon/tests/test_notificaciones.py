"""Depositing and reading notifications on PostgreSQL: the edge's parsing, idempotency per (system, referencia),
the inactive Buzón and foreign RPs, and who may see what (404 across systems and RFCs)."""
import base64
import json

import pytest
from sqlalchemy import func, select

from buzon_buzon import notificaciones
from buzon_buzon.models import notificaciones as tabla
from buzon_comun.errores import Conflicto, NoEncontrado, ReglaIncumplida, SolicitudInvalida
from buzon_dev.documentos import pdf_de_prueba

MORAL = "EDE0101013A2"
OTRO_RFC = "MAVA800101RS5"


def b64(contenido: bytes) -> str:
    return base64.b64encode(contenido).decode("ascii")


def contar(db) -> int:
    n = db.execute(select(func.count()).select_from(tabla)).scalar_one()
    db.commit()
    return n


# -- parsing at the edge ----------------------------------------------------------------------------------------

def test_leer_deposito_normaliza_rfc_rps_y_textos(cuerpo, confianza, pdf_firmado):
    deposito = notificaciones.leer_deposito(cuerpo(
        rfc=" ede0101013a2 ", registros_patronales=["a1234567890", "A1234567890", "B1234567890"],
        asunto="  Requerimiento\n de   información ", documento=b64(pdf_firmado)), confianza)
    assert deposito.rfc == MORAL
    assert deposito.registros_patronales == ("A1234567890", "B1234567890")
    assert deposito.asunto == "Requerimiento de información"
    assert deposito.documento == pdf_firmado


def test_registros_patronales_opcionales(cuerpo, confianza):
    sin = cuerpo()
    del sin["registros_patronales"]
    assert notificaciones.leer_deposito(sin, confianza).registros_patronales == ()


@pytest.mark.parametrize("documento", [b64(b"<html>no</html>"), b64(b"%PDX-1.7"), "no es base64!", "", None, 42,
                                       b64(b"%PDF-1.7\n%%EOF\n")])
def test_documento_que_no_es_pdf(cuerpo, confianza, documento):
    with pytest.raises(ReglaIncumplida) as exc:
        notificaciones.leer_deposito(cuerpo(documento=documento), confianza)
    assert exc.value.codigo == "documento_invalido"


def test_documento_demasiado_grande(cuerpo, confianza, documentos_dev):
    # A signed PDF of exactly the limit: padded, signed, and padded again by what is missing (the signed revision's
    # offsets grow a few digits with the padding).
    relleno = notificaciones.MAXIMO_DOCUMENTO - 20_000
    for _ in range(5):
        justo = documentos_dev.firmar_pdf(pdf_de_prueba("justo", relleno=relleno))
        if len(justo) == notificaciones.MAXIMO_DOCUMENTO:
            break
        relleno += notificaciones.MAXIMO_DOCUMENTO - len(justo)
    assert len(justo) == notificaciones.MAXIMO_DOCUMENTO
    assert notificaciones.leer_deposito(cuerpo(documento=b64(justo)), confianza).documento == justo
    # One byte more is refused by its size, before its signature is looked at.
    with pytest.raises(ReglaIncumplida) as exc:
        notificaciones.leer_deposito(cuerpo(documento=b64(justo + b"0")), confianza)
    assert exc.value.codigo == "documento_demasiado_grande"
    # Text far over the limit is refused before decoding it.
    with pytest.raises(ReglaIncumplida) as exc:
        notificaciones.leer_deposito(cuerpo(documento="A" * (notificaciones.MAXIMO_DOCUMENTO_BASE64 + 4)), confianza)
    assert exc.value.codigo == "documento_demasiado_grande"


@pytest.mark.parametrize("cambios, codigo", [
    ({"rfc": "NO-ES-RFC"}, "rfc_invalido"),
    ({"rfc": None}, "rfc_invalido"),
    ({"registros_patronales": ["X12"]}, "registro_patronal_invalido"),
    ({"registros_patronales": "A1234567890"}, "solicitud_invalida"),
    ({"registros_patronales": ["A1234567890"] * 101}, "solicitud_invalida"),
    ({"asunto": ""}, "solicitud_invalida"),
    ({"asunto": "x" * 201}, "solicitud_invalida"),
    ({"area": None}, "solicitud_invalida"),
    ({"tipo_acto": "\x00"}, "solicitud_invalida"),
    ({"referencia": ""}, "solicitud_invalida"),
    ({"referencia": "r" * 101}, "solicitud_invalida"),
    ({"referencia": "\ud800"}, "solicitud_invalida"),
])
def test_forma_invalida(cuerpo, confianza, cambios, codigo):
    with pytest.raises(SolicitudInvalida) as exc:
        notificaciones.leer_deposito(cuerpo(**cambios), confianza)
    assert exc.value.codigo == codigo


def test_cuerpo_que_no_es_objeto(confianza):
    with pytest.raises(SolicitudInvalida):
        notificaciones.leer_deposito(["rfc"], confianza)


# -- depositar --------------------------------------------------------------------------------------------------

def test_deposito_registra_y_anuncia_sin_contenido(db, depositar, eventos, reloj):
    respuesta = depositar()
    assert respuesta == {"id": respuesta["id"], "estado": "pendiente", "depositada_en": "2027-01-11T10:00:00-06:00"}
    fila = db.execute(select(tabla).where(tabla.c.id == respuesta["id"])).mappings().one()
    db.commit()
    assert fila["sistema"] == "cobranza" and fila["referencia"] == "REQ-42" and fila["rfc"] == MORAL
    assert fila["documento"].startswith(b"%PDF-") and fila["documento_bytes"] == len(fila["documento"])
    assert fila["estado"] == "pendiente" and fila["aviso_enviado_en"] is None and fila["notificada_en"] is None
    # Who activated the Buzón, as activacion named them: the name on the acuse if it is deemed notified. Only the
    # addressee's: a persona moral's representative and their CURP are not of this act.
    assert json.loads(fila["titular"]) == {"rfc": MORAL, "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
                                           "rfc_representante": None, "tipo_persona": "moral"}
    [evento] = eventos("notificacion_depositada")
    assert evento["datos"] == {"id": respuesta["id"], "sistema": "cobranza", "referencia": "REQ-42", "rfc": MORAL,
                               "registros_patronales": ["A1234567890"], "depositada_en": "2027-01-11T10:00:00-06:00"}
    assert "Requerimiento" not in json.dumps(evento)


def test_deposito_idempotente_por_sistema_y_referencia(db, depositar, eventos, reloj, documentos_dev):
    primera = depositar()
    reloj.avanzar(minutes=5)
    # The Buzón's state since doesn't matter: a repeat is the first deposit's answer.
    assert depositar(activo=False) == primera
    assert contar(db) == 1 and len(eventos("notificacion_depositada")) == 1
    with pytest.raises(Conflicto) as exc:
        depositar(asunto="Otro asunto")
    assert exc.value.codigo == "idempotencia_conflicto"
    with pytest.raises(Conflicto):
        depositar(documento=b64(documentos_dev.firmar_pdf(pdf_de_prueba("otro"))))
    # Another system's referencia is its own.
    assert depositar(sistema="fiscalizacion")["id"] != primera["id"]
    assert contar(db) == 2


def test_deposito_que_pierde_la_carrera_devuelve_la_respuesta_de_la_otra_replica(db, depositar, monkeypatch):
    primera = depositar()
    real = notificaciones._previo
    llamadas = []

    def tarde(db_, sistema, deposito):
        # The first look finds nothing (the other replica had not committed yet); the insert then collides.
        llamadas.append(1)
        return None if len(llamadas) == 1 else real(db_, sistema, deposito)

    monkeypatch.setattr(notificaciones, "_previo", tarde)
    assert depositar() == primera and len(llamadas) == 2
    assert contar(db) == 1


def test_buzon_inactivo(db, depositar, eventos):
    with pytest.raises(Conflicto) as exc:
        depositar(activo=False)
    assert exc.value.codigo == "buzon_inactivo"
    assert contar(db) == 0 and eventos() == []


def test_registro_patronal_ajeno(db, depositar, eventos):
    with pytest.raises(ReglaIncumplida) as exc:
        depositar(registros_patronales=["A1234567890", "Z9999999999"])
    assert exc.value.codigo == "registro_patronal_ajeno"
    assert exc.value.extra == {"registros_patronales": ["Z9999999999"]}
    # An RFC without RPs (a particular) takes only RFC-level notifications.
    with pytest.raises(ReglaIncumplida):
        depositar(registros=[], referencia="otra")
    assert contar(db) == 0 and eventos() == []
    assert depositar(registros=[], registros_patronales=[], referencia="otra")["estado"] == "pendiente"


# -- reading ----------------------------------------------------------------------------------------------------

def test_consultar_para_el_sistema_depositante(db, depositar, calendario):
    id_ = depositar()["id"]
    assert notificaciones.consultar(db, "cobranza", id_, calendario=calendario) == {
        "id": id_, "rfc": MORAL, "estado": "pendiente", "depositada_en": "2027-01-11T10:00:00-06:00",
        "aviso_enviado_en": None, "abrir_hasta": None, "tacita_el": None, "avisos": [], "notificada_en": None,
        "folio_acuse": None, "codigo_verificacion": None}
    for sistema, ident in (("fiscalizacion", id_), ("cobranza", "00000000-0000-0000-0000-000000000000"),
                           ("cobranza", "no-es-uuid"), ("cobranza", None)):
        with pytest.raises(NoEncontrado):
            notificaciones.consultar(db, sistema, ident, calendario=calendario)


def test_la_persona_ve_solo_las_de_su_rfc_mas_nuevas_primero(db, depositar, reloj, calendario):
    primera = depositar(referencia="1")["id"]
    reloj.avanzar(hours=1)
    segunda = depositar(referencia="2", asunto="Segunda")["id"]
    ajena = depositar(referencia="3", rfc=OTRO_RFC, registros=[], registros_patronales=[])["id"]
    lista = notificaciones.listar(db, MORAL, calendario=calendario)["notificaciones"]
    assert [n["id"] for n in lista] == [segunda, primera]
    assert lista[0] == {"id": segunda, "asunto": "Segunda", "area": "Subdelegación Centro",
                        "tipo_acto": "requerimiento", "estado": "pendiente",
                        "depositada_en": "2027-01-11T11:00:00-06:00", "aviso_enviado_en": None,
                        "abrir_hasta": None, "tacita_el": None, "notificada_en": None, "folio_acuse": None,
                        "codigo_verificacion": None}
    assert notificaciones.pendientes(db, MORAL) == 2 and notificaciones.pendientes(db, OTRO_RFC) == 1
    assert notificaciones.obtener(db, MORAL, primera, calendario=calendario)["registros_patronales"] == ["A1234567890"]
    with pytest.raises(NoEncontrado):
        notificaciones.obtener(db, MORAL, ajena, calendario=calendario)
    with pytest.raises(NoEncontrado):
        notificaciones.documento(db, MORAL, ajena)


def test_documento_solo_despues_de_abrir(db, depositar):
    id_ = depositar()["id"]
    with pytest.raises(Conflicto) as exc:
        notificaciones.documento(db, MORAL, id_)
    assert exc.value.codigo == "notificacion_sin_abrir"
