"""Activations and aclaraciones with an idempotency key on PostgreSQL: a repeat (a client's retry, a redelivered
RPC, a double submit) gets the first answer and acts once, however it arrives: after, at once, or on another
replica."""
import json
from datetime import datetime, timezone

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_activacion import activacion
from buzon_activacion.models import activaciones
from buzon_comun.errores import Conflicto, ReglaIncumplida, SolicitudInvalida

FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
OTRA = {**FISICA, "rfc": "EDE0101013A2", "tipo_persona": "moral", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV"}
CER = "cer:MAVA800101RS5"
SESION = "hash-del-token-de-la-sesion"
CLAVE = "3f6b2c9a-clave-de-prueba"


class ContactosFalso:
    def padron(self, rfc):
        return {"registros_patronales": []}

    def requisitos(self, rfc):
        return {"correo_validado": True, "telefono_validado": True}

    def listar(self, titular):
        return {"medios": [{"mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado",
                            "registros_patronales": []}]}


class AuthFalso:
    """Accepts "firma:" + the text; counts its calls (each one an OCSP query in real life)."""

    def __init__(self, pausa: float = 0):
        self.llamadas = 0
        self.pausa = pausa

    def verificar_efirma(self, certificado, texto, firma, rfc_esperado=None):
        self.llamadas += 1
        if self.pausa:
            eventlet.sleep(self.pausa)  # lets the other requests reach the same point
        if firma != "firma:" + texto:
            raise ReglaIncumplida("firma_invalida", "La firma no corresponde al texto.")
        return {"rfc": rfc_esperado, "numero_certificado": "00001000000500000001", "ocsp": "T0NTUA==",
                "verificado_en": "2026-11-28T12:00:01-06:00"}


def contar(db, consulta: str) -> int:
    cuenta = db.execute(text(consulta)).scalar_one()
    db.commit()
    return cuenta


def tipos(eventos) -> list[str]:
    return sorted(m["tipo"] for m in eventos())


@pytest.fixture
def firmada(db, reloj):
    """The cadena of the session's Solicitud, signed as AuthFalso expects."""
    cadena = activacion.solicitud(db, FISICA, SESION, ahora=reloj.ahora(), contactos=ContactosFalso())
    return "firma:" + cadena["cadena_original"]


def activar(db, reloj, auth, firma, clave=CLAVE, sesion=SESION):
    return activacion.activar(db, FISICA, sesion, CER, firma, ahora=reloj.ahora(), contactos=ContactosFalso(),
                              auth=auth, clave_idempotencia=clave)


def presentar(db, reloj, texto, clave=CLAVE, titular=FISICA, limite_por_dia=10):
    return activacion.presentar_aclaracion(db, titular, texto, ahora=reloj.ahora(), limite_por_dia=limite_por_dia,
                                           clave_idempotencia=clave)


def buzon_activo(db, titular):
    """The activation's own rules are tested elsewhere; for aclaraciones an active Buzón is only its row."""
    momento = datetime(2026, 11, 28, 17, 0, tzinfo=timezone.utc)
    db.execute(activaciones.insert().values(
        rfc=titular["rfc"], folio=f"ACT-{titular['rfc']}", tipo="particular", registros_patronales="[]", medios="[]",
        texto="t", cadena_original="||c||", firma="f", certificado="c", ocsp="", numero_certificado="1",
        verificado_en=momento, titular=json.dumps(titular), activado_en=momento))
    db.commit()


# -- the activation ---------------------------------------------------------------------------------------------

def test_a_repeated_activation_gets_the_first_answer_without_asking_auth_again(db, reloj, firmada, eventos):
    auth = AuthFalso()
    primera = activar(db, reloj, auth, firmada)
    reloj.avanzar(minutes=2)
    assert activar(db, reloj, auth, firmada) == primera == {
        "estado": "activo", "folio": "ACT-2026-00000001", "activado_en": "2026-11-28T12:00:00-06:00"}
    # Even from another session of the same RFC: the key and what was signed are what count.
    assert activar(db, reloj, auth, firmada, sesion="otra-sesion") == primera
    assert auth.llamadas == 1
    assert contar(db, "SELECT count(*) FROM activaciones") == 1
    assert tipos(eventos) == ["acuse_solicitado", "buzon_activado"]


def test_without_a_key_a_repeated_activation_is_ya_activo(db, reloj, firmada):
    auth = AuthFalso()
    activar(db, reloj, auth, firmada, clave=None)
    with pytest.raises(Conflicto) as error:
        activar(db, reloj, auth, firmada, clave=None)
    assert error.value.codigo == "ya_activo"
    assert contar(db, "SELECT count(*) FROM idempotencia") == 0


def test_the_same_key_with_another_signature_is_a_conflict(db, reloj, firmada, eventos):
    activar(db, reloj, AuthFalso(), firmada)
    with pytest.raises(Conflicto) as error:
        activar(db, reloj, AuthFalso(), firmada + "x")
    assert error.value.codigo == "idempotencia_conflicto"
    assert error.value.mensaje.startswith("Esa clave de idempotencia ya se usó con otra solicitud")
    assert tipos(eventos) == ["acuse_solicitado", "buzon_activado"]


def test_a_refused_activation_keeps_no_answer(db, reloj, firmada):
    with pytest.raises(ReglaIncumplida):
        activar(db, reloj, AuthFalso(), "firma:otra cosa")
    assert activar(db, reloj, AuthFalso(), firmada)["estado"] == "activo"


def test_concurrent_activations_with_one_key_answer_alike(engine, db, reloj, firmada, eventos):
    auth = AuthFalso(pausa=0.2)

    def intentar(_):
        with Session(engine) as otra:
            return activar(otra, reloj, auth, firmada)

    respuestas = [h.wait() for h in [eventlet.spawn(intentar, i) for i in range(3)]]
    assert auth.llamadas == 3  # all three got past the first checks before one recorded
    assert respuestas == [respuestas[0]] * 3 and respuestas[0]["folio"] == "ACT-2026-00000001"
    assert contar(db, "SELECT count(*) FROM activaciones") == 1
    assert tipos(eventos) == ["acuse_solicitado", "buzon_activado"]


@pytest.mark.parametrize("clave", ["", "x" * 201, "\x00", 7])
def test_a_malformed_key_is_refused(db, reloj, firmada, clave):
    with pytest.raises(SolicitudInvalida):
        activar(db, reloj, AuthFalso(), firmada, clave=clave)
    with pytest.raises(SolicitudInvalida):
        presentar(db, reloj, "hola", clave=clave)


# -- aclaraciones -----------------------------------------------------------------------------------------------

def test_a_repeated_aclaracion_gets_its_first_folio(db, reloj, eventos):
    buzon_activo(db, FISICA)
    primera = presentar(db, reloj, "No recibí el aviso.")
    reloj.avanzar(minutes=1)
    assert presentar(db, reloj, "No recibí el aviso.") == primera
    assert primera["folio"] == "ACL-2026-00000001"
    assert contar(db, "SELECT count(*) FROM aclaraciones") == 1
    assert tipos(eventos) == ["acuse_solicitado"]
    # Another key is another aclaración, even with the same text.
    assert presentar(db, reloj, "No recibí el aviso.", clave="otra")["folio"] == "ACL-2026-00000002"


def test_the_same_key_with_another_text_or_for_the_activation_is_a_conflict(db, reloj, firmada, eventos):
    buzon_activo(db, OTRA)
    presentar(db, reloj, "primera", titular=OTRA)
    with pytest.raises(Conflicto) as error:
        presentar(db, reloj, "segunda", titular=OTRA)
    assert error.value.codigo == "idempotencia_conflicto"
    # Keys are scoped by RFC: the same key is free for another person.
    assert activar(db, reloj, AuthFalso(), firmada)["estado"] == "activo"
    # Used for the activation, the key can't bring back an aclaración's answer (or the other way round).
    with pytest.raises(Conflicto) as error:
        presentar(db, reloj, "primera")
    assert error.value.codigo == "idempotencia_conflicto"
    assert contar(db, "SELECT count(*) FROM aclaraciones") == 1


def test_a_repeat_is_not_counted_against_the_days_limit(db, reloj):
    buzon_activo(db, FISICA)
    for _ in range(3):
        presentar(db, reloj, "la misma", limite_por_dia=2)
    presentar(db, reloj, "otra", clave="otra", limite_por_dia=2)
    assert contar(db, "SELECT count(*) FROM aclaraciones") == 2


def test_concurrent_aclaraciones_with_one_key_are_recorded_once(engine, db, reloj, eventos):
    buzon_activo(db, FISICA)

    def intentar(_):
        with Session(engine) as otra:
            return presentar(otra, reloj, "¿Cuándo llega mi acuse?")

    respuestas = [h.wait() for h in [eventlet.spawn(intentar, i) for i in range(4)]]
    assert respuestas == [respuestas[0]] * 4
    assert contar(db, "SELECT count(*) FROM aclaraciones") == 1
    assert tipos(eventos) == ["acuse_solicitado"]


# -- the purge --------------------------------------------------------------------------------------------------

def test_keys_are_kept_24_hours_then_purged(db, reloj, firmada):
    buzon_activo(db, OTRA)
    primera = activar(db, reloj, AuthFalso(), firmada)
    presentar(db, reloj, "hola", titular=OTRA)
    reloj.avanzar(hours=23, minutes=59, seconds=59)
    assert activacion.purgar_idempotencia(db, ahora=reloj.ahora()) == 0
    assert activar(db, reloj, AuthFalso(), firmada) == primera
    reloj.avanzar(seconds=1)
    assert activacion.purgar_idempotencia(db, ahora=reloj.ahora()) == 2
    assert contar(db, "SELECT count(*) FROM idempotencia") == 0
    # Past its promise the key is new: the Buzón is active, so the repeat is told so.
    with pytest.raises(Conflicto) as error:
        activar(db, reloj, AuthFalso(), firmada)
    assert error.value.codigo == "ya_activo"
