"""Retry, then park: an acuse that fails to be issued (its document or its seal) is tried again later and later,
parked after its last try and left alone until an operator re-queues it; the sweep takes only what is due, so a
few requests that always fail never hold the others back. A render that fails on a first download stores nothing
and answers "try again". On PostgreSQL, with a clock moved by hand and documents and renderers that are plain
functions (and the real pool, for a hung render)."""
import importlib
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from buzon_comun.config import Config
from buzon_acuses import acuses, documento, operacion, reintentos
from buzon_acuses.ajustes import Ajustes
from buzon_acuses.models import acuses as tabla_acuses, solicitudes as tabla_solicitudes
from buzon_acuses.procesos import GrupoDeProcesos, PlazoAgotado, ProcesoCaido
from buzon_acuses.renderizador import RenderNoDisponible
from buzon_acuses.reintentos import EMITIDO, REINTENTO, SIN_CAMBIO, Reintentos
from buzon_acuses.solicitudes import guardar
from buzon_comun.errores import ServicioNoDisponible
from buzon_comun.eventos import AcuseSolicitado
from buzon_comun.reloj import RelojFijo

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
PUBLIC_URL = "https://buzon.imss.example"
PDF = b"%PDF-1.7 acuse"


def minutos(n):
    return timedelta(minutes=n)


# -- the schedule, as plain rules ------------------------------------------------------------------------------

def test_each_retry_waits_longer_and_the_fifth_failure_parks():
    regla = Reintentos()
    assert regla.intentos_maximos == 5
    assert [regla.proximo(n, AHORA) - AHORA for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30)]
    assert regla.proximo(5, AHORA) is None and regla.proximo(9, AHORA) is None
    with pytest.raises(ValueError):
        regla.proximo(0, AHORA)
    assert Reintentos((5.0,)).intentos_maximos == 2 and Reintentos((5.0,)).proximo(2, AHORA) is None
    for malas in ((), (30.0, 0.0), (-1.0,)):
        with pytest.raises(ValueError):
            Reintentos(malas)


def test_settings_from_the_environment_with_their_defaults():
    defecto = Ajustes.desde_config(Config.desde_entorno({}))
    assert defecto.plazo_render_s == 60 and defecto.reintentos == Reintentos((30.0, 120.0, 600.0, 1800.0))
    # The reservation covers one whole render and a margin: no sweep takes a request its handler still renders.
    assert defecto.reserva == timedelta(seconds=120)
    propios = Ajustes.desde_config(Config.desde_entorno(
        {"BUZON_ACUSES_PLAZO_RENDER_S": "2.5", "BUZON_ACUSES_REINTENTOS_S": "1, 2,3"}))
    assert propios.plazo_render_s == 2.5 and propios.reintentos.demoras_s == (1.0, 2.0, 3.0)
    for variable, valor in (("BUZON_ACUSES_PLAZO_RENDER_S", "0"), ("BUZON_ACUSES_PLAZO_RENDER_S", "un minuto"),
                            ("BUZON_ACUSES_REINTENTOS_S", "30,dos"), ("BUZON_ACUSES_REINTENTOS_S", ","),
                            ("BUZON_ACUSES_REINTENTOS_S", "30,-1")):
        with pytest.raises(ValueError):
            Ajustes.desde_config(Config.desde_entorno({variable: valor}))


# -- the schedule in the database ---------------------------------------------------------------------------------

class Documento:
    """documento.contexto, but failing for the folios it is told to; notes which folio each call was for."""

    def __init__(self, fallan=(), error=None):
        self.fallan = set(fallan)
        self.error = error or ValueError("el documento no se pudo armar")
        self.llamadas: list[str] = []

    def __call__(self, solicitud, **kwargs):
        self.llamadas.append(solicitud["folio"])
        if solicitud["folio"] in self.fallan:
            raise self.error
        return documento.contexto(solicitud, **kwargs)


def emision(sello, reloj, contexto=documento.contexto, **kwargs):
    return acuses.Emision(sello, PUBLIC_URL, reloj, contexto=contexto, **kwargs)


def solicitud(registro, n):
    return AcuseSolicitado(**{**registro, "folio": f"{registro['folio']}-{n:02d}"})


def fila(db, folio):
    resultado = db.execute(select(tabla_solicitudes).where(tabla_solicitudes.c.folio == folio)).one()
    db.commit()
    return resultado


def muestra(nombre, **etiquetas):
    return REGISTRY.get_sample_value(nombre, etiquetas) or 0.0


def test_a_failed_first_try_is_stored_and_scheduled_then_parked_after_the_last(db, sello_dev, registro, caplog):
    reloj = RelojFijo(AHORA)
    pedida = AcuseSolicitado(**registro)
    armar = Documento(fallan={pedida.folio})
    datos = emision(sello_dev, reloj, armar)
    fallas, estancados = muestra("buzon_acuses_fallas_render_total", motivo="error"), \
        muestra("buzon_acuses_estancados_total")

    # The first try is the handler's, when the request arrives; its failure is handled, not raised.
    assert acuses.atender(db, pedida, datos) == REINTENTO
    primera = fila(db, pedida.folio)
    assert (primera.intentos, primera.proximo_intento, primera.estancada_en) == (1, AHORA + timedelta(seconds=30),
                                                                              None)
    assert primera.ultimo_error == "error: ValueError: el documento no se pudo armar"

    # Not due yet: the sweep leaves it; a redelivered event doesn't try it either (it has failed: the sweep's).
    reloj.avanzar(seconds=29)
    assert acuses.emitir_pendientes(db, datos) == 0
    assert acuses.atender(db, pedida, datos) == SIN_CAMBIO
    assert len(armar.llamadas) == 1

    for intento, espera in ((2, 1), (3, 120), (4, 600)):
        reloj.avanzar(seconds=espera)
        acuses.emitir_pendientes(db, datos)
        assert fila(db, pedida.folio).intentos == intento
    reloj.avanzar(minutes=29)
    acuses.emitir_pendientes(db, datos)
    assert fila(db, pedida.folio).intentos == 4

    caplog.set_level(logging.ERROR, logger="buzon_acuses")
    reloj.avanzar(minutes=1)
    acuses.emitir_pendientes(db, datos)
    parked = fila(db, pedida.folio)
    assert (parked.intentos, parked.proximo_intento, parked.estancada_en) == (5, None, reloj.ahora())
    assert any(r.levelno == logging.ERROR and pedida.folio in r.getMessage() and "estancado" in r.getMessage()
               for r in caplog.records)
    assert muestra("buzon_acuses_fallas_render_total", motivo="error") == fallas + 5
    assert muestra("buzon_acuses_estancados_total") == estancados + 1

    # Parked: never taken again, however long the wait; nor by a redelivered event.
    reloj.avanzar(days=30)
    assert acuses.emitir_pendientes(db, datos) == 0
    assert acuses.atender(db, pedida, datos) == SIN_CAMBIO
    assert len(armar.llamadas) == 5
    assert not acuses.emitido(db, pedida.folio)

    # Until an operator re-queues it: counted from zero, due now, and issued by the next sweep.
    armar.fallan.clear()
    assert reintentos.reencolar(db, [pedida.folio, "REG-2026-99999999"], ahora=reloj.ahora()) == [pedida.folio]
    assert acuses.emitir_pendientes(db, datos) == 1
    issued = fila(db, pedida.folio)
    assert acuses.emitido(db, pedida.folio)
    assert (issued.intentos, issued.proximo_intento, issued.estancada_en) == (0, None, None)


def test_a_few_that_always_fail_never_stall_the_sweep(db, sello_dev, registro):
    reloj = RelojFijo(AHORA)
    # The failing ones are the oldest, so they are first in line.
    malas = [solicitud(registro, n) for n in range(3)]
    buenas = [solicitud(registro, n) for n in range(3, 33)]
    armar = Documento(fallan={s.folio for s in malas}, error=KeyError("tipo_usuario"))
    datos = emision(sello_dev, reloj, armar)
    for n, pedida in enumerate(malas + buenas):
        guardar(db, pedida, ahora=AHORA - minutos(60) + timedelta(seconds=n), reserva=datos.reserva)
    # And a fresh one, still its handler's: not due, not taken.
    reciente = solicitud(registro, 99)
    guardar(db, reciente, ahora=AHORA, reserva=datos.reserva)

    assert acuses.pendientes(db, ahora=AHORA, limite=100) == [s.folio for s in malas + buenas]
    assert acuses.emitir_pendientes(db, datos) == len(buenas)
    assert all(acuses.emitido(db, s.folio) for s in buenas)
    # Each failing one was tried once in that sweep, and is rescheduled, not retried at once.
    assert sorted(f for f in armar.llamadas if f in armar.fallan) == sorted(s.folio for s in malas)
    for pedida in malas:
        mala = fila(db, pedida.folio)
        assert (mala.intentos, mala.proximo_intento) == (1, AHORA + timedelta(seconds=30))
        assert mala.ultimo_error == "error: KeyError: 'tipo_usuario'"
    assert not acuses.emitido(db, reciente.folio) and reciente.folio not in armar.llamadas
    assert acuses.pendientes(db, ahora=AHORA, limite=100) == []


def test_a_sweep_takes_at_most_its_limit_oldest_first(db, sello_dev, registro):
    reloj = RelojFijo(AHORA)
    pedidas = [solicitud(registro, n) for n in range(5)]
    armar = Documento()
    datos = emision(sello_dev, reloj, armar)
    for n, pedida in enumerate(reversed(pedidas)):
        guardar(db, pedida, ahora=AHORA - minutos(10) + timedelta(seconds=n), reserva=datos.reserva)
    assert acuses.emitir_pendientes(db, datos, limite=2) == 2
    assert armar.llamadas == [pedidas[4].folio, pedidas[3].folio]
    assert acuses.emitir_pendientes(db, datos, limite=10) == 3


def test_a_sweep_reserves_what_it_takes_so_another_replica_passes_it_by(db, sello_dev, registro):
    datos = emision(sello_dev, RelojFijo(AHORA))
    pedida = AcuseSolicitado(**registro)
    guardar(db, pedida, ahora=AHORA - minutos(10), reserva=datos.reserva)
    assert reintentos.reclamar(db, ahora=AHORA, reserva=datos.reserva) == pedida.folio
    assert reintentos.reclamar(db, ahora=AHORA, reserva=datos.reserva) is None
    # If the one that took it dies, it is due again once the reservation is over.
    assert reintentos.reclamar(db, ahora=AHORA + datos.reserva, reserva=datos.reserva) == pedida.folio


def test_a_render_that_fails_on_a_first_download_stores_nothing_and_says_try_again(db, sello_dev, registro):
    pedida = AcuseSolicitado(**registro)
    assert acuses.atender(db, pedida, emision(sello_dev, RelojFijo(AHORA))) == EMITIDO
    # What the acuses service's Renderizador raises: the renderer's cause, or none answering in time.
    for falla, motivo in ((RenderNoDisponible("detenido"), "detenido"),
                          (RenderNoDisponible("sin_renderizador"), "sin_renderizador"),
                          (PlazoAgotado("la tarea excedió 60 s"), "plazo"),
                          (ProcesoCaido("el proceso terminó durante la tarea (señal SIGKILL)"), "proceso")):
        antes = muestra("buzon_acuses_fallas_descarga_total", motivo=motivo)

        def fallar(folio, plantilla, valores, falla=falla):
            raise falla

        with pytest.raises(ServicioNoDisponible) as error:
            acuses.pdf_de(db, pedida.folio, pedida.rfc, renderizar=fallar, ahora=AHORA)
        assert error.value.extra["reintentar_en_s"] >= 1 and "Intenta de nuevo" in error.value.mensaje
        assert muestra("buzon_acuses_fallas_descarga_total", motivo=motivo) == antes + 1
        # Nothing stored, nothing counted against the acuse: the next download renders it.
        assert db.execute(select(tabla_acuses.c.pdf).where(tabla_acuses.c.folio == pedida.folio)).scalar_one() is None
        db.commit()
        assert fila(db, pedida.folio).intentos == 0
    assert acuses.pdf_de(db, pedida.folio, pedida.rfc, renderizar=lambda *a: PDF, ahora=AHORA) == PDF


def test_a_request_the_real_document_cant_build_is_retried_then_parked(db, sello_dev, registro):
    roto = AcuseSolicitado(**{**registro, "tipo": "desconocido"})
    datos = emision(sello_dev, RelojFijo(AHORA), reintentos=Reintentos((1.0,)))
    assert acuses.atender(db, roto, datos) == REINTENTO
    assert fila(db, roto.folio).ultimo_error == "error: ValueError: tipo de acuse desconocido: 'desconocido'"
    assert acuses.emitir_pendientes(db, emision(sello_dev, RelojFijo(AHORA + timedelta(seconds=1)),
                                                reintentos=Reintentos((1.0,)))) == 0
    assert fila(db, roto.folio).estancada_en == AHORA + timedelta(seconds=1)


def test_issued_means_nothing_left_to_do(db, sello_dev, registro):
    datos = emision(sello_dev, RelojFijo(AHORA))
    pedida = AcuseSolicitado(**registro)
    assert acuses.atender(db, pedida, datos) == EMITIDO
    assert fila(db, pedida.folio).proximo_intento is None
    # A redelivery of an issued one renders nothing and changes nothing.
    assert acuses.atender(db, pedida, datos) == SIN_CAMBIO
    assert reintentos.registrar_falla(db, pedida.folio, motivo="error", detalle="tarde", ahora=AHORA,
                                      reintentos=Reintentos()) == SIN_CAMBIO
    assert fila(db, pedida.folio).intentos == 0


def test_a_render_that_hangs_in_the_real_pool_is_abandoned_and_the_other_downloads_served(db, sello_dev, registro,
                                                                                          monkeypatch):
    """The pool and the rules together: a hung render is killed at its limit; its download says "try again"."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    pruebas = importlib.import_module("renders_de_prueba")
    colgada = AcuseSolicitado(**{**registro, "folio": registro["folio"].replace("REG", pruebas.COLGARSE)})
    buenas = [solicitud(registro, n) for n in range(4)]
    grupo = GrupoDeProcesos(pruebas.pdf_o_colgarse, procesos=2, plazo_s=1.0, nombre="acuses-render")
    grupo.iniciar()
    try:
        datos = emision(sello_dev, RelojFijo(AHORA))
        for pedida in [colgada] + buenas:
            assert acuses.atender(db, pedida, datos) == EMITIDO

        def renderizar(folio, plantilla, valores):
            return grupo.ejecutar(plantilla, valores)

        plazos = muestra("buzon_acuses_fallas_descarga_total", motivo="plazo")
        with pytest.raises(ServicioNoDisponible):
            acuses.pdf_de(db, colgada.folio, colgada.rfc, renderizar=renderizar, ahora=AHORA)
        assert muestra("buzon_acuses_fallas_descarga_total", motivo="plazo") == plazos + 1
        for pedida in buenas:
            assert acuses.pdf_de(db, pedida.folio, pedida.rfc, renderizar=renderizar, ahora=AHORA).startswith(b"%PDF")
        assert len(grupo.pids()) == 2
    finally:
        grupo.matar()


# -- the operator's command ---------------------------------------------------------------------------------------

def test_the_operator_lists_and_requeues_parked_acuses(db, entorno_bd, sello_dev, registro, capsys):
    reloj = RelojFijo(AHORA)
    pedidas = [solicitud(registro, n) for n in range(3)]
    datos = emision(sello_dev, reloj)
    for pedida in pedidas:
        guardar(db, pedida, ahora=AHORA, reserva=datos.reserva)
        db.execute(update(tabla_solicitudes).where(tabla_solicitudes.c.folio == pedida.folio)
                   .values(intentos=5, proximo_intento=None, estancada_en=AHORA,
                           ultimo_error="plazo: la tarea excedió 60 s"))
    db.commit()
    assert operacion.main(["estancadas"]) == 0
    salida = capsys.readouterr().out
    assert all(p.folio in salida for p in pedidas) and "3 acuses estancados" in salida
    assert "plazo: la tarea excedió 60 s" in salida and "2026-11-28T12:00:00-06:00" in salida

    assert operacion.main(["reencolar", pedidas[0].folio, "REG-2026-99999999"]) == 0
    salida = capsys.readouterr().out
    assert f"{pedidas[0].folio}\treencolado" in salida and "REG-2026-99999999\tno está estancado" in salida
    assert fila(db, pedidas[0].folio).estancada_en is None and fila(db, pedidas[0].folio).intentos == 0
    assert operacion.main(["reencolar", "REG-2026-99999999"]) == 1

    assert operacion.main(["reencolar", "--todas"]) == 0
    assert "2 acuses reencolados" in capsys.readouterr().out
    assert operacion.main(["estancadas"]) == 0
    assert "No hay acuses estancados." in capsys.readouterr().out
    # Due from the moment they were re-queued: the next sweep issues them all.
    assert acuses.emitir_pendientes(db, emision(sello_dev, RelojFijo(datetime.now(timezone.utc)))) == 3
    with pytest.raises(SystemExit):
        operacion.main(["reencolar"])


def test_the_operators_command_says_what_is_wrong_with_a_database_without_its_tables(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("BUZON_DATABASE_URL", raising=False)
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    assert operacion.main(["estancadas"]) == 1
    assert "buzon-migrar" in capsys.readouterr().err
