"""The rules of contact means on PostgreSQL, with a clock the tests move and the outbox read as it would be sent."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.errores import (
    Bloqueado,
    Conflicto,
    DemasiadasSolicitudes,
    NoEncontrado,
    ReglaIncumplida,
    Vencido,
)
from buzon_comun.eventos import BuzonActivado, MensajeEnviado, leer
from buzon_comun.reloj import iso_mexico
from buzon_contactos import medios

TITULAR = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
           "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
PARTICULAR = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
              "rfc_representante": None, "tipo_persona": "fisica"}
RP1, RP2, RP3, RP_AJENO = "A1234567890", "B1234567890", "C1234567890", "Z9999999999"
# The RPs as the acuses and emails name them: each with its razón social in the padrón (conftest.PADRON_CSV).
CON_RAZON = {RP1: {"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
             RP2: {"registro_patronal": RP2, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"},
             RP3: {"registro_patronal": RP3, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 3"}}
VENTANA = timedelta(hours=72)
SECRETO = b"secreto de las pruebas"


@pytest.fixture
def registrar(con_padron, reloj, config):
    def hacer(mecanismo="correo", valor="ana@ejemplo.mx", rps=None, titular=TITULAR):
        return medios.registrar(con_padron, titular, mecanismo, valor, rps, ahora=reloj.ahora(), config=config,
                                secreto=SECRETO)

    return hacer


def _codigo_de(eventos, medio_id):
    sms = [leer(m)[1] for m in eventos("sms_solicitado")]
    return next(e.datos["codigo"] for e in sms if e.referencia == medio_id and e.plantilla == "codigo_sms")


def _token_de(eventos, medio_id):
    correos = [leer(m)[1] for m in eventos("correo_solicitado")]
    enlace = next(e.datos["enlace"] for e in correos if e.referencia == medio_id and e.plantilla == "validacion_correo")
    return enlace.rsplit("/", 1)[1]


def _codigo_erroneo(codigo):
    return f"{(int(codigo) + 1) % 100000:05d}"


def _error(excepcion, funcion, *args, **kwargs):
    with pytest.raises(excepcion) as error:
        funcion(*args, **kwargs)
    return error.value


# -- registration -----------------------------------------------------------------------------------------------

def test_registering_an_email(registrar, con_padron, reloj, eventos):
    medio = registrar(valor="  Ana.Martinez@Ejemplo.MX ")
    assert medio == {
        "id": medio["id"], "mecanismo": "correo", "valor": "ana.martinez@ejemplo.mx", "estado": "pendiente",
        "folio": "REG-2026-00000001", "registrado_en": "2026-11-28T12:00:00-06:00",
        "vence_en": "2026-12-01T12:00:00-06:00", "validado_en": None, "baja_en": None, "registros_patronales": [],
        "acuses": {"registro": "REG-2026-00000001", "validacion": None, "baja": None},
    }
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert (acuse.folio, acuse.tipo, acuse.rfc, acuse.emitido_en) == (
        "REG-2026-00000001", "registro_medio", "EDE0101013A2", "2026-11-28T12:00:00-06:00")
    assert acuse.titular == TITULAR
    # The acuse de registro prints the deadline to validate.
    assert acuse.datos == {"medio_id": medio["id"], "mecanismo": "correo", "valor": "ana.martinez@ejemplo.mx",
                           "estado": "pendiente", "registros_patronales": [], "vence_en": medio["vence_en"]}
    [correo] = [leer(m)[1] for m in eventos("correo_solicitado")]
    assert (correo.para, correo.plantilla, correo.referencia) == ("ana.martinez@ejemplo.mx", "validacion_correo",
                                                                  medio["id"])
    assert correo.datos["vence_en"] == medio["vence_en"] and correo.datos["nombre"] == TITULAR["nombre"]
    # The email says which RFC it is about, and how long the window is (BUZON_VENTANA_VALIDACION_S).
    assert (correo.datos["rfc"], correo.datos["registros_patronales"]) == ("EDE0101013A2", [])
    assert correo.datos["ventana_s"] == 72 * 3600
    prefijo = "https://buzon.imss.example/medios-contacto/validar/"
    assert correo.datos["enlace"].startswith(prefijo)
    token = correo.datos["enlace"][len(prefijo):]
    assert len(token) >= 43 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    guardado = con_padron.execute(text("SELECT * FROM medios")).mappings().one()
    assert token not in str(dict(guardado))
    assert eventos("sms_solicitado") == []


def test_registering_a_phone(registrar, con_padron, eventos):
    medio = registrar("telefono", "+52 55 1234-5678")
    assert (medio["valor"], medio["estado"], medio["mecanismo"]) == ("5512345678", "pendiente", "telefono")
    [sms] = [leer(m)[1] for m in eventos("sms_solicitado")]
    assert (sms.para, sms.plantilla, sms.referencia) == ("+525512345678", "codigo_sms", medio["id"])
    assert set(sms.datos) == {"codigo", "ventana_s"} and len(sms.datos["codigo"]) == 5 and sms.datos["codigo"].isdigit()
    assert sms.datos["ventana_s"] == 72 * 3600
    assert sms.datos["codigo"] not in str(dict(con_padron.execute(text("SELECT * FROM medios")).mappings().one()))
    assert eventos("correo_solicitado") == []


def test_folios_follow_each_other_and_take_the_year_in_mexico_city(registrar, reloj):
    assert registrar(valor="a@ejemplo.mx")["folio"] == "REG-2026-00000001"
    assert registrar(valor="b@ejemplo.mx")["folio"] == "REG-2026-00000002"
    reloj._ahora = datetime(2027, 1, 1, 5, 30, tzinfo=timezone.utc)  # still 31 December in Mexico City
    assert registrar(valor="c@ejemplo.mx")["folio"] == "REG-2026-00000003"
    reloj.avanzar(hours=1)
    assert registrar(valor="d@ejemplo.mx")["folio"] == "REG-2027-00000001"


def test_checks_run_in_the_contracts_order(registrar):
    assert _error(ReglaIncumplida, registrar, "fax", "no-es-correo", [RP_AJENO]).codigo == "mecanismo_invalido"
    assert _error(ReglaIncumplida, registrar, "correo", "no-es-correo", [RP_AJENO]).codigo == "correo_invalido"
    assert _error(ReglaIncumplida, registrar, "telefono", "123", [RP_AJENO]).codigo == "telefono_invalido"
    registrar(valor="ana@ejemplo.mx", rps=[RP1])
    assert _error(ReglaIncumplida, registrar, "correo", "ana@ejemplo.mx", [RP1, RP_AJENO]).codigo == \
        "registro_patronal_ajeno"
    for i in range(4):
        registrar(valor=f"otro{i}@ejemplo.mx", rps=[RP1])
    # Full and duplicate at once: the duplicate answers.
    assert _error(ReglaIncumplida, registrar, "correo", "ANA@ejemplo.mx", [RP1]).codigo == "medio_duplicado"
    assert _error(ReglaIncumplida, registrar, "correo", "nueva@ejemplo.mx", [RP1]).codigo == "limite_correos"


def test_throttling_answers_after_every_other_check(registrar, config):
    for i in range(config.limite_registros_por_hora - 1):
        _error(ReglaIncumplida, registrar, "correo", f"mal{i}")
    registrar(valor="ultimo@ejemplo.mx")
    # Over the limit, a refused value is still told why it is refused...
    assert _error(ReglaIncumplida, registrar, "correo", "mal").codigo == "correo_invalido"
    assert _error(ReglaIncumplida, registrar, "correo", "ultimo@ejemplo.mx").codigo == "medio_duplicado"
    # ...and a good one gets the 429.
    assert _error(DemasiadasSolicitudes, registrar, "correo", "nuevo@ejemplo.mx").codigo == "demasiadas_solicitudes"
    registrar(valor="nuevo@ejemplo.mx", titular=PARTICULAR)


def test_the_registration_throttle_resets_the_next_hour(registrar, reloj, config):
    for i in range(config.limite_registros_por_hora):
        _error(ReglaIncumplida, registrar, "correo", f"mal{i}")
    _error(DemasiadasSolicitudes, registrar, "correo", "a@ejemplo.mx")
    reloj.avanzar(hours=1)
    registrar(valor="a@ejemplo.mx")


def test_counters_of_ended_windows_are_purged(registrar, con_padron, reloj):
    registrar(valor="a@ejemplo.mx")
    contados = con_padron.execute(text("SELECT count(*) FROM limites")).scalar_one()
    assert contados == 2  # the RFC's registrations and the destination's messages
    medios.purgar_limites(con_padron, ahora=reloj.ahora())
    assert con_padron.execute(text("SELECT count(*) FROM limites")).scalar_one() == contados
    reloj.avanzar(hours=1)
    medios.purgar_limites(con_padron, ahora=reloj.ahora())
    assert con_padron.execute(text("SELECT count(*) FROM limites")).scalar_one() == 0


def test_messages_to_one_destination_are_throttled_whatever_the_rfc(registrar, con_padron, reloj, config):
    for _ in range(config.limite_mensajes_por_destino):
        medio = registrar("telefono", "5512345678")
        medios.eliminar(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())
    assert _error(DemasiadasSolicitudes, registrar, "telefono", "5512345678", titular=PARTICULAR).codigo == \
        "demasiadas_solicitudes"
    registrar("telefono", "5512345679", titular=PARTICULAR)
    assert con_padron.execute(text("SELECT count(*) FROM medios WHERE rfc = 'MAVA800101RS5'")).scalar_one() == 1


def test_rps_must_be_the_rfcs_in_the_padron(registrar):
    for pedido in ([RP_AJENO], [RP1, "123"], ["*", RP1], ["D1234567890"]):
        error = _error(ReglaIncumplida, registrar, "correo", "ana@ejemplo.mx", pedido)
        assert error.codigo == "registro_patronal_ajeno"
        assert error.extra["registro_patronal"] in pedido
    assert registrar(rps=[f" {RP2.lower()}", RP1])["registros_patronales"] == [RP1, RP2]


def test_an_rfc_without_rps_cannot_ask_for_them(registrar):
    for pedido in (["*"], [RP1]):
        assert _error(ReglaIncumplida, registrar, "correo", "ana@ejemplo.mx", pedido,
                      titular=PARTICULAR).codigo == "sin_registros_patronales"
    assert registrar(titular=PARTICULAR, rps=[])["registros_patronales"] == []


def test_star_means_every_rp_of_the_rfc_now(registrar, eventos):
    medio = registrar(rps=["*"])
    assert medio["registros_patronales"] == [RP1, RP2, RP3]
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert acuse.datos["registros_patronales"] == [CON_RAZON[RP1], CON_RAZON[RP2], CON_RAZON[RP3]]


def test_rfc_level_limits_five_emails_and_one_mobile(registrar, con_padron, reloj):
    correos = [registrar(valor=f"c{i}@ejemplo.mx") for i in range(5)]
    assert _error(ReglaIncumplida, registrar, "correo", "c5@ejemplo.mx").codigo == "limite_correos"
    telefono = registrar("telefono", "5512345678")
    assert _error(ReglaIncumplida, registrar, "telefono", "5512345679").codigo == "limite_telefonos"
    # Other scopes have their own room.
    registrar(valor="c5@ejemplo.mx", rps=[RP1])
    registrar("telefono", "5512345679", rps=[RP1])
    # A dropped medio frees its place.
    medios.eliminar(con_padron, TITULAR, correos[0]["id"], ahora=reloj.ahora())
    medios.eliminar(con_padron, TITULAR, telefono["id"], ahora=reloj.ahora())
    registrar(valor="c6@ejemplo.mx")
    registrar("telefono", "5512345670")


def test_per_rp_limits_must_fit_on_every_rp_asked(registrar):
    registrar("telefono", "5512345678", rps=[RP1])
    error = _error(ReglaIncumplida, registrar, "telefono", "5512345679", [RP2, RP1])
    assert (error.codigo, error.extra) == ("limite_telefonos", {"registro_patronal": RP1})
    registrar("telefono", "5512345679", rps=[RP2, RP3])
    for i in range(4):
        registrar(valor=f"c{i}@ejemplo.mx", rps=["*"])
    registrar(valor="c4@ejemplo.mx", rps=[RP3])
    error = _error(ReglaIncumplida, registrar, "correo", "c5@ejemplo.mx", ["*"])
    assert (error.codigo, error.extra) == ("limite_correos", {"registro_patronal": RP3})
    registrar(valor="c5@ejemplo.mx", rps=[RP1, RP2])


def test_duplicates_only_at_an_overlapping_scope(registrar, con_padron, reloj):
    registrar(valor="ana@ejemplo.mx", rps=[RP1, RP2])
    assert _error(ReglaIncumplida, registrar, "correo", "Ana@Ejemplo.mx", [RP2, RP3]).codigo == "medio_duplicado"
    assert _error(ReglaIncumplida, registrar, "correo", "ana@ejemplo.mx", ["*"]).codigo == "medio_duplicado"
    registrar(valor="ana@ejemplo.mx", rps=[RP3])
    rfc = registrar(valor="ana@ejemplo.mx")
    assert _error(ReglaIncumplida, registrar, "correo", "ana@ejemplo.mx").codigo == "medio_duplicado"
    registrar(valor="ana@ejemplo.mx", titular=PARTICULAR)
    registrar("telefono", "5512345678")
    assert _error(ReglaIncumplida, registrar, "telefono", "55 1234 5678").codigo == "medio_duplicado"
    # Once dropped, the same value may be registered again.
    medios.eliminar(con_padron, TITULAR, rfc["id"], ahora=reloj.ahora())
    registrar(valor="ana@ejemplo.mx")


def test_concurrent_registrations_cannot_both_take_the_last_place(url_bd, registrar, reloj, config):
    registrar(valor="primero@ejemplo.mx")
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "contactos")

    def intentar(i):
        with Session(engine) as otra:
            try:
                medios.registrar(otra, TITULAR, "telefono", f"551234567{i}", None, ahora=reloj.ahora(), config=config,
                                secreto=SECRETO)
                return "ok"
            except ReglaIncumplida as error:
                return error.codigo

    resultados = [h.wait() for h in [eventlet.spawn(intentar, i) for i in range(6)]]
    engine.dispose()
    assert sorted(resultados) == ["limite_telefonos"] * 5 + ["ok"]


# -- email validation -------------------------------------------------------------------------------------------

def test_validating_an_email(registrar, con_padron, reloj, eventos, vaciar_salida):
    medio = registrar(valor="ana@ejemplo.mx", rps=[RP1])
    token = _token_de(eventos, medio["id"])
    vaciar_salida()
    reloj.avanzar(hours=71, minutes=59)
    validado = medios.validar_correo(con_padron, token, ahora=reloj.ahora())
    assert validado["estado"] == "validado"
    assert validado["validado_en"] == iso_mexico(reloj.ahora())
    assert validado["acuses"] == {"registro": "REG-2026-00000001", "validacion": "VAL-2026-00000001", "baja": None}
    assert validado["folio"] == "REG-2026-00000001"
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert (acuse.tipo, acuse.folio, acuse.titular) == ("validacion_medio", "VAL-2026-00000001", TITULAR)
    assert acuse.datos == {"medio_id": medio["id"], "mecanismo": "correo", "valor": "ana@ejemplo.mx",
                           "estado": "validado", "registros_patronales": [CON_RAZON[RP1]]}
    [confirmacion] = [leer(m)[1] for m in eventos("correo_solicitado")]
    assert (confirmacion.para, confirmacion.plantilla, confirmacion.datos) == (
        "ana@ejemplo.mx", "confirmacion_correo",
        {"valor": "ana@ejemplo.mx", "rfc": "EDE0101013A2", "nombre": TITULAR["nombre"],
         "registros_patronales": [{"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"}]})
    [validado_ev] = [leer(m)[1] for m in eventos("medio_validado")]
    assert (validado_ev.rfc, validado_ev.medio_id, validado_ev.mecanismo, validado_ev.registros_patronales) == (
        "EDE0101013A2", medio["id"], "correo", [RP1])


def test_a_token_works_once(registrar, con_padron, reloj, eventos, vaciar_salida):
    token = _token_de(eventos, registrar()["id"])
    medios.validar_correo(con_padron, token, ahora=reloj.ahora())
    vaciar_salida()
    assert _error(Conflicto, medios.validar_correo, con_padron, token, ahora=reloj.ahora()).codigo == "ya_validado"
    assert eventos() == []


@pytest.mark.parametrize("token", ["", "desconocido", "x" * 500, None, 42])
def test_unknown_tokens(db, reloj, token):
    assert _error(NoEncontrado, medios.validar_correo, db, token, ahora=reloj.ahora()).codigo == "token_invalido"


def test_an_email_lapses_72_hours_after_registration(registrar, con_padron, reloj, eventos, vaciar_salida):
    medio = registrar(rps=[RP2])
    token = _token_de(eventos, medio["id"])
    vaciar_salida()
    reloj.avanzar(hours=72)
    assert _error(Vencido, medios.validar_correo, con_padron, token, ahora=reloj.ahora()).codigo == \
        "validacion_vencida"
    [baja] = [leer(m)[1] for m in eventos("medio_dado_de_baja")]
    assert (baja.medio_id, baja.estado, baja.mecanismo, baja.registros_patronales) == (
        medio["id"], "baja_vencimiento", "correo", [RP2])
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["estado"] == "baja_vencimiento"
    assert _error(Vencido, medios.validar_correo, con_padron, token, ahora=reloj.ahora()).codigo == \
        "validacion_vencida"
    assert len(eventos("medio_dado_de_baja")) == 1


def test_the_token_of_a_deleted_email_is_unknown(registrar, con_padron, reloj, eventos):
    medio = registrar()
    token = _token_de(eventos, medio["id"])
    medios.eliminar(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())
    assert _error(NoEncontrado, medios.validar_correo, con_padron, token, ahora=reloj.ahora()).codigo == \
        "token_invalido"


# -- phone validation -------------------------------------------------------------------------------------------

def test_validating_a_phone(registrar, con_padron, reloj, config, eventos, vaciar_salida):
    medio = registrar("telefono", "5512345678", rps=["*"])
    codigo = _codigo_de(eventos, medio["id"])
    vaciar_salida()
    validado = medios.validar_telefono(con_padron, TITULAR, medio["id"], f" {codigo} ", ahora=reloj.ahora(),
                                       config=config, secreto=SECRETO)
    assert (validado["estado"], validado["acuses"]["validacion"]) == ("validado", "VAL-2026-00000001")
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert (acuse.tipo, acuse.datos["registros_patronales"]) == (
        "validacion_medio", [CON_RAZON[RP1], CON_RAZON[RP2], CON_RAZON[RP3]])
    [sms] = [leer(m)[1] for m in eventos("sms_solicitado")]
    assert (sms.para, sms.plantilla, sms.datos, sms.referencia) == ("+525512345678", "confirmacion_sms",
                                                                     {"rfc": "EDE0101013A2"}, medio["id"])
    assert len(eventos("medio_validado")) == 1
    assert _error(Conflicto, medios.validar_telefono, con_padron, TITULAR, medio["id"], codigo,
                  ahora=reloj.ahora(), config=config, secreto=SECRETO).codigo == "ya_validado"


def test_the_code_is_stored_keyed_with_the_servers_secret(registrar, con_padron, reloj, config, eventos):
    import hashlib

    medio = registrar("telefono", "5512345678")
    codigo = _codigo_de(eventos, medio["id"])
    guardado = con_padron.execute(text("SELECT codigo_hash FROM medios WHERE id = :i"), {"i": medio["id"]}).scalar_one()
    con_padron.commit()
    # Neither the code nor its bare hash is in the table: 100,000 candidates would reverse the latter at once.
    assert codigo not in guardado and hashlib.sha256(f"{medio['id']}:{codigo}".encode()).hexdigest() != guardado
    # Another server's secret doesn't validate it (and a wrong attempt is spent)…
    error = _error(ReglaIncumplida, medios.validar_telefono, con_padron, TITULAR, medio["id"], codigo,
                   ahora=reloj.ahora(), config=config, secreto=b"otro secreto")
    assert error.codigo == "codigo_incorrecto"
    # …this one does.
    assert medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(), config=config,
                                   secreto=SECRETO)["estado"] == "validado"


def test_a_code_stored_before_the_key_still_validates_within_its_window(registrar, con_padron, reloj, config,
                                                                         eventos):
    import hashlib

    medio = registrar("telefono", "5512345678")
    codigo = _codigo_de(eventos, medio["id"])
    # What migration 0003 leaves of a code hashed without a key.
    anterior = "sha256:" + hashlib.sha256(f"{medio['id']}:{codigo}".encode()).hexdigest()
    con_padron.execute(text("UPDATE medios SET codigo_hash = :h WHERE id = :i"), {"h": anterior, "i": medio["id"]})
    con_padron.commit()
    assert _error(ReglaIncumplida, medios.validar_telefono, con_padron, TITULAR, medio["id"], _codigo_erroneo(codigo),
                  ahora=reloj.ahora(), config=config, secreto=SECRETO).codigo == "codigo_incorrecto"
    assert medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(), config=config,
                                   secreto=SECRETO)["estado"] == "validado"


def test_wrong_codes_count_down_then_drop_the_phone(registrar, con_padron, reloj, config, eventos, vaciar_salida):
    assert config.intentos_codigo == 3
    medio = registrar("telefono", "5512345678")
    erroneo = _codigo_erroneo(_codigo_de(eventos, medio["id"]))
    vaciar_salida()

    def validar(codigo):
        return medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(), config=config,
                                       secreto=SECRETO)

    # Text that can never be a code is a typo: it costs no attempt.
    assert _error(ReglaIncumplida, validar, "12a45").extra == {"intentos_restantes": 3}
    assert _error(ReglaIncumplida, validar, erroneo).extra == {"intentos_restantes": 2}
    error = _error(ReglaIncumplida, validar, erroneo)
    assert (error.codigo, error.extra) == ("codigo_incorrecto", {"intentos_restantes": 1})
    error = _error(Bloqueado, validar, erroneo)
    assert error.codigo == "intentos_agotados"
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["estado"] == "baja"
    [baja] = [leer(m)[1] for m in eventos("medio_dado_de_baja")]
    assert (baja.medio_id, baja.estado) == (medio["id"], "baja")
    assert eventos("acuse_solicitado") == []
    assert _error(NoEncontrado, validar, erroneo).codigo == "no_encontrado"
    # Dropped, so the person can register it again and get a new code.
    registrar("telefono", "5512345678")


def test_the_right_code_after_wrong_ones_still_validates(registrar, con_padron, reloj, config, eventos):
    medio = registrar("telefono", "5512345678")
    codigo = _codigo_de(eventos, medio["id"])
    _error(ReglaIncumplida, medios.validar_telefono, con_padron, TITULAR, medio["id"], _codigo_erroneo(codigo),
           ahora=reloj.ahora(), config=config, secreto=SECRETO)
    assert medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(),
                                   config=config, secreto=SECRETO)["estado"] == "validado"


def test_phone_validation_only_for_the_rfcs_phones(registrar, con_padron, reloj, config, eventos):
    telefono = registrar("telefono", "5512345678")
    correo = registrar()
    codigo = _codigo_de(eventos, telefono["id"])
    for titular, medio_id in ((PARTICULAR, telefono["id"]), (TITULAR, correo["id"]), (TITULAR, "no-existe"),
                              (TITULAR, None)):
        assert _error(NoEncontrado, medios.validar_telefono, con_padron, titular, medio_id, codigo,
                      ahora=reloj.ahora(), config=config, secreto=SECRETO).codigo == "no_encontrado"


def test_a_phones_window_runs_from_the_sending_of_the_code(registrar, con_padron, reloj, config, eventos):
    medio = registrar("telefono", "5512345678")
    codigo = _codigo_de(eventos, medio["id"])
    [sms] = [leer(m)[1] for m in eventos("sms_solicitado")]
    assert medio["vence_en"] == iso_mexico(reloj.ahora() + VENTANA)
    enviado = reloj.ahora() + timedelta(hours=1)

    def enviado_ev(id_mensaje=sms.id_mensaje, plantilla="codigo_sms", momento=enviado):
        return MensajeEnviado(id_mensaje=id_mensaje, canal="sms", referencia=medio["id"], plantilla=plantilla,
                              enviado_en=iso_mexico(momento))

    # Another message about the same medio, or another template, moves nothing.
    assert not medios.registrar_envio(con_padron, enviado_ev(id_mensaje="otro"), ahora=reloj.ahora(),
                                      ventana_s=config.ventana_validacion_s)
    assert not medios.registrar_envio(con_padron, enviado_ev(plantilla="confirmacion_sms"), ahora=reloj.ahora(),
                                      ventana_s=config.ventana_validacion_s)
    assert medios.registrar_envio(con_padron, enviado_ev(), ahora=reloj.ahora(), ventana_s=config.ventana_validacion_s)
    # Redelivered, or reported again later: the first report stands.
    assert not medios.registrar_envio(con_padron, enviado_ev(momento=enviado + timedelta(hours=5)),
                                      ahora=reloj.ahora(), ventana_s=config.ventana_validacion_s)
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["vence_en"] == \
        iso_mexico(enviado + VENTANA)
    reloj.avanzar(hours=72, minutes=30)
    medios.vencer_pendientes(con_padron, ahora=reloj.ahora())
    assert medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(),
                                   config=config, secreto=SECRETO)["estado"] == "validado"


def test_a_phone_lapses_72_hours_after_the_code_was_sent(registrar, con_padron, reloj, config, eventos):
    medio = registrar("telefono", "5512345678")
    codigo = _codigo_de(eventos, medio["id"])
    [sms] = [leer(m)[1] for m in eventos("sms_solicitado")]
    medios.registrar_envio(con_padron, MensajeEnviado(
        id_mensaje=sms.id_mensaje, canal="sms", referencia=medio["id"], plantilla="codigo_sms",
        enviado_en=iso_mexico(reloj.ahora() + timedelta(minutes=2))), ahora=reloj.ahora(),
        ventana_s=config.ventana_validacion_s)
    reloj.avanzar(hours=72, minutes=2)
    assert _error(Vencido, medios.validar_telefono, con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(),
                  config=config, secreto=SECRETO).codigo == "validacion_vencida"
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["estado"] == "baja_vencimiento"
    assert _error(Vencido, medios.validar_telefono, con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(),
                  config=config, secreto=SECRETO).codigo == "validacion_vencida"
    # Text that can never be a code (invalid by the API's document) is the typo's 422, never the lapse's 410.
    assert _error(ReglaIncumplida, medios.validar_telefono, con_padron, TITULAR, medio["id"], "00000*",
                  ahora=reloj.ahora(), config=config, secreto=SECRETO).codigo == "codigo_incorrecto"


def test_a_late_report_does_not_revive_a_lapsed_phone(registrar, con_padron, reloj, config, eventos):
    medio = registrar("telefono", "5512345678")
    [sms] = [leer(m)[1] for m in eventos("sms_solicitado")]
    reloj.avanzar(hours=72)
    assert not medios.registrar_envio(con_padron, MensajeEnviado(
        id_mensaje=sms.id_mensaje, canal="sms", referencia=medio["id"], plantilla="codigo_sms",
        enviado_en=iso_mexico(reloj.ahora())), ahora=reloj.ahora(), ventana_s=config.ventana_validacion_s)
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["estado"] == "baja_vencimiento"


# -- expiry, listing, deletion ----------------------------------------------------------------------------------

def test_the_sweep_moves_lapsed_pendientes_only(registrar, con_padron, reloj, eventos, vaciar_salida):
    correo = registrar()
    telefono = registrar("telefono", "5512345678", rps=[RP1])
    validado = registrar(valor="validado@ejemplo.mx")
    medios.validar_correo(con_padron, _token_de(eventos, validado["id"]), ahora=reloj.ahora())
    reloj.avanzar(hours=1)
    tarde = registrar(valor="tarde@ejemplo.mx")
    vaciar_salida()
    reloj.avanzar(hours=71)
    assert medios.vencer_pendientes(con_padron, ahora=reloj.ahora()) == 2
    bajas = {e.medio_id: e for e in (leer(m)[1] for m in eventos("medio_dado_de_baja"))}
    assert set(bajas) == {correo["id"], telefono["id"]}
    assert bajas[telefono["id"]].estado == "baja_vencimiento"
    assert bajas[telefono["id"]].registros_patronales == [RP1]
    assert medios.vencer_pendientes(con_padron, ahora=reloj.ahora()) == 0
    estados = {m["id"]: m["estado"] for m in medios.listar(con_padron, TITULAR, ahora=reloj.ahora(),
                                                            incluir_bajas=True)}
    assert estados == {correo["id"]: "baja_vencimiento", telefono["id"]: "baja_vencimiento",
                       validado["id"]: "validado", tarde["id"]: "pendiente"}


def test_listing_enforces_the_window_and_hides_bajas_unless_asked(registrar, con_padron, reloj, eventos):
    viejo = registrar(valor="viejo@ejemplo.mx")
    reloj.avanzar(hours=2)
    nuevo = registrar(valor="nuevo@ejemplo.mx", rps=[RP1])
    registrar(valor="otra@ejemplo.mx", titular=PARTICULAR)
    reloj.avanzar(hours=71)
    assert [m["id"] for m in medios.listar(con_padron, TITULAR, ahora=reloj.ahora())] == [nuevo["id"]]
    todos = medios.listar(con_padron, TITULAR, ahora=reloj.ahora(), incluir_bajas=True)
    assert [(m["id"], m["estado"]) for m in todos] == [(viejo["id"], "baja_vencimiento"), (nuevo["id"], "pendiente")]
    assert con_padron.execute(text("SELECT estado FROM medios WHERE id = :i"), {"i": viejo["id"]}).scalar_one() == \
        "baja_vencimiento"
    assert len(eventos("medio_dado_de_baja")) == 1


def test_deleting_a_pendiente(registrar, con_padron, reloj, eventos, vaciar_salida):
    medio = registrar()
    vaciar_salida()
    baja = medios.eliminar(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())
    assert (baja["estado"], baja["acuses"]) == ("baja", {"registro": "REG-2026-00000001", "validacion": None,
                                                         "baja": None})
    assert eventos("acuse_solicitado") == []
    [evento] = [leer(m)[1] for m in eventos("medio_dado_de_baja")]
    assert (evento.medio_id, evento.estado, evento.rfc) == (medio["id"], "baja", "EDE0101013A2")


def test_deleting_a_validated_medio_issues_an_acuse(registrar, con_padron, reloj, eventos, vaciar_salida):
    medio = registrar(rps=[RP1, RP3])
    medios.validar_correo(con_padron, _token_de(eventos, medio["id"]), ahora=reloj.ahora())
    vaciar_salida()
    reloj.avanzar(days=3)
    baja = medios.eliminar(con_padron, PARTICULAR | {"rfc": "EDE0101013A2"}, medio["id"], ahora=reloj.ahora())
    assert baja["estado"] == "baja" and baja["acuses"]["baja"] == "BAJ-2026-00000001"
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert (acuse.tipo, acuse.folio, acuse.emitido_en) == ("baja_medio", "BAJ-2026-00000001",
                                                           iso_mexico(reloj.ahora()))
    assert acuse.titular["nombre"] == PARTICULAR["nombre"]
    assert acuse.datos == {"medio_id": medio["id"], "mecanismo": "correo", "valor": "ana@ejemplo.mx",
                           "estado": "baja", "registros_patronales": [CON_RAZON[RP1], CON_RAZON[RP3]]}
    assert len(eventos("medio_dado_de_baja")) == 1
    # Deleting again answers the medio as it is, and announces nothing.
    vaciar_salida()
    assert medios.eliminar(con_padron, TITULAR, medio["id"], ahora=reloj.ahora()) == baja
    assert eventos() == []


def test_another_rfcs_medio_does_not_exist_for_any_verb(registrar, con_padron, reloj, config):
    medio = registrar()
    for verbo in (
        lambda: medios.obtener(con_padron, PARTICULAR, medio["id"], ahora=reloj.ahora()),
        lambda: medios.eliminar(con_padron, PARTICULAR, medio["id"], ahora=reloj.ahora()),
        lambda: medios.validar_telefono(con_padron, PARTICULAR, medio["id"], "12345", ahora=reloj.ahora(),
                                        config=config, secreto=SECRETO),
        lambda: medios.obtener(con_padron, TITULAR, "x" * 100, ahora=reloj.ahora()),
    ):
        assert _error(NoEncontrado, verbo).codigo == "no_encontrado"
    assert medios.listar(con_padron, PARTICULAR, ahora=reloj.ahora()) == []
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["estado"] == "pendiente"


def test_requirements_count_validated_rfc_level_medios_only(registrar, con_padron, reloj, config, eventos):
    assert medios.requisitos(con_padron, "EDE0101013A2") == {"correo_validado": False, "telefono_validado": False}
    por_rp = registrar(valor="rp@ejemplo.mx", rps=[RP1])
    medios.validar_correo(con_padron, _token_de(eventos, por_rp["id"]), ahora=reloj.ahora())
    registrar(valor="pendiente@ejemplo.mx")
    assert medios.requisitos(con_padron, "EDE0101013A2")["correo_validado"] is False
    correo = registrar(valor="rfc@ejemplo.mx")
    medios.validar_correo(con_padron, _token_de(eventos, correo["id"]), ahora=reloj.ahora())
    telefono = registrar("telefono", "5512345678")
    medios.validar_telefono(con_padron, TITULAR, telefono["id"], _codigo_de(eventos, telefono["id"]),
                            ahora=reloj.ahora(), config=config, secreto=SECRETO)
    assert medios.requisitos(con_padron, "EDE0101013A2") == {"correo_validado": True, "telefono_validado": True}
    medios.eliminar(con_padron, TITULAR, telefono["id"], ahora=reloj.ahora())
    assert medios.requisitos(con_padron, "EDE0101013A2") == {"correo_validado": True, "telefono_validado": False}


# -- the notice on deletion once the Buzón is active ------------------------------------------------------------

def _validados(registrar, con_padron, reloj, config, eventos):
    correo = registrar("correo", "ana@example.mx")
    medios.validar_correo(con_padron, _token_de(eventos, correo["id"]), ahora=reloj.ahora())
    telefono = registrar("telefono", "5512345678")
    medios.validar_telefono(con_padron, TITULAR, telefono["id"], _codigo_de(eventos, telefono["id"]),
                            ahora=reloj.ahora(), config=config, secreto=SECRETO)
    return correo, telefono


def _activar(db, reloj, rfc="EDE0101013A2"):
    evento = BuzonActivado(rfc=rfc, folio="ACT-2026-00000001", tipo="patron", activado_en=iso_mexico(reloj.ahora()),
                           registros_patronales=[])
    assert medios.registrar_activacion(db, evento) is True
    assert medios.registrar_activacion(db, evento) is False  # a redelivery changes nothing


def test_deleting_before_activation_gives_no_notice(registrar, con_padron, reloj, config, eventos):
    correo, _ = _validados(registrar, con_padron, reloj, config, eventos)
    assert "aviso" not in medios.eliminar(con_padron, TITULAR, correo["id"], ahora=reloj.ahora())


def test_deleting_what_an_active_buzon_needs_says_what_to_register_again(registrar, con_padron, reloj, config,
                                                                         eventos):
    correo, telefono = _validados(registrar, con_padron, reloj, config, eventos)
    otro = registrar("correo", "otro@example.mx")
    medios.validar_correo(con_padron, _token_de(eventos, otro["id"]), ahora=reloj.ahora())
    _activar(con_padron, reloj)
    assert "aviso" not in medios.eliminar(con_padron, TITULAR, correo["id"], ahora=reloj.ahora())
    sin_correo = medios.eliminar(con_padron, TITULAR, otro["id"], ahora=reloj.ahora())
    assert "un correo electrónico" in sin_correo["aviso"] and "celular" not in sin_correo["aviso"]
    sin_nada = medios.eliminar(con_padron, TITULAR, telefono["id"], ahora=reloj.ahora())
    assert "un correo electrónico ni un número celular" in sin_nada["aviso"]
