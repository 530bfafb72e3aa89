"""The auth service on real RabbitMQ and PostgreSQL: login, session, logout, and errors as they cross the bus."""
import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from buzon_auth.service import Servicio
from buzon_comun.errores import NoAutenticado, Prohibido, ReglaIncumplida
from buzon_comun.eventos import SesionCerrada, SesionIniciada, leer
from buzon_dev.pruebas import b64, firmar, llamar, oyente


@pytest.fixture
def auth(entorno_auth, container_factory, config_nameko):
    contenedor = container_factory(Servicio, config_nameko)
    contenedor.start()
    return contenedor


def test_login_logout_with_a_development_efirma(auth, efirma_dev_moral):
    reto = llamar(auth, "crear_reto", "127.0.0.1")
    sesion = llamar(auth, "iniciar_sesion", b64(efirma_dev_moral.cer_der), reto["reto"], firmar(efirma_dev_moral, reto["reto"]))
    assert sesion["rfc"] == "EDE0101013A2"
    assert sesion["rfc_representante"] == "MAVA800101RS5"
    assert sesion["curp"] == "MAVA800101MDFRRN09"
    assert sesion["tipo_persona"] == "moral"
    assert sesion["numero_certificado"] == efirma_dev_moral.numero_certificado
    assert sesion["expira_en"].endswith(("-06:00", "-05:00"))
    actual = llamar(auth, "sesion", sesion["token"])
    assert actual["rfc"] == "EDE0101013A2" and "token" not in actual
    llamar(auth, "cerrar_sesion", sesion["token"])
    with pytest.raises(NoAutenticado):
        llamar(auth, "sesion", sesion["token"])


def test_a_failed_attempt_spends_the_challenge(auth, efirma_dev_fisica):
    reto = llamar(auth, "crear_reto", "127.0.0.1")["reto"]
    with pytest.raises(NoAutenticado) as error:
        llamar(auth, "iniciar_sesion", b64(efirma_dev_fisica.cer_der), reto, firmar(efirma_dev_fisica, "otro texto"))
    assert error.value.codigo == "firma_invalida"
    with pytest.raises(NoAutenticado) as error:
        llamar(auth, "iniciar_sesion", b64(efirma_dev_fisica.cer_der), reto, firmar(efirma_dev_fisica, reto))
    assert error.value.codigo == "reto_invalido"


def test_the_challenge_is_checked_before_the_certificate(auth):
    with pytest.raises(NoAutenticado) as error:
        llamar(auth, "iniciar_sesion", b64(b"basura"), "reto-inventado", b64(b"firma"))
    assert error.value.codigo == "reto_invalido"


def test_activation_signatures_are_verified_with_the_login_checks(auth, pki_dev, efirma_dev_fisica):
    texto = "||cadena original de prueba||"
    identidad = llamar(auth, "verificar_efirma", b64(efirma_dev_fisica.cer_der), texto, firmar(efirma_dev_fisica, texto),
                       "MAVA800101RS5")
    assert identidad["rfc"] == "MAVA800101RS5"
    assert identidad["ocsp"] and identidad["verificado_en"]
    with pytest.raises(Prohibido) as ajeno:
        llamar(auth, "verificar_efirma", b64(efirma_dev_fisica.cer_der), texto, firmar(efirma_dev_fisica, texto),
               "EDE0101013A2")
    assert ajeno.value.codigo == "certificado_ajeno"
    csd = pki_dev.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09", tipo="csd")
    with pytest.raises(ReglaIncumplida) as error:
        llamar(auth, "verificar_efirma", b64(csd.cer_der), texto, firmar(csd, texto))
    assert error.value.codigo == "no_es_efirma"


def test_the_activation_asks_ocsp_afresh_while_the_login_may_use_the_cache(auth, pki_dev):
    emitida = pki_dev.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")

    def iniciar():
        reto = llamar(auth, "crear_reto", "127.0.0.1")["reto"]
        return llamar(auth, "iniciar_sesion", b64(emitida.cer_der), reto, firmar(emitida, reto))

    iniciar()
    pki_dev.revocar(emitida.numero_certificado)
    # Within BUZON_OCSP_CACHE_MAX_S a login rests on the good answer it got a moment ago…
    assert iniciar()["rfc"] == "MAVA800101RS5"
    # …but a legal act never does: the responder is asked and says revoked.
    texto = "||cadena original de prueba||"
    with pytest.raises(ReglaIncumplida) as error:
        llamar(auth, "verificar_efirma", b64(emitida.cer_der), texto, firmar(emitida, texto), "MAVA800101RS5")
    assert error.value.codigo == "certificado_revocado"
    # And once SAT said so, the cached good answer is forgotten for logins too.
    with pytest.raises(NoAutenticado) as error:
        iniciar()
    assert error.value.codigo == "certificado_revocado"


def test_errors_keep_their_class_and_code_across_the_bus(auth, config_nameko):
    with ServiceRpcProxy("auth", config_nameko) as proxy:
        with pytest.raises(NoAutenticado) as error:
            proxy.sesion("token-inexistente")
    assert error.value.codigo == "no_autenticado"
    assert "sesión" in error.value.mensaje


def test_the_purge_runs_every_minute():
    # Challenges last at most five minutes: a purge every ten would let a flood's rows pile up meanwhile.
    from buzon_auth.service import PURGA_CADA_S

    assert PURGA_CADA_S <= 60
    assert [t.interval for t in Servicio.purgar.nameko_entrypoints] == [PURGA_CADA_S]


def test_health(auth):
    assert llamar(auth, "salud") == {"estado": "ok", "servicio": "auth"}


def test_login_and_logout_are_announced_on_the_bus(auth, container_factory, config_nameko, efirma_dev_moral):
    Oyente, recibidos = oyente("oyente_auth", ("auth", "sesion_iniciada"), ("auth", "sesion_cerrada"))
    container_factory(Oyente, config_nameko).start()
    reto = llamar(auth, "crear_reto", "127.0.0.1")["reto"]
    sesion = llamar(auth, "iniciar_sesion", b64(efirma_dev_moral.cer_der), reto, firmar(efirma_dev_moral, reto))
    llamar(auth, "cerrar_sesion", sesion["token"])
    with eventlet.Timeout(10):
        while len(recibidos) < 2:
            eventlet.sleep(0.05)
    iniciada, cerrada = sorted(recibidos, key=lambda m: m["tipo"], reverse=True)
    assert (iniciada["tipo"], iniciada["version"]) == ("sesion_iniciada", 1)
    assert leer(iniciada)[1] == SesionIniciada(rfc="EDE0101013A2", tipo_persona="moral",
                                               numero_certificado=efirma_dev_moral.numero_certificado,
                                               rfc_representante="MAVA800101RS5")
    assert leer(cerrada)[1] == SesionCerrada(rfc="EDE0101013A2")
