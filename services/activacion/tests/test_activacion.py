"""The rules of the activation on PostgreSQL, with a movable clock, fakes for contactos and auth, and the
outbox read as it would be sent."""
import json
from datetime import datetime, timezone

import eventlet
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from buzon_activacion import activacion
from buzon_activacion.models import activaciones, solicitudes
from buzon_activacion.solicitud import AVISO_PARTICULAR
from buzon_comun.errores import (
    Conflicto,
    NoEncontrado,
    Prohibido,
    ReglaIncumplida,
    ServicioNoDisponible,
    SolicitudInvalida,
)
from buzon_comun.eventos import AcuseSolicitado, BuzonActivado, leer
from buzon_comun.reloj import iso_mexico

# -- stand-ins for the services the activation asks ---------------------------------------------------------

MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": "MAVA800101MDFRRN09",
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
RPS = [{"registro_patronal": "A1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
       {"registro_patronal": "B1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"}]
MEDIOS = [
    {"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado", "registros_patronales": []},
    {"id": "m2", "mecanismo": "telefono", "valor": "5512345678", "estado": "validado", "registros_patronales": []},
    {"id": "m3", "mecanismo": "correo", "valor": "planta@ejemplo.mx", "estado": "validado",
     "registros_patronales": ["A1234567890"]},
    {"id": "m4", "mecanismo": "correo", "valor": "pendiente@ejemplo.mx", "estado": "pendiente",
     "registros_patronales": []},
]


class ContactosFalso:
    """contactos as the activation sees it: the padrón, the requisitos and the medios of an RFC."""

    def __init__(self, registros=None, medios=None, correo=True, telefono=True):
        self.registros = {MORAL["rfc"]: list(RPS)} if registros is None else registros
        self.medios = list(MEDIOS) if medios is None else medios
        self.correo, self.telefono = correo, telefono

    def padron(self, rfc):
        return {"registros_patronales": list(self.registros.get(rfc, []))}

    def requisitos(self, rfc):
        return {"correo_validado": self.correo, "telefono_validado": self.telefono}

    def listar(self, titular):
        return {"medios": list(self.medios)}


def firma_de(texto: str) -> str:
    """What AuthFalso accepts as the signature of `texto`."""
    return "firma:" + texto


class AuthFalso:
    """auth's verificar_efirma: accepts `firma_de(texto)` from a certificate named after its RFC."""

    def __init__(self, pausa: float = 0):
        self.llamadas: list[tuple] = []
        self.error: Exception | None = None
        self.pausa = pausa

    def verificar_efirma(self, certificado, texto, firma, rfc_esperado=None):
        self.llamadas.append((certificado, texto, firma, rfc_esperado))
        if self.pausa:
            eventlet.sleep(self.pausa)  # lets a concurrent activation reach the same point
        if self.error is not None:
            raise self.error
        rfc = certificado.removeprefix("cer:")
        if rfc_esperado and rfc != rfc_esperado:
            raise Prohibido("certificado_ajeno", "El certificado no es del RFC de la sesión.")
        if firma != firma_de(texto):
            raise ReglaIncumplida("firma_invalida", "La firma no corresponde al texto.")
        return {"rfc": rfc, "curp": None, "nombre": "X", "tipo_persona": "moral", "rfc_representante": None,
                "numero_certificado": "00001000000500000001", "ocsp": "T0NTUA==",
                "verificado_en": iso_mexico(datetime(2026, 11, 28, 18, 0, 1, tzinfo=timezone.utc))}


class SinTransaccion:
    """Another service as the rules call it: asking it while `db` holds a transaction open fails the test.

    A call may take seconds (its deadline is 5 to 10); a transaction left open meanwhile keeps a connection idle in
    transaction, with whatever it locked. Attributes that are not calls (what a fake counts) pass through."""

    def __init__(self, remoto, db):
        self._remoto, self._db = remoto, db

    def __getattr__(self, nombre):
        valor = getattr(self._remoto, nombre)
        if not callable(valor):
            return valor

        def llamar(*args, **kwargs):
            assert not self._db.in_transaction(), f"{nombre} llamado con una transacción abierta"
            return valor(*args, **kwargs)

        return llamar


@pytest.fixture
def contactos():
    return ContactosFalso()


@pytest.fixture
def auth():
    return AuthFalso()



# -- helpers ---------------------------------------------------------------------------------------------------

SESION = "hash-del-token-de-la-sesion"
CER_MORAL = "cer:EDE0101013A2"
CER_FISICA = "cer:MAVA800101RS5"


def _estado(db, titular, contactos):
    return activacion.estado(db, titular, contactos=SinTransaccion(contactos, db))


def _solicitud(db, reloj, contactos, titular=MORAL, sesion=SESION):
    return activacion.solicitud(db, titular, sesion, ahora=reloj.ahora(), contactos=SinTransaccion(contactos, db))


def _activar(db, reloj, contactos, auth, firma, titular=MORAL, sesion=SESION, certificado=CER_MORAL):
    return activacion.activar(db, titular, sesion, certificado, firma, ahora=reloj.ahora(),
                              contactos=SinTransaccion(contactos, db), auth=SinTransaccion(auth, db))


def _error(excepcion, funcion, *args, **kwargs):
    with pytest.raises(excepcion) as error:
        funcion(*args, **kwargs)
    return error.value


def test_the_stand_ins_refuse_a_call_made_with_a_transaction_open(db, contactos):
    db.execute(text("SELECT 1"))  # SQLAlchemy begins a transaction with the first statement
    with pytest.raises(AssertionError, match="transacción abierta"):
        SinTransaccion(contactos, db).requisitos(MORAL["rfc"])
    db.rollback()
    assert SinTransaccion(contactos, db).requisitos(MORAL["rfc"])["correo_validado"]


# -- estado -----------------------------------------------------------------------------------------------------

def test_an_rfc_with_registros_patronales_is_a_patron_without_notice(db, contactos):
    assert _estado(db, MORAL, contactos) == {
        "estado": "inactivo", "tipo": "patron", "requisitos": {"correo_validado": True, "telefono_validado": True},
        "aviso": None, "folio": None, "activado_en": None}


def test_an_rfc_without_registros_patronales_is_a_particular_with_the_notice(db):
    contactos = ContactosFalso(correo=True, telefono=False)
    respuesta = _estado(db, FISICA, contactos)
    assert (respuesta["tipo"], respuesta["requisitos"]) == (
        "particular", {"correo_validado": True, "telefono_validado": False})
    assert respuesta["aviso"] == (
        "Estimado Usuario: Tu RFC no tiene asociados Registros Patronales. Si estás de acuerdo selecciona el botón "
        "“Aceptar” y firma la “Solicitud y manifestación del solicitante”. En caso contrario, acude a tu "
        "subdelegación para aclarar la inconsistencia.") == AVISO_PARTICULAR


def test_a_malformed_identity_is_refused(db, contactos):
    assert _error(SolicitudInvalida, _estado, db, {"rfc": "nada"}, contactos).codigo == \
        "solicitud_invalida"
    assert _error(SolicitudInvalida, activacion.solicitud, db, MORAL, "", ahora=None, contactos=contactos)


# -- solicitud --------------------------------------------------------------------------------------------------

def test_the_solicitud_is_stored_for_the_session_and_the_same_within_its_life(db, reloj, contactos):
    primera = _solicitud(db, reloj, contactos)
    assert "RFC: EDE0101013A2" in primera["texto"]
    assert "|EDE0101013A2|" in primera["cadena_original"]
    assert "planta@ejemplo.mx" in primera["texto"] and "pendiente@ejemplo.mx" not in primera["texto"]
    reloj.avanzar(minutes=29, seconds=59)
    contactos.medios = contactos.medios[:2]  # what changes meanwhile doesn't change the text being read
    assert _solicitud(db, reloj, contactos) == primera
    fila = db.execute(select(solicitudes)).mappings().one()
    db.commit()
    assert fila["sesion_id"] != SESION and len(fila["sesion_id"]) == 64  # only a hash of the session id
    assert (fila["rfc"], fila["cadena_original"], fila["texto"]) == (
        "EDE0101013A2", primera["cadena_original"], primera["texto"])
    assert (fila["expira_en"] - fila["emitida_en"]).total_seconds() == 1800


def test_after_its_life_a_new_solicitud_is_issued(db, reloj, contactos):
    primera = _solicitud(db, reloj, contactos)
    reloj.avanzar(minutes=30)
    segunda = _solicitud(db, reloj, contactos)
    assert segunda["cadena_original"] != primera["cadena_original"]
    assert "2026-11-28T12:30:00-06:00" in segunda["cadena_original"]
    assert db.execute(text("SELECT count(*) FROM solicitudes")).scalar_one() == 1
    db.commit()


def test_each_session_gets_its_own_solicitud(db, reloj, contactos):
    una = _solicitud(db, reloj, contactos, sesion="sesion-1")
    otra = _solicitud(db, reloj, contactos, sesion="sesion-2")
    assert una["cadena_original"] != otra["cadena_original"]


# -- the gate, in the contract's order ---------------------------------------------------------------------------

def test_without_a_live_solicitud_the_signature_is_refused(db, reloj, contactos, auth):
    error = _error(ReglaIncumplida, _activar, db, reloj, contactos, auth, "firma")
    assert error.codigo == "firma_invalida" and "Solicitud y manifestación" in error.mensaje
    cadena = _solicitud(db, reloj, contactos)["cadena_original"]
    reloj.avanzar(minutes=30)
    assert _error(ReglaIncumplida, _activar, db, reloj, contactos, auth, firma_de(cadena)).codigo == "firma_invalida"
    # Another session's text is not this session's.
    reloj.avanzar(minutes=-30)
    assert _error(ReglaIncumplida, _activar, db, reloj, contactos, auth, firma_de(cadena),
                  sesion="otra-sesion").codigo == "firma_invalida"
    assert auth.llamadas == []


def test_incomplete_requisitos_are_refused_before_the_signature_is_checked(db, reloj, auth):
    contactos = ContactosFalso(correo=True, telefono=False)
    cadena = _solicitud(db, reloj, contactos)["cadena_original"]
    error = _error(Conflicto, _activar, db, reloj, contactos, auth, "firma-mala")
    assert error.codigo == "requisitos_incompletos" and "número celular" in error.mensaje
    assert error.extra == {"requisitos": {"correo_validado": True, "telefono_validado": False}}
    assert auth.llamadas == []
    contactos.telefono = True
    assert _activar(db, reloj, contactos, auth, firma_de(cadena))["estado"] == "activo"


def test_the_signature_is_verified_over_the_stored_cadena_and_survives_failed_attempts(db, reloj, contactos, auth):
    cadena = _solicitud(db, reloj, contactos)["cadena_original"]
    assert _error(ReglaIncumplida, _activar, db, reloj, contactos, auth, "otra-cosa").codigo == "firma_invalida"
    assert _error(Prohibido, _activar, db, reloj, contactos, auth, firma_de(cadena),
                  certificado=CER_FISICA).codigo == "certificado_ajeno"
    auth.error = ServicioNoDisponible("revocacion_no_disponible", "No se pudo consultar la revocación.")
    assert _error(ServicioNoDisponible, _activar, db, reloj, contactos, auth, firma_de(cadena)).codigo == \
        "revocacion_no_disponible"
    auth.error = ReglaIncumplida("certificado_revocado", "El certificado fue revocado.")
    assert _error(ReglaIncumplida, _activar, db, reloj, contactos, auth, firma_de(cadena)).codigo == \
        "certificado_revocado"
    auth.error = None
    reloj.avanzar(minutes=20)
    assert _solicitud(db, reloj, contactos)["cadena_original"] == cadena
    assert _activar(db, reloj, contactos, auth, firma_de(cadena))["estado"] == "activo"
    assert {llamada[1] for llamada in auth.llamadas} == {cadena}
    assert {llamada[3] for llamada in auth.llamadas} == {"EDE0101013A2"}


def test_an_active_buzon_is_refused_first(db, reloj, contactos, auth):
    cadena = _solicitud(db, reloj, contactos)["cadena_original"]
    _activar(db, reloj, contactos, auth, firma_de(cadena))
    contactos.telefono = False
    llamadas = len(auth.llamadas)
    for sesion in (SESION, "sesion-nueva"):
        assert _error(Conflicto, _activar, db, reloj, contactos, auth, firma_de(cadena), sesion=sesion).codigo == \
            "ya_activo"
    assert len(auth.llamadas) == llamadas


# -- the activation ---------------------------------------------------------------------------------------------

def test_a_patron_activates_with_its_evidence_and_events(db, reloj, contactos, auth, eventos):
    emitida = _solicitud(db, reloj, contactos)
    reloj.avanzar(minutes=5)
    respuesta = _activar(db, reloj, contactos, auth, firma_de(emitida["cadena_original"]))
    assert respuesta == {"estado": "activo", "folio": "ACT-2026-00000001", "activado_en": "2026-11-28T12:05:00-06:00"}

    fila = db.execute(select(activaciones)).mappings().one()
    db.commit()
    assert (fila["rfc"], fila["folio"], fila["tipo"]) == ("EDE0101013A2", "ACT-2026-00000001", "patron")
    assert (fila["texto"], fila["cadena_original"]) == (emitida["texto"], emitida["cadena_original"])
    assert (fila["firma"], fila["certificado"], fila["ocsp"]) == (firma_de(emitida["cadena_original"]), CER_MORAL,
                                                                  "T0NTUA==")
    assert fila["numero_certificado"] == "00001000000500000001"
    assert fila["verificado_en"].isoformat() == "2026-11-28T18:00:01+00:00"
    assert json.loads(fila["titular"]) == MORAL
    assert json.loads(fila["registros_patronales"]) == RPS
    assert [m["valor"] for m in json.loads(fila["medios"])] == ["ana@ejemplo.mx", "5512345678", "planta@ejemplo.mx"]
    assert db.execute(text("SELECT count(*) FROM solicitudes")).scalar_one() == 0
    db.commit()

    [activado] = [leer(m)[1] for m in eventos("buzon_activado")]
    assert activado == BuzonActivado(rfc="EDE0101013A2", folio="ACT-2026-00000001", tipo="patron",
                                     activado_en="2026-11-28T12:05:00-06:00", registros_patronales=RPS)
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert acuse == AcuseSolicitado(
        folio="ACT-2026-00000001", tipo="activacion", rfc="EDE0101013A2", emitido_en="2026-11-28T12:05:00-06:00",
        titular=MORAL,
        datos={"tipo_usuario": "patron", "registros_patronales": RPS,
               "medios": [{"mecanismo": "correo", "valor": "ana@ejemplo.mx"},
                          {"mecanismo": "telefono", "valor": "5512345678"},
                          {"mecanismo": "correo", "valor": "planta@ejemplo.mx"}],
               "texto": emitida["texto"], "cadena_original": emitida["cadena_original"],
               "firma": firma_de(emitida["cadena_original"]), "numero_certificado": "00001000000500000001"})

    assert _estado(db, MORAL, contactos) == {
        "estado": "activo", "tipo": "patron", "requisitos": {"correo_validado": True, "telefono_validado": True},
        "aviso": None, "folio": "ACT-2026-00000001", "activado_en": "2026-11-28T12:05:00-06:00"}
    assert activacion.folio_acuse(db, MORAL) == "ACT-2026-00000001"
    # What was signed stays readable after the activation.
    assert _solicitud(db, reloj, contactos, sesion="otra") == emitida


def test_a_particular_activates_with_the_particulares_data(db, reloj, auth, eventos):
    contactos = ContactosFalso(medios=[m for m in ContactosFalso().medios if not m["registros_patronales"]])
    cadena = _solicitud(db, reloj, contactos, titular=FISICA)["cadena_original"]
    _activar(db, reloj, contactos, auth, firma_de(cadena), titular=FISICA, certificado=CER_FISICA)
    [activado] = [leer(m)[1] for m in eventos("buzon_activado")]
    assert (activado.tipo, activado.registros_patronales) == ("particular", [])
    [acuse] = [leer(m)[1] for m in eventos("acuse_solicitado")]
    assert (acuse.datos["tipo_usuario"], acuse.datos["registros_patronales"], acuse.titular) == (
        "particular", [], FISICA)
    assert "como Particular" in acuse.datos["texto"]


def test_the_acuse_folio_is_not_found_before_activation(db):
    assert _error(NoEncontrado, activacion.folio_acuse, db, MORAL).codigo == "no_encontrado"


def test_a_second_activation_is_refused(db, reloj, contactos, auth, eventos):
    cadena = _solicitud(db, reloj, contactos)["cadena_original"]
    _activar(db, reloj, contactos, auth, firma_de(cadena))
    assert _error(Conflicto, _activar, db, reloj, contactos, auth, firma_de(cadena)).codigo == "ya_activo"
    assert len(eventos("buzon_activado")) == 1


def test_concurrent_activations_exactly_one_wins(engine, db, reloj, contactos):
    # Each session signs its own text; auth pauses so both get past the first checks before either records.
    cadenas = {s: _solicitud(db, reloj, contactos, sesion=s)["cadena_original"] for s in ("s1", "s2", "s3")}
    auth = AuthFalso(pausa=0.2)

    def intentar(sesion):
        with Session(engine) as otra:
            try:
                return _activar(otra, reloj, contactos, auth, firma_de(cadenas[sesion]), sesion=sesion)["folio"]
            except Conflicto as error:
                return error.codigo

    resultados = [h.wait() for h in [eventlet.spawn(intentar, s) for s in cadenas]]
    assert len(auth.llamadas) == 3  # all three reached the last check
    assert sorted(resultados) == ["ACT-2026-00000001", "ya_activo", "ya_activo"]
    assert db.execute(text("SELECT count(*) FROM activaciones")).scalar_one() == 1
    assert db.execute(text("SELECT count(*) FROM salida")).scalar_one() == 2
    db.commit()
