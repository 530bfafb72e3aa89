"""The login's challenge and session rules on PostgreSQL, with a clock the tests move."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from buzon_auth import sesiones
from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.errores import DemasiadasSolicitudes, NoAutenticado
from buzon_comun.reloj import RelojFijo

IDENTIDAD = {
    "rfc": "MAVA800101RS5",
    "rfc_representante": None,
    "curp": "MAVA800101MDFRRN09",
    "nombre": "ANA MARIA MARTINEZ VARGAS",
    "tipo_persona": "fisica",
    "numero_certificado": "30001000000500003416",
}


@pytest.fixture
def db(motor_de):
    with Session(motor_de("auth")) as sesion:
        yield sesion


@pytest.fixture
def reloj():
    return RelojFijo(datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc))


def test_a_challenge_has_at_least_256_bits_and_is_base64url(db, reloj):
    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    assert len(reto.valor) >= 43 and set(reto.valor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert reto.expira_en == reloj.ahora() + timedelta(minutes=5)
    assert reto.valor != sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300).valor


def test_a_challenge_is_stored_only_as_a_hash(db, reloj):
    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    guardados = db.execute(text("SELECT reto_hash FROM retos")).scalars().all()
    assert reto.valor not in guardados and len(guardados) == 1


def test_a_challenge_is_spent_once(db, reloj):
    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    sesiones.consumir_reto(db, reto.valor, ahora=reloj.ahora())
    with pytest.raises(NoAutenticado) as error:
        sesiones.consumir_reto(db, reto.valor, ahora=reloj.ahora())
    assert error.value.codigo == "reto_invalido"


def test_an_expired_challenge_is_refused_and_spent(db, reloj):
    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    reloj.avanzar(seconds=301)
    with pytest.raises(NoAutenticado):
        sesiones.consumir_reto(db, reto.valor, ahora=reloj.ahora())
    assert db.execute(text("SELECT consumido_en FROM retos")).scalar_one() is not None


@pytest.mark.parametrize("valor", ["", "no-existe", "x" * 500, None, 12])
def test_unknown_or_malformed_challenges_are_refused(db, reloj, valor):
    with pytest.raises(NoAutenticado) as error:
        sesiones.consumir_reto(db, valor, ahora=reloj.ahora())
    assert error.value.codigo == "reto_invalido"


def test_concurrent_attempts_spend_a_challenge_exactly_once(url_bd, db, reloj):
    """Two replicas racing for one challenge: one wins, one gets reto_invalido."""
    import eventlet

    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "auth")

    def intentar():
        with Session(engine) as otra:
            try:
                sesiones.consumir_reto(otra, reto.valor, ahora=reloj.ahora())
                return "ok"
            except NoAutenticado:
                return "rechazado"

    hilos = [eventlet.spawn(intentar) for _ in range(8)]
    resultados = sorted(h.wait() for h in hilos)
    engine.dispose()
    assert resultados.count("ok") == 1 and resultados.count("rechazado") == 7


def test_a_session_resolves_to_its_identity_until_it_expires(db, reloj):
    abierta = sesiones.abrir_sesion(db, IDENTIDAD, ahora=reloj.ahora(), duracion_s=3600)
    vigente = sesiones.sesion_vigente(db, abierta.token, ahora=reloj.ahora())
    assert {k: vigente[k] for k in IDENTIDAD} == IDENTIDAD
    reloj.avanzar(seconds=3600)
    with pytest.raises(NoAutenticado) as error:
        sesiones.sesion_vigente(db, abierta.token, ahora=reloj.ahora())
    assert error.value.codigo == "no_autenticado"


def test_tokens_are_stored_hashed(db, reloj):
    abierta = sesiones.abrir_sesion(db, IDENTIDAD, ahora=reloj.ahora(), duracion_s=3600)
    assert abierta.token not in db.execute(text("SELECT token_hash FROM sesiones")).scalars().all()
    assert len(abierta.token) >= 43


def test_a_closed_session_no_longer_works(db, reloj):
    abierta = sesiones.abrir_sesion(db, IDENTIDAD, ahora=reloj.ahora(), duracion_s=3600)
    sesiones.cerrar_sesion(db, abierta.token, ahora=reloj.ahora())
    with pytest.raises(NoAutenticado):
        sesiones.sesion_vigente(db, abierta.token, ahora=reloj.ahora())
    with pytest.raises(NoAutenticado):
        sesiones.cerrar_sesion(db, abierta.token, ahora=reloj.ahora())


def test_challenges_per_ip_are_limited_per_minute_but_never_below_60(db, reloj):
    for _ in range(60):
        sesiones.limitar_retos(db, "10.0.0.1", ahora=reloj.ahora(), por_minuto=60)
    with pytest.raises(DemasiadasSolicitudes):
        sesiones.limitar_retos(db, "10.0.0.1", ahora=reloj.ahora(), por_minuto=60)
    sesiones.limitar_retos(db, "10.0.0.2", ahora=reloj.ahora(), por_minuto=60)
    reloj.avanzar(seconds=60)
    sesiones.limitar_retos(db, "10.0.0.1", ahora=reloj.ahora(), por_minuto=60)
    assert Config.desde_entorno({"BUZON_LIMITE_RETOS_POR_MINUTO": "5"}).limite_retos_por_minuto == 60


def _cuenta(db, tabla: str) -> int:
    return db.execute(text(f"SELECT count(*) FROM {tabla}")).scalar_one()


def test_purge_drops_challenges_as_soon_as_they_expire(db, reloj):
    viejo = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    reloj.avanzar(seconds=200)
    vigente = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    gastado = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    sesiones.consumir_reto(db, gastado.valor, ahora=reloj.ahora())
    reloj.avanzar(seconds=101)
    sesiones.purgar(db, ahora=reloj.ahora())
    # The expired one is gone; the live ones stay, the spent one too, so that it stays spent.
    assert _cuenta(db, "retos") == 2
    for reto in (viejo, gastado):
        with pytest.raises(NoAutenticado) as error:
            sesiones.consumir_reto(db, reto.valor, ahora=reloj.ahora())
        assert error.value.codigo == "reto_invalido"
    sesiones.consumir_reto(db, vigente.valor, ahora=reloj.ahora())
    reloj.avanzar(seconds=300)
    sesiones.purgar(db, ahora=reloj.ahora())
    assert _cuenta(db, "retos") == 0


def test_purge_keeps_a_challenge_until_its_last_moment(db, reloj):
    reto = sesiones.crear_reto(db, ahora=reloj.ahora(), duracion_s=300)
    reloj.avanzar(seconds=299)
    sesiones.purgar(db, ahora=reloj.ahora())
    sesiones.consumir_reto(db, reto.valor, ahora=reloj.ahora())


def test_purge_keeps_ended_sessions_a_day(db, reloj):
    sesiones.abrir_sesion(db, IDENTIDAD, ahora=reloj.ahora(), duracion_s=3600)
    reloj.avanzar(hours=2)
    sesiones.purgar(db, ahora=reloj.ahora())
    assert _cuenta(db, "sesiones") == 1
    reloj.avanzar(days=1)
    sesiones.purgar(db, ahora=reloj.ahora())
    assert _cuenta(db, "sesiones") == 0


def test_purge_drops_past_rate_limit_windows(db, reloj):
    sesiones.limitar_retos(db, "10.0.0.1", ahora=reloj.ahora(), por_minuto=60)
    sesiones.purgar(db, ahora=reloj.ahora())
    assert _cuenta(db, "limites") == 1
    reloj.avanzar(seconds=60)
    sesiones.purgar(db, ahora=reloj.ahora())
    assert _cuenta(db, "limites") == 0
