"""The deposits a depositing system may make per second (BUZON_DEPOSITOS_POR_SEGUNDO): admitted evenly spaced, at
most one every 1/limit s per system (buzon's `ritmos` table), before anything costly, on a fixed clock."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from buzon_buzon import flujos, notificaciones
from buzon_buzon.models import notificaciones as tabla_notificaciones, ritmos, salida
from buzon_comun.errores import DemasiadasSolicitudes

MORAL = "EDE0101013A2"
LIMITE = 4
INTERVALO = timedelta(seconds=1 / LIMITE)  # 250 ms
TOLERANCIA = timedelta(seconds=notificaciones.TOLERANCIA_DEPOSITOS_S)  # 100 ms: never two back to back at 4/s


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


def test_one_deposit_per_interval_a_sooner_one_is_refused_before_its_signature_and_stores_nothing(
        db, reloj, depositar, contada):
    for i in range(LIMITE):
        assert depositar(f"R{i}")["estado"] == "pendiente"
        reloj.avanzar(seconds=1 / LIMITE)
    assert contada.verificados == LIMITE and _guardadas(db) == (LIMITE, LIMITE)
    depositar("R-a-tiempo")
    limitados_antes = flujos.LIMITADOS.labels("cobranza")._value.get()
    reloj.avanzar(milliseconds=100)
    with pytest.raises(DemasiadasSolicitudes) as refusal:
        depositar("R-pronto")
    assert refusal.value.codigo == "demasiadas_solicitudes"
    assert flujos.LIMITADOS.labels("cobranza")._value.get() == limitados_antes + 1
    # It says how long until it would be admitted: the rest of the interval, less the tolerance.
    assert "por segundo" in refusal.value.mensaje and refusal.value.extra == {"reintentar_en_s": 0.05}
    # Neither verified nor recorded nor announced.
    assert contada.verificados == LIMITE + 1 and _guardadas(db) == (LIMITE + 1, LIMITE + 1)


def test_no_burst_even_at_the_start_of_a_second(db, reloj, depositar):
    """Never two deposits within one interval, wherever the clock's seconds fall (a fixed window would admit the
    whole second's LIMITE at once, and another LIMITE just after it)."""
    final = reloj.ahora().replace(microsecond=990_000)
    depositar("A0", ahora=final)
    turno = final + INTERVALO - TOLERANCIA  # the earliest the next one is admitted
    for ahora in (final + timedelta(milliseconds=20), turno - timedelta(milliseconds=1)):
        with pytest.raises(DemasiadasSolicitudes):
            depositar("A1", ahora=ahora)
    assert depositar("A1", ahora=turno)["estado"] == "pendiente"
    # and the one after it, an interval after its own turn: one every INTERVALO on average.
    with pytest.raises(DemasiadasSolicitudes):
        depositar("A2", ahora=turno + INTERVALO - timedelta(milliseconds=1))
    assert depositar("A2", ahora=turno + INTERVALO)["estado"] == "pendiente"


def test_a_refused_deposit_retried_after_its_wait_is_stored_once_and_a_repeat_counts_too(db, reloj, depositar):
    primera = depositar("R0")
    with pytest.raises(DemasiadasSolicitudes) as refusal:
        depositar("R1")
    reloj.avanzar(seconds=refusal.value.extra["reintentar_en_s"])
    assert depositar("R1")["estado"] == "pendiente"
    reloj.avanzar(seconds=1 / LIMITE)
    assert depositar("R0") == primera  # a repeat gets its first answer...
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R0")  # ...and takes its interval: the limit is on requests, whatever their answer
    assert _guardadas(db) == (2, 2)


def test_a_refusal_does_not_push_the_next_admission_back(db, reloj, depositar):
    depositar("R0")
    for _ in range(5):
        reloj.avanzar(milliseconds=10)
        with pytest.raises(DemasiadasSolicitudes):
            depositar("R1")
    reloj.avanzar(seconds=1 / LIMITE - notificaciones.TOLERANCIA_DEPOSITOS_S - 0.05)
    assert depositar("R1")["estado"] == "pendiente"


def test_each_system_has_its_own_spacing_and_one_row(db, reloj, depositar):
    depositar("R0", sistema="cobranza")
    with pytest.raises(DemasiadasSolicitudes):
        depositar("R1", sistema="cobranza")
    assert depositar("R0", sistema="afiliacion")["estado"] == "pendiente"
    for i in range(1, 20):
        reloj.avanzar(seconds=1 / LIMITE)
        depositar(f"R{i}", sistema="cobranza")
    # One row per system, whatever the number of deposits: nothing to purge.
    assert db.execute(select(func.count()).select_from(ritmos)).scalar_one() == 2
    db.commit()
