"""Resending a validation (a new link or code that replaces the old one, within the per-destination limit) and the
notices a medio's change sends to its owner's other validated medios, on PostgreSQL with a clock the tests move."""
from datetime import timedelta

import pytest
from sqlalchemy import text

from buzon_comun.errores import Conflicto, DemasiadasSolicitudes, NoEncontrado, ReglaIncumplida
from buzon_comun.eventos import MensajeEnviado, leer
from buzon_comun.reloj import iso_mexico
from buzon_contactos import medios

TITULAR = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
           "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
PARTICULAR = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
              "rfc_representante": None, "tipo_persona": "fisica"}
RP1, RP2 = "A1234567890", "B1234567890"
SECRETO = b"secreto de las pruebas"
AVISOS = ("aviso_medio_registrado", "aviso_medio_eliminado", "aviso_medio_vencido")


@pytest.fixture
def registrar(con_padron, reloj, config):
    def hacer(mecanismo="correo", valor="ana@ejemplo.mx", rps=None, titular=TITULAR):
        return medios.registrar(con_padron, titular, mecanismo, valor, rps, ahora=reloj.ahora(), config=config,
                                secreto=SECRETO)

    return hacer


@pytest.fixture
def reenviar(con_padron, reloj, config):
    def hacer(medio_id, titular=TITULAR, clave=None):
        return medios.reenviar(con_padron, titular, medio_id, ahora=reloj.ahora(), config=config, secreto=SECRETO,
                               clave_idempotencia=clave)

    return hacer


@pytest.fixture
def validar(con_padron, reloj, config, eventos):
    def hacer(medio):
        if medio["mecanismo"] == "correo":
            return medios.validar_correo(con_padron, _tokens(eventos, medio["id"])[-1], ahora=reloj.ahora())
        return medios.validar_telefono(con_padron, TITULAR, medio["id"], _codigos(eventos, medio["id"])[-1],
                                       ahora=reloj.ahora(), config=config, secreto=SECRETO)

    return hacer


def _mensajes(eventos, medio_id, plantilla):
    enviados = [leer(m)[1] for tipo in ("correo_solicitado", "sms_solicitado") for m in eventos(tipo)]
    return [e for e in enviados if e.referencia == medio_id and e.plantilla == plantilla]


def _tokens(eventos, medio_id):
    return [e.datos["enlace"].rsplit("/", 1)[1] for e in _mensajes(eventos, medio_id, "validacion_correo")]


def _codigos(eventos, medio_id):
    return [e.datos["codigo"] for e in _mensajes(eventos, medio_id, "codigo_sms")]


def _avisos(eventos):
    enviados = [leer(m)[1] for tipo in ("correo_solicitado", "sms_solicitado") for m in eventos(tipo)]
    return [e for e in enviados if e.plantilla in AVISOS]


def _error(excepcion, funcion, *args, **kwargs):
    with pytest.raises(excepcion) as error:
        funcion(*args, **kwargs)
    return error.value


# -- resending --------------------------------------------------------------------------------------------------

def test_a_resent_link_replaces_the_old_one_and_keeps_the_deadline(registrar, reenviar, con_padron, reloj, eventos):
    medio = registrar(rps=[RP1])
    reloj.avanzar(hours=10)
    reenviado = reenviar(medio["id"])
    # An email's window runs from its registration (API.md): resending does not move it.
    assert reenviado["vence_en"] == medio["vence_en"] and reenviado["estado"] == "pendiente"
    [primero, segundo] = _mensajes(eventos, medio["id"], "validacion_correo")
    assert segundo.para == "ana@ejemplo.mx" and segundo.datos["vence_en"] == medio["vence_en"]
    assert segundo.datos["registros_patronales"] == [
        {"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"}]
    viejo, nuevo = _tokens(eventos, medio["id"])
    assert viejo != nuevo and primero.id_mensaje != segundo.id_mensaje
    error = _error(NoEncontrado, medios.validar_correo, con_padron, viejo, ahora=reloj.ahora())
    assert error.codigo == "token_invalido" and "más reciente" in error.mensaje
    assert medios.validar_correo(con_padron, nuevo, ahora=reloj.ahora())["estado"] == "validado"


def test_a_resent_code_replaces_the_old_one_restarts_the_window_and_its_attempts(registrar, reenviar, con_padron,
                                                                                   reloj, config, eventos):
    assert config.intentos_codigo == 3
    medio = registrar("telefono", "5512345678")
    [viejo] = _codigos(eventos, medio["id"])

    def validar(codigo):
        return medios.validar_telefono(con_padron, TITULAR, medio["id"], codigo, ahora=reloj.ahora(), config=config,
                                       secreto=SECRETO)

    erroneo = f"{(int(viejo) + 1) % 100000:05d}"
    for restantes in (2, 1):
        assert _error(ReglaIncumplida, validar, erroneo).extra == {"intentos_restantes": restantes}
    reloj.avanzar(hours=30)
    reenviado = reenviar(medio["id"])
    # A phone's window runs from the sending of its code: the new code's.
    assert reenviado["vence_en"] == iso_mexico(reloj.ahora() + timedelta(hours=72))
    [sms_viejo, sms_nuevo] = _mensajes(eventos, medio["id"], "codigo_sms")
    assert sms_nuevo.para == "+525512345678" and sms_nuevo.datos["ventana_s"] == 72 * 3600
    nuevo = sms_nuevo.datos["codigo"]
    if nuevo != viejo:  # one chance in 100,000 that the new code is the old one
        # The old code is just a wrong one now, and the new code has its own attempts.
        assert _error(ReglaIncumplida, validar, viejo).extra == {"intentos_restantes": 2}
    # Only the SMS that carried the current code moves the window when it is reported sent.
    for sms in (sms_viejo, sms_nuevo):
        medios.registrar_envio(con_padron, MensajeEnviado(
            id_mensaje=sms.id_mensaje, canal="sms", referencia=medio["id"], plantilla="codigo_sms",
            enviado_en=iso_mexico(reloj.ahora() + timedelta(minutes=1))), ahora=reloj.ahora(),
            ventana_s=config.ventana_validacion_s)
    assert medios.obtener(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())["vence_en"] == \
        iso_mexico(reloj.ahora() + timedelta(hours=72, minutes=1))
    assert validar(nuevo)["estado"] == "validado"


def test_resends_share_the_per_destination_limit_with_registrations(registrar, reenviar, con_padron, reloj, config,
                                                                    eventos, vaciar_salida):
    medio = registrar("telefono", "5512345678")
    for _ in range(config.limite_mensajes_por_destino - 1):
        reenviar(medio["id"])
    vaciar_salida()
    error = _error(DemasiadasSolicitudes, reenviar, medio["id"])
    assert error.codigo == "demasiadas_solicitudes"
    assert f"{config.limite_mensajes_por_destino} mensajes a este destino" in error.mensaje
    assert eventos() == []
    # Another RFC registering the same phone meets the same limit: it counts the destination, not the RFC.
    assert _error(DemasiadasSolicitudes, registrar, "telefono", "5512345678",
                  titular=PARTICULAR).codigo == "demasiadas_solicitudes"
    reloj.avanzar(hours=1)
    assert reenviar(medio["id"])["estado"] == "pendiente"
    assert len(_codigos(eventos, medio["id"])) == 1


def test_only_a_pendiente_is_resent(registrar, reenviar, validar, con_padron, reloj, eventos, vaciar_salida):
    validado = registrar(valor="validado@ejemplo.mx")
    validar(validado)
    error = _error(Conflicto, reenviar, validado["id"])
    assert (error.codigo, error.mensaje) == ("ya_validado", medios.MENSAJE_REENVIO_VALIDADO)
    eliminado = registrar(valor="eliminado@ejemplo.mx")
    medios.eliminar(con_padron, TITULAR, eliminado["id"], ahora=reloj.ahora())
    error = _error(Conflicto, reenviar, eliminado["id"])
    assert (error.codigo, error.mensaje) == ("medio_dado_de_baja", medios.MENSAJE_REENVIO_BAJA["baja"])
    for ajeno in ((eliminado["id"], PARTICULAR), ("no-existe", TITULAR), ("x" * 100, TITULAR), (None, TITULAR)):
        assert _error(NoEncontrado, reenviar, ajeno[0], titular=ajeno[1]).codigo == "no_encontrado"
    vaciar_salida()
    tarde = registrar(valor="tarde@ejemplo.mx")
    reloj.avanzar(hours=72)
    # Past its deadline, before any sweep: it lapses now, and the lapse is kept though the resend is refused.
    error = _error(Conflicto, reenviar, tarde["id"])
    assert (error.codigo, error.mensaje) == ("medio_dado_de_baja", medios.MENSAJE_REENVIO_BAJA["baja_vencimiento"])
    assert con_padron.execute(text("SELECT estado FROM medios WHERE id = :i"), {"i": tarde["id"]}).scalar_one() == \
        "baja_vencimiento"
    con_padron.commit()
    assert [leer(m)[1].medio_id for m in eventos("medio_dado_de_baja")] == [tarde["id"]]
    assert len(_tokens(eventos, tarde["id"])) == 1  # its registration's, and no other


def test_a_resend_repeated_with_its_key_sends_once(registrar, reenviar, eventos):
    medio = registrar()
    otro = registrar(valor="otro@ejemplo.mx")
    primera = reenviar(medio["id"], clave="clave-1")
    assert reenviar(medio["id"], clave="clave-1") == primera
    assert len(_tokens(eventos, medio["id"])) == 2  # the registration's and one resend
    assert _error(Conflicto, reenviar, otro["id"], clave="clave-1").codigo == "idempotencia_conflicto"
    assert reenviar(medio["id"], clave="clave-2") == primera
    assert len(_tokens(eventos, medio["id"])) == 3


# -- notices to the owner's other validated medios --------------------------------------------------------------

def test_a_new_medio_is_told_to_every_other_validated_medio_once_per_destination(registrar, validar, reloj, eventos,
                                                                                 vaciar_salida):
    validar(registrar(valor="ana@ejemplo.mx"))
    validar(registrar(valor="ana@ejemplo.mx", rps=[RP1]))  # the same address at another scope: one notice
    validar(registrar("telefono", "5512345678"))
    registrar(valor="pendiente@ejemplo.mx")  # not validated: no notice
    validar(registrar(valor="otro@ejemplo.mx", titular=PARTICULAR))  # another RFC's: no notice
    vaciar_salida()
    nuevo = registrar(valor="nuevo@ejemplo.mx", rps=[RP2, RP1])
    avisos = _avisos(eventos)
    assert sorted((a.para, a.plantilla) for a in avisos) == [
        ("+525512345678", "aviso_medio_registrado"), ("ana@ejemplo.mx", "aviso_medio_registrado")]
    for aviso in avisos:
        assert aviso.referencia == nuevo["id"]
        assert aviso.datos == {
            "medio_id": nuevo["id"], "mecanismo": "correo", "valor": "nuevo@ejemplo.mx",
            "momento": iso_mexico(reloj.ahora()), "rfc": "EDE0101013A2", "nombre": TITULAR["nombre"],
            "registros_patronales": [
                {"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
                {"registro_patronal": RP2, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"}]}


def test_nothing_to_tell_without_other_validated_medios(registrar, validar, con_padron, reloj, eventos):
    primero = registrar("telefono", "5512345678")
    validar(primero)
    medios.eliminar(con_padron, TITULAR, primero["id"], ahora=reloj.ahora())
    assert _avisos(eventos) == []


def test_a_deletion_is_told_to_the_other_validated_medios_once(registrar, validar, con_padron, reloj, eventos,
                                                               vaciar_salida):
    correo = registrar(valor="ana@ejemplo.mx")
    validar(correo)
    telefono = registrar("telefono", "5512345678")
    validar(telefono)
    vaciar_salida()
    medios.eliminar(con_padron, TITULAR, correo["id"], ahora=reloj.ahora())
    [aviso] = _avisos(eventos)
    assert (aviso.para, aviso.plantilla, aviso.referencia) == ("+525512345678", "aviso_medio_eliminado", correo["id"])
    assert (aviso.datos["mecanismo"], aviso.datos["valor"], aviso.datos["rfc"]) == (
        "correo", "ana@ejemplo.mx", "EDE0101013A2")
    vaciar_salida()
    medios.eliminar(con_padron, TITULAR, correo["id"], ahora=reloj.ahora())  # already dropped: nothing new
    assert _avisos(eventos) == []


def test_a_lapse_is_told_once_to_the_owners_validated_medios(registrar, validar, con_padron, reloj, config, eventos,
                                                             vaciar_salida):
    validar(registrar(valor="ana@ejemplo.mx"))
    validar(registrar(valor="ana@ejemplo.mx", titular=PARTICULAR))
    tarde = registrar("telefono", "5512345678", rps=[RP2])
    otro_tarde = registrar(valor="tarde@ejemplo.mx", titular=PARTICULAR)
    vaciar_salida()
    reloj.avanzar(hours=72)
    # A registration refused after it marked the lapse rolls the lapse back, and its notice with it...
    assert _error(ReglaIncumplida, medios.registrar, con_padron, TITULAR, "correo", "ana@ejemplo.mx", None,
                  ahora=reloj.ahora(), config=config, secreto=SECRETO).codigo == \
        "medio_duplicado"
    assert _avisos(eventos) == []
    # ...and the sweep announces it, once.
    assert medios.vencer_pendientes(con_padron, ahora=reloj.ahora()) == 2
    assert medios.vencer_pendientes(con_padron, ahora=reloj.ahora()) == 0
    medios.listar(con_padron, TITULAR, ahora=reloj.ahora())
    avisos = sorted(_avisos(eventos), key=lambda a: a.datos["rfc"])
    assert [(a.para, a.plantilla, a.referencia, a.datos["rfc"]) for a in avisos] == [
        ("ana@ejemplo.mx", "aviso_medio_vencido", tarde["id"], "EDE0101013A2"),
        ("ana@ejemplo.mx", "aviso_medio_vencido", otro_tarde["id"], "MAVA800101RS5")]
    assert avisos[0].datos["nombre"] == TITULAR["nombre"]
    assert avisos[0].datos["registros_patronales"] == [
        {"registro_patronal": RP2, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"}]
    assert avisos[1].datos["nombre"] == PARTICULAR["nombre"]


def test_bajas_keep_their_date_in_the_history(registrar, con_padron, reloj):
    medio = registrar()
    reloj.avanzar(hours=1)
    baja = medios.eliminar(con_padron, TITULAR, medio["id"], ahora=reloj.ahora())
    assert baja["baja_en"] == iso_mexico(reloj.ahora())
    [listado] = medios.listar(con_padron, TITULAR, ahora=reloj.ahora(), incluir_bajas=True)
    assert (listado["estado"], listado["baja_en"]) == ("baja", iso_mexico(reloj.ahora()))
