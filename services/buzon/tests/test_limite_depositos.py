"""The deposits a depositing system may make per second (BUZON_DEPOSITOS_POR_SEGUNDO): each gets a turn, evenly
spaced, one every 1/limit s per system (buzon's `ritmos` table), and waits for it; deposits that come together get
distinct turns; a turn more than ESPERA_MAXIMA_DEPOSITO_S away is refused before anything costly. On a fixed clock,
as the gateway does it: the turn, then the deposit at that moment."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from buzon_buzon import flujos, notificaciones
from buzon_buzon.models import notificaciones as tabla_notificaciones, ritmos, salida
from buzon_comun.errores import DemasiadasSolicitudes

LIMITE = 4
INTERVALO_S = 1 / LIMITE  # 250 ms
ESPERA_MAXIMA_S = notificaciones.ESPERA_MAXIMA_DEPOSITO_S  # 1 s: 4 turns ahead at 4/s


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
def turno(db, reloj):
    def pedir(sistema: str = "cobranza", ahora=None) -> float:
        return flujos.turno(db, sistema, ahora=ahora or reloj.ahora(), limite=LIMITE)
    return pedir


@pytest.fixture
def depositar(db, reloj, cuerpo, contada, turno):
    """As the gateway: the deposit's turn, then (unless refused) the deposit once its wait is over."""
    def hacer(referencia: str, sistema: str = "cobranza", ahora=None) -> tuple[float, dict]:
        ahora = ahora or reloj.ahora()
        espera = turno(sistema, ahora)
        respuesta = flujos.depositar(db, sistema, cuerpo(referencia=referencia), confianza=contada,
                                     activacion=Activacion(), contactos=Contactos(),
                                     ahora=ahora + timedelta(seconds=espera))
        return espera, respuesta
    return hacer


def _guardadas(db) -> tuple[int, int]:
    cuentas = (db.execute(select(func.count()).select_from(tabla_notificaciones)).scalar_one(),
               db.execute(select(func.count()).select_from(salida)).scalar_one())
    db.commit()
    return cuentas


def test_deposits_that_come_together_get_distinct_turns_and_past_the_longest_wait_429_before_their_signature(
        db, depositar, contada):
    esperas = [depositar(f"R{i}")[0] for i in range(5)]  # five at one moment
    assert esperas == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert contada.verificados == 5 and _guardadas(db) == (5, 5)
    limitados_antes = flujos.LIMITADOS.labels("cobranza")._value.get()
    with pytest.raises(DemasiadasSolicitudes) as refusal:
        depositar("R-sexto")
    assert refusal.value.codigo == "demasiadas_solicitudes"
    assert flujos.LIMITADOS.labels("cobranza")._value.get() == limitados_antes + 1
    # It says how long until a turn would be within the longest wait: one interval.
    assert "por segundo" in refusal.value.mensaje and refusal.value.extra == {"reintentar_en_s": 0.25}
    # Neither verified nor recorded nor announced.
    assert contada.verificados == 5 and _guardadas(db) == (5, 5)


def test_no_burst_even_at_the_start_of_a_second_nor_after_a_pause(reloj, turno):
    """Never two turns within one interval, wherever the clock's seconds fall (a fixed window would give the whole
    second's LIMITE at once, and another LIMITE just after it), and a pause saves no turns for later."""
    final = reloj.ahora().replace(microsecond=990_000)
    assert turno(ahora=final) == 0
    assert turno(ahora=final + timedelta(milliseconds=20)) == pytest.approx(INTERVALO_S - 0.02)
    despues = final + timedelta(seconds=60)
    assert [turno(ahora=despues) for _ in range(3)] == pytest.approx([0, INTERVALO_S, 2 * INTERVALO_S])


def test_a_refused_deposit_retried_after_its_wait_gets_a_turn_and_is_stored_once_and_a_repeat_takes_a_turn_too(
        db, reloj, depositar, turno):
    for _ in range(5):
        turno()
    with pytest.raises(DemasiadasSolicitudes) as refusal:
        depositar("R1")
    reloj.avanzar(seconds=refusal.value.extra["reintentar_en_s"])
    espera, primera = depositar("R1")
    assert espera == pytest.approx(ESPERA_MAXIMA_S) and primera["estado"] == "pendiente"
    reloj.avanzar(seconds=INTERVALO_S)
    assert depositar("R1") == (pytest.approx(ESPERA_MAXIMA_S), primera)  # the first answer again, stored once...
    assert _guardadas(db) == (1, 1)
    with pytest.raises(DemasiadasSolicitudes):
        turno()  # ...yet it took a turn: the limit is on requests, whatever their answer


def test_a_refusal_does_not_push_the_next_turn_back(reloj, turno):
    for _ in range(5):
        turno()
    for _ in range(5):
        reloj.avanzar(milliseconds=10)
        with pytest.raises(DemasiadasSolicitudes):
            turno()
    # The sixth turn is still 5 intervals after the first: 1.25 s from the start, 50 ms have passed.
    reloj.avanzar(milliseconds=200)
    assert turno() == pytest.approx(5 * INTERVALO_S - 0.25)


def test_each_system_has_its_own_turns_and_one_row(db, reloj, turno):
    assert turno("cobranza") == 0
    assert turno("cobranza") == pytest.approx(INTERVALO_S)
    assert turno("afiliacion") == 0
    for _ in range(20):
        reloj.avanzar(seconds=INTERVALO_S)
        turno("cobranza")
    # One row per system, whatever the number of turns: nothing to purge.
    assert db.execute(select(func.count()).select_from(ritmos)).scalar_one() == 2
    db.commit()
