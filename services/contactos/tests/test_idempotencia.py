"""Registrations with an idempotency key on PostgreSQL: a repeat (a client's retry, a redelivered RPC, a double
submit) gets the first answer and registers nothing, however it arrives: after, at once, or on another replica."""
import hashlib
import json

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.errores import Conflicto, ReglaIncumplida, SolicitudInvalida
from buzon_comun import idempotencia
from buzon_contactos import medios

TITULAR = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
           "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
PARTICULAR = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
              "rfc_representante": None, "tipo_persona": "fisica"}
RP1 = "A1234567890"
SECRETO = b"secreto de las pruebas"
CLAVE = "7d9f0c1e-2b1a-4c55-9a5e-clave-de-prueba"


def registrar(db, reloj, config, valor="ana@ejemplo.mx", clave=CLAVE, titular=TITULAR, mecanismo="correo",
              rps=None):
    return medios.registrar(db, titular, mecanismo, valor, rps, ahora=reloj.ahora(), config=config, secreto=SECRETO,
                            clave_idempotencia=clave)


def contar(db, tabla: str) -> int:
    cuenta = db.execute(text(f"SELECT count(*) FROM {tabla}")).scalar_one()
    db.commit()
    return cuenta


def tipos(eventos) -> list[str]:
    return sorted(m["tipo"] for m in eventos())


def test_a_repeat_with_the_same_key_gets_the_first_answer_and_registers_once(con_padron, reloj, config, eventos):
    primera = registrar(con_padron, reloj, config, valor="Ana@Ejemplo.mx", rps=[RP1])
    reloj.avanzar(minutes=5)
    repetida = registrar(con_padron, reloj, config, valor="Ana@Ejemplo.mx", rps=[RP1])
    assert repetida == primera
    assert (primera["estado"], primera["registros_patronales"]) == ("pendiente", [RP1])
    assert contar(con_padron, "medios") == 1
    # One acuse and one validation email: the repeat announced nothing.
    assert tipos(eventos) == ["acuse_solicitado", "correo_solicitado"]
    guardada = con_padron.execute(text("SELECT rfc, clave, huella, respuesta FROM idempotencia")).mappings().one()
    con_padron.commit()
    assert (guardada["rfc"], guardada["clave"]) == ("EDE0101013A2", CLAVE)
    assert json.loads(guardada["respuesta"]) == primera
    # What was asked, as it was sent (not as it was stored), in canonical JSON.
    canonico = '{"mecanismo":"correo","registros_patronales":["A1234567890"],"valor":"Ana@Ejemplo.mx"}'
    esperada = hashlib.sha256(canonico.encode()).hexdigest()
    assert guardada["huella"] == esperada


def test_the_first_answer_is_given_even_once_the_medio_changed(con_padron, reloj, config, eventos):
    primera = registrar(con_padron, reloj, config)
    medios.eliminar(con_padron, TITULAR, primera["id"], ahora=reloj.ahora())
    # Repeating the request reports what it did; it does not register the medio again.
    assert registrar(con_padron, reloj, config) == primera
    assert contar(con_padron, "medios") == 1


def test_the_same_key_with_another_request_is_a_conflict(con_padron, reloj, config, eventos):
    registrar(con_padron, reloj, config)
    for cambio in ({"valor": "otra@ejemplo.mx"}, {"valor": "ANA@ejemplo.mx"}, {"rps": [RP1]},
                   {"mecanismo": "telefono", "valor": "5512345678"}):
        with pytest.raises(Conflicto) as error:
            registrar(con_padron, reloj, config, **cambio)
        assert error.value.codigo == "idempotencia_conflicto"
        assert error.value.mensaje.startswith("Esa clave de idempotencia ya se usó con otra solicitud")
    assert contar(con_padron, "medios") == 1
    assert tipos(eventos) == ["acuse_solicitado", "correo_solicitado"]


def test_keys_are_scoped_by_rfc(con_padron, reloj, config):
    una = registrar(con_padron, reloj, config)
    otra = registrar(con_padron, reloj, config, titular=PARTICULAR)
    assert una["id"] != otra["id"] and contar(con_padron, "medios") == 2


def test_without_a_key_each_call_is_its_own_request(con_padron, reloj, config):
    registrar(con_padron, reloj, config, clave=None)
    with pytest.raises(ReglaIncumplida) as error:
        registrar(con_padron, reloj, config, clave=None)
    assert error.value.codigo == "medio_duplicado"
    assert contar(con_padron, "idempotencia") == 0


def test_a_refusal_is_not_kept_so_its_retry_is_checked_again(con_padron, reloj, config):
    with pytest.raises(ReglaIncumplida):
        registrar(con_padron, reloj, config, valor="no-es-correo")
    # Nothing was done, so nothing answers for the key: the corrected request is a first request.
    assert contar(con_padron, "idempotencia") == 0
    assert registrar(con_padron, reloj, config, valor="no-es-correo@ejemplo.mx")["estado"] == "pendiente"


def test_a_repeat_does_not_count_towards_the_registration_limit(con_padron, reloj, config):
    for _ in range(config.limite_registros_por_hora + 5):
        registrar(con_padron, reloj, config)
    assert contar(con_padron, "medios") == 1
    registrar(con_padron, reloj, config, valor="otro@ejemplo.mx", clave="otra clave")


@pytest.mark.parametrize("clave", ["", "x" * 201, "con\x00nul", "\ud800", 42, ["lista"]])
def test_a_key_that_is_not_text_of_1_to_200_characters_is_refused(con_padron, reloj, config, clave):
    with pytest.raises(SolicitudInvalida) as error:
        registrar(con_padron, reloj, config, clave=clave)
    assert error.value.codigo == "solicitud_invalida"
    assert contar(con_padron, "medios") == 0


def test_a_key_of_200_characters_is_taken(con_padron, reloj, config):
    clave = "ñ" * 200
    assert registrar(con_padron, reloj, config, clave=clave) == registrar(con_padron, reloj, config, clave=clave)


def test_concurrent_requests_with_one_key_register_once(url_bd, con_padron, reloj, config, eventos):
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "contactos")

    def intentar(_):
        # Each its own session, as on replicas of the service: the broker redelivered, or the client retried.
        with Session(engine) as otra:
            return registrar(otra, reloj, config, mecanismo="telefono", valor="5512345678")

    try:
        respuestas = [h.wait() for h in [eventlet.spawn(intentar, i) for i in range(5)]]
    finally:
        engine.dispose()
    assert len({r["id"] for r in respuestas}) == 1 and all(r == respuestas[0] for r in respuestas)
    assert contar(con_padron, "medios") == 1
    assert tipos(eventos) == ["acuse_solicitado", "sms_solicitado"]


def test_a_request_waiting_for_the_rfcs_lock_finds_the_answer_given_meanwhile(url_bd, con_padron, reloj, config,
                                                                             eventos):
    """The first request holds the RFC's lock while it records its answer; the second, with the same key, got past
    every check before that answer existed, waits for the lock, then answers what the first answered."""
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "contactos")
    primera = {"id": "el-de-la-primera", "estado": "pendiente"}
    huella = idempotencia.huella({"mecanismo": "correo", "valor": "ana@ejemplo.mx", "registros_patronales": None})
    try:
        with Session(engine) as primero:
            medios._bloquear_rfc(primero, TITULAR["rfc"])
            with Session(engine) as segundo:
                hilo = eventlet.spawn(registrar, segundo, reloj, config)
                esperando = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                for _ in range(100):
                    if primero.execute(text(esperando)).scalar_one():
                        break
                    eventlet.sleep(0.05)
                else:
                    pytest.fail("la segunda solicitud nunca esperó el candado del RFC")
                primero.execute(text(
                    "INSERT INTO idempotencia (rfc, clave, huella, respuesta, creado_en) VALUES (:r, :c, :h, :j, :t)"),
                    {"r": TITULAR["rfc"], "c": CLAVE, "h": huella, "j": json.dumps(primera), "t": reloj.ahora()})
                primero.commit()
                assert hilo.wait() == primera
    finally:
        engine.dispose()
    assert contar(con_padron, "medios") == 0 and eventos() == []


def test_keys_are_kept_24_hours_then_purged(con_padron, reloj, config):
    primera = registrar(con_padron, reloj, config)
    registrar(con_padron, reloj, config, valor="otro@ejemplo.mx", clave="otra clave", titular=PARTICULAR)
    reloj.avanzar(hours=23, minutes=59)
    assert registrar(con_padron, reloj, config) == primera
    assert medios.purgar_idempotencia(con_padron, ahora=reloj.ahora()) == 0
    reloj.avanzar(minutes=1)
    assert medios.purgar_idempotencia(con_padron, ahora=reloj.ahora()) == 2
    assert contar(con_padron, "idempotencia") == 0


def test_past_24_hours_a_key_is_new_even_before_the_purge(con_padron, reloj, config):
    primera = registrar(con_padron, reloj, config)
    reloj.avanzar(hours=24)
    segunda = registrar(con_padron, reloj, config, valor="otra@ejemplo.mx")
    assert segunda["id"] != primera["id"] and contar(con_padron, "medios") == 2
    assert registrar(con_padron, reloj, config, valor="otra@ejemplo.mx") == segunda
    assert contar(con_padron, "idempotencia") == 1
