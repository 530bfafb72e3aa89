"""The deposits a depositing system may make per second (BUZON_DEPOSITOS_POR_SEGUNDO): counted in buzon's own
`limites` table before anything costly, per system and per one-second window, on a fixed clock."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from buzon_buzon import flujos, notificaciones
from buzon_buzon.models import limites, notificaciones as tabla_notificaciones, salida
from buzon_comun.errores import DemasiadasSolicitudes

MORAL = "EDE0101013A2"
LIMITE = 3


class Activacion:
    def titular(self, rfc):
        return {"rfc": rfc, "nombre": "EMPRESA", "tipo_persona": "moral"}


class Contactos:
    def padron(self, rfc):
        return {"registros_patronales": [{"registro_patronal": "A1234567890"}]}


class ConfianzaContada:
    """The real verification, counting the documents it was asked to verify."""

    def __init__(self, confianza):
        self.confianza = confianza
        self.verificados = 0

    def verificar(self, pdf):
        self.verificados += 1
        return self.confianza.verificar(pdf)


@pytest.fixture
def contada(confianza):
    return ConfianzaContada(confianza)


@pytest.fixture
def depositar(db, reloj, cuerpo, contada):
    def hacer(referencia: str, sistema: str = "cobranza", ahora=None) -> dict:
        return flujos.depositar(db, sistema, cuerpo(referencia=referencia), confianza=contada,
                                activacion=Activacion(), contactos=Contactos(), ahora=ahora or reloj.ahora(),
                                limite=LIMITE)
    return hacer


def _guardadas(db) -> tuple[int, int]:
    cuentas = (db.execute(select(func.count()).select_from(tabla_notificaciones)).scalar_one(),
               db.execute(select(func.count()).select_from(salida)).scalar_one())
    db.commit()
    return cuentas


def test_past_the_limit_in_its_second_a_deposit_is_refused_before_its_signature_and_stores_nothing(
        db, depositar, contada):
    for i in range(LIMITE):
        assert depositar(f"R{i}")["estado"] == "pendiente"
    assert contada.verificados == LIMITE and _guardadas(db) == (LIMITE, LIMITE)
    limitados_antes = flujos.LIMITADOS.labels("cobranza")._value.get()
    with pytest.raises(DemasiadasSolicitudes) as refusal:
        depositar("R-de-mas")
    assert refusal.value.codigo == "demasiadas_solicitudes"
    assert flujos.LIMITADOS.labels("cobranza")._value.get() == limitados_antes + 1
    assert "por segundo" in refusal.value.mensaje and refusal.value.extra == {"reintentar_en_s": 1}
    # Neither verified nor recorded nor announced.
    assert contada.verificados == LIMITE and _guardadas(db) == (LIMITE, LIMITE)


def test_the_next_second_admits_again_and_a_refused_deposit_retried_is_stored_once(db, reloj, depositar, contada):
    respuestas = [depositar(f"R{i}") for i in range(LIMITE)]
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R-reintentada")
    reloj.avanzar(seconds=1)
    assert depositar("R-reintentada")["estado"] == "pendiente"
    assert depositar("R0") == respuestas[0]  # a repeat gets its first answer
    assert _guardadas(db) == (LIMITE + 1, LIMITE + 1)
    # A repeat counts too: the limit is on requests, whatever their answer.
    depositar("R1")
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R2")


def test_each_system_has_its_own_count(db, depositar):
    for i in range(LIMITE):
        depositar(f"R{i}", sistema="cobranza")
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R-de-mas", sistema="cobranza")
    for i in range(LIMITE):
        assert depositar(f"R{i}", sistema="afiliacion")["estado"] == "pendiente"
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R-de-mas", sistema="afiliacion")


def test_the_window_is_the_clock_second_not_the_first_deposit(db, reloj, depositar):
    """Fixed windows: LIMITE at the end of one second and LIMITE at the start of the next both pass."""
    final = reloj.ahora().replace(microsecond=900_000)
    for i in range(LIMITE):
        depositar(f"A{i}", ahora=final)
    siguiente = final + timedelta(milliseconds=200)
    for i in range(LIMITE):
        depositar(f"B{i}", ahora=siguiente)
    with pytest.raises(DemasiadasSolicitudes):
        depositar("B-de-mas", ahora=siguiente)


def test_the_purge_drops_the_seconds_gone_by(db, reloj, depositar):
    depositar("R0")
    depositar("R0", sistema="afiliacion")
    notificaciones.purgar_limites(db, ahora=reloj.ahora())
    assert db.execute(select(func.count()).select_from(limites)).scalar_one() == 2
    db.commit()
    notificaciones.purgar_limites(db, ahora=reloj.ahora() + timedelta(seconds=1))
    assert db.execute(select(func.count()).select_from(limites)).scalar_one() == 0
    db.commit()
