"""The activacion service on real RabbitMQ and PostgreSQL, with the real auth (dev PKI and OCSP responder) and a
small contactos: a real e.firma signs the cadena, and the events reach a listener."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from buzon_activacion.service import Servicio
from buzon_auth.service import Servicio as ServicioAuth
from buzon_comun.errores import Conflicto, NoEncontrado, Prohibido, ReglaIncumplida
from buzon_comun.eventos import leer
from buzon_comun.servicio import rpc
from buzon_dev.pruebas import b64, esperar, firmar, llamar, oyente

FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": "MAVA800101MDFRRN09",
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
RPS = [{"registro_patronal": "A1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"}]
MEDIOS = [{"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado",
           "registros_patronales": []},
          {"id": "m2", "mecanismo": "telefono", "valor": "5512345678", "estado": "validado",
           "registros_patronales": []}]


class ContactosFalso:
    """contactos' answers the activation needs: EDE0101013A2 is a Patrón, any other RFC a Particular."""

    name = "contactos"

    @rpc
    def padron(self, rfc):
        return {"registros_patronales": RPS if rfc == MORAL["rfc"] else []}

    @rpc
    def requisitos(self, rfc):
        return {"correo_validado": True, "telefono_validado": True}

    @rpc
    def listar(self, titular, incluir_bajas=False):
        return {"medios": MEDIOS}


@pytest.fixture
def activacion(engine, entorno_auth, container_factory, config_nameko):
    """activacion with the real auth, the small contactos and a listener, each in its container."""
    clase_oyente, recibidos = oyente("oyente_activacion", ("activacion", "buzon_activado"),
                                     ("activacion", "acuse_solicitado"))
    for clase in (ServicioAuth, ContactosFalso, clase_oyente):
        container_factory(clase, config_nameko).start()
    contenedor = container_factory(Servicio, config_nameko)
    contenedor.start()
    contenedor.recibidos = recibidos
    return contenedor


def test_a_particular_activates_with_a_real_efirma_and_the_events_go_out(activacion, efirma_dev_fisica):
    estado = llamar(activacion, "estado", FISICA)
    assert (estado["estado"], estado["tipo"]) == ("inactivo", "particular") and estado["aviso"]
    assert llamar(activacion, "titular", FISICA["rfc"]) is None
    with pytest.raises(NoEncontrado):
        llamar(activacion, "folio_acuse", FISICA)

    emitida = llamar(activacion, "solicitud", FISICA, "sesion-1")
    assert "|MAVA800101RS5|" in emitida["cadena_original"] and "como Particular" in emitida["texto"]
    cer = b64(efirma_dev_fisica.cer_der)
    with pytest.raises(ReglaIncumplida) as error:
        llamar(activacion, "activar", FISICA, "sesion-1", cer, firmar(efirma_dev_fisica, emitida["texto"]))
    assert error.value.codigo == "firma_invalida"  # the cadena is what is signed, not the text

    firma = firmar(efirma_dev_fisica, emitida["cadena_original"])
    with ServiceRpcProxy("activacion", activacion.config) as proxy:
        respuesta = proxy.activar(FISICA, "sesion-1", cer, firma)
        with pytest.raises(Conflicto) as otra:
            proxy.activar(FISICA, "sesion-1", cer, firma)
    assert otra.value.codigo == "ya_activo"
    assert respuesta["estado"] == "activo" and respuesta["folio"].startswith("ACT-")
    assert llamar(activacion, "folio_acuse", FISICA) == respuesta["folio"]
    # buzon's question before a deposit: active, and who activated it (the name on a deemed notification's acuse)
    assert llamar(activacion, "titular", FISICA["rfc"]) == {campo: FISICA.get(campo) for campo in (
        "rfc", "nombre", "curp", "rfc_representante", "tipo_persona")}
    assert llamar(activacion, "titular", MORAL["rfc"]) is None
    assert llamar(activacion, "estado", FISICA)["folio"] == respuesta["folio"]

    recibidos = activacion.recibidos
    eventos = esperar(lambda: len(recibidos) >= 2 and {m["tipo"]: leer(m)[1] for m in recibidos})
    activado, acuse = eventos["buzon_activado"], eventos["acuse_solicitado"]
    assert (activado.rfc, activado.folio, activado.tipo, activado.activado_en, activado.registros_patronales) == (
        "MAVA800101RS5", respuesta["folio"], "particular", respuesta["activado_en"], [])
    assert (acuse.folio, acuse.tipo, acuse.rfc, acuse.emitido_en, acuse.titular) == (
        respuesta["folio"], "activacion", "MAVA800101RS5", respuesta["activado_en"], FISICA)
    assert acuse.datos["cadena_original"] == emitida["cadena_original"] and acuse.datos["firma"] == firma
    assert acuse.datos["numero_certificado"] and acuse.datos["tipo_usuario"] == "particular"
    assert acuse.datos["medios"] == [{"mecanismo": "correo", "valor": "ana@ejemplo.mx"},
                                     {"mecanismo": "telefono", "valor": "5512345678"}]


def test_another_rfcs_efirma_is_refused_across_the_bus(activacion, efirma_dev_fisica):
    emitida = llamar(activacion, "solicitud", MORAL, "sesion-moral")
    assert "- EMPRESA DE DEMOSTRACION SA DE CV: A1234567890" in emitida["texto"]
    with ServiceRpcProxy("activacion", activacion.config) as proxy:
        with pytest.raises(Prohibido) as error:
            proxy.activar(MORAL, "sesion-moral", b64(efirma_dev_fisica.cer_der),
                          firmar(efirma_dev_fisica, emitida["cadena_original"]))
    assert error.value.codigo == "certificado_ajeno"
    assert llamar(activacion, "estado", MORAL)["estado"] == "inactivo"
    # The failed attempt leaves the session's text as it was.
    assert llamar(activacion, "solicitud", MORAL, "sesion-moral") == emitida


def test_health(activacion):
    assert llamar(activacion, "salud") == {"estado": "ok", "servicio": "activacion"}
