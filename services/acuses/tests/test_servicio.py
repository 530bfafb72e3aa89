"""The acuses service on real RabbitMQ and PostgreSQL: requests in, sealed PDFs stored once, served and verified."""
import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from sqlalchemy import select, update

from buzon_dev.procesos import vivo
from buzon_acuses import acuses, documento, render
from buzon_acuses.models import acuses as tabla_acuses, solicitudes as tabla_solicitudes
from buzon_acuses.pdf import pdf_de_documento
from buzon_acuses.procesos import ProcesoCaido
from buzon_acuses.renderizador import NOMBRE_PROCESO, GrupoRender
from buzon_acuses.service import Servicio
from buzon_dev.pruebas import esperar, llamar
from buzon_comun.codigos import nuevo_codigo
from buzon_comun.config import Config
from buzon_comun.ejecutar import config_nameko as configuracion_de
from buzon_comun.errores import DemasiadasSolicitudes, NoEncontrado, ServicioNoDisponible, SolicitudInvalida
from buzon_comun.eventos import AcuseSolicitado, mensaje
from buzon_comun.reloj import RelojFijo
from buzon_acuses import solicitudes

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
PUBLIC_URL = "https://buzon.imss.example"
CLIENTE = "ip:203.0.113.7"


@pytest.fixture
def renderizadores(container_factory, config_nameko, monkeypatch):
    """The acuse renderers (`acuses-render`), with two render processes."""
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    monkeypatch.setenv("BUZON_ACUSES_PROCESOS", "2")
    contenedor = container_factory(render.Servicio, config_nameko)
    contenedor.start()
    return contenedor


@pytest.fixture
def servicio(entorno_bd, renderizadores, container_factory, config_nameko, tmp_path, monkeypatch):
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    monkeypatch.setenv("BUZON_PUBLIC_URL", PUBLIC_URL)
    contenedor = container_factory(Servicio, config_nameko)
    contenedor.start()
    return contenedor


@pytest.fixture
def servicio_en_un_minuto(entorno_bd, container_factory, config_nameko, tmp_path, monkeypatch):
    """The service with a limit configured below its floor (so 30) and a clock that stays inside one minute."""
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    monkeypatch.setenv("BUZON_LIMITE_VERIFICACIONES_POR_MINUTO", "5")
    monkeypatch.setenv("BUZON_ACUSES_PROCESOS", "1")
    contenedor = container_factory(Servicio, config_nameko)
    replace_dependencies(contenedor, reloj=RelojFijo(AHORA))
    contenedor.start()
    return contenedor


@pytest.fixture
def despachar(config_nameko):
    enviar = event_dispatcher(config_nameko)

    def despachar(origen: str, solicitud: dict, id_evento: str | None = None) -> dict:
        contenido = mensaje(AcuseSolicitado(**solicitud), ahora=AHORA, id_evento=id_evento)
        enviar(origen, "acuse_solicitado", contenido)
        return contenido

    return despachar


def esperar_pdf(contenedor, folio, rfc, segundos=30) -> bytes:
    with eventlet.Timeout(segundos):
        while True:
            try:
                return base64.b64decode(llamar(contenedor, "pdf", folio, rfc))
            except NoEncontrado:
                eventlet.sleep(0.05)


def codigo_de(db, folio: str) -> str:
    codigo = db.execute(select(tabla_acuses.c.codigo_verificacion).where(tabla_acuses.c.folio == folio)).scalar_one()
    db.commit()
    return codigo


def texto_pdf(pdf: bytes) -> str:
    return " ".join(subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                                   check=True).stdout.decode().split())


def test_a_requested_acuse_is_issued_once_served_to_its_rfc_and_verified(servicio, despachar, db, registro):
    contenido = despachar("contactos", registro)
    pdf = esperar_pdf(servicio, registro["folio"], registro["rfc"])
    assert f"Folio: {registro['folio']}" in texto_pdf(pdf)
    assert esperar_pdf(servicio, registro["folio"], registro["rfc"]) == pdf
    fila = db.execute(select(tabla_acuses).where(tabla_acuses.c.folio == registro["folio"])).one()
    db.commit()

    # A redelivered request (same event, or the same folio again) changes nothing.
    despachar("contactos", registro, id_evento=contenido["id"])
    despachar("contactos", {**registro, "datos": {**registro["datos"], "valor": "otro@example.mx"}})
    eventlet.sleep(1.5)
    assert esperar_pdf(servicio, registro["folio"], registro["rfc"]) == pdf
    assert db.execute(select(tabla_acuses).where(tabla_acuses.c.folio == registro["folio"])).one() == fila
    db.commit()

    # The code printed on the PDF is the one its owner reads and the verification asks for.
    codigos = llamar(servicio, "codigos", registro["rfc"], [registro["folio"], "REG-2026-99999999"])
    assert codigos == {"codigos": {registro["folio"]: fila.codigo_verificacion}}
    assert llamar(servicio, "codigos", "EDE0101013A2", [registro["folio"]]) == {"codigos": {}}
    url = f"{PUBLIC_URL}/api/v1/acuses/{registro['folio']}/verificacion?codigo={fila.codigo_verificacion}"
    assert f"Código de verificación: {fila.codigo_verificacion}" in texto_pdf(pdf) and url in texto_pdf(pdf)

    verificacion = llamar(servicio, "verificacion", registro["folio"], fila.codigo_verificacion.lower(), CLIENTE)
    assert verificacion == {"folio": registro["folio"], "tipo": "registro_medio", "rfc": "MAVA800101RS5",
                            "emitido_en": registro["emitido_en"], "cadena_original": fila.cadena_original,
                            "sello_valido": True}

    for folio, rfc in ((registro["folio"], "EDE0101013A2"), ("REG-2026-99999999", "MAVA800101RS5"),
                       (registro["folio"] + "\x00", registro["rfc"])):
        with pytest.raises(NoEncontrado) as error:
            llamar(servicio, "pdf", folio, rfc)
        assert error.value.codigo == "no_encontrado"
    for folio, codigo in (("REG-2026-99999999", fila.codigo_verificacion), (registro["folio"], ""),
                          (registro["folio"], "A" * 16)):
        with pytest.raises(NoEncontrado):
            llamar(servicio, "verificacion", folio, codigo, CLIENTE)


def test_a_tampered_acuse_does_not_verify(servicio, despachar, db, baja):
    despachar("contactos", baja)
    esperar_pdf(servicio, baja["folio"], baja["rfc"])
    db.execute(update(tabla_acuses).where(tabla_acuses.c.folio == baja["folio"])
               .values(cadena_original=tabla_acuses.c.cadena_original + " "))
    db.commit()
    assert llamar(servicio, "verificacion", baja["folio"], codigo_de(db, baja["folio"]), CLIENTE)["sello_valido"] is False


def test_the_activations_acuse_arrives_from_the_activation(servicio, despachar, db, activacion_patron):
    despachar("activacion", activacion_patron)
    pdf = esperar_pdf(servicio, activacion_patron["folio"], activacion_patron["rfc"])
    assert "Patrones IMSS" in texto_pdf(pdf)
    verificacion = llamar(servicio, "verificacion", activacion_patron["folio"],
                          codigo_de(db, activacion_patron["folio"]), CLIENTE)
    assert verificacion["cadena_original"] == activacion_patron["datos"]["cadena_original"]
    assert verificacion["sello_valido"] is True


def test_failed_verifications_are_limited_per_client_as_configured(servicio_en_un_minuto, db, sello_dev, registro):
    solicitudes.guardar(db, AcuseSolicitado(**registro), ahora=AHORA)
    acuses.emitir(db, registro["folio"], sello=sello_dev, public_url=PUBLIC_URL, ahora=AHORA)
    codigo = llamar(servicio_en_un_minuto, "codigos", registro["rfc"], [registro["folio"]])["codigos"][registro["folio"]]
    # BUZON_LIMITE_VERIFICACIONES_POR_MINUTO never goes below 30.
    for _ in range(30):
        with pytest.raises(NoEncontrado):
            llamar(servicio_en_un_minuto, "verificacion", registro["folio"], "A" * 16, CLIENTE)
    with pytest.raises(DemasiadasSolicitudes):
        llamar(servicio_en_un_minuto, "verificacion", registro["folio"], codigo, CLIENTE)
    assert llamar(servicio_en_un_minuto, "verificacion", registro["folio"], codigo, "ip:198.51.100.9")["folio"] \
        == registro["folio"]
    with pytest.raises(SolicitudInvalida):
        llamar(servicio_en_un_minuto, "codigos", registro["rfc"], [registro["folio"]] * 101)

    # The timer's purge keeps the current minute (the clock has not moved).
    llamar(servicio_en_un_minuto, "purgar_limites")
    with pytest.raises(DemasiadasSolicitudes):
        llamar(servicio_en_un_minuto, "verificacion", registro["folio"], codigo, CLIENTE)


def renderizar_aqui(folio, plantilla, valores):
    return pdf_de_documento(plantilla, valores)


def test_the_sweep_issues_requests_left_behind_once(db, sello_dev, validacion):
    solicitudes.guardar(db, AcuseSolicitado(**validacion), ahora=AHORA)
    # Left behind: its handler's reservation ran out without an acuse (a crash, a stop).
    db.execute(update(tabla_solicitudes).where(tabla_solicitudes.c.folio == validacion["folio"])
               .values(proximo_intento=datetime.now(timezone.utc) - timedelta(minutes=5)))
    db.commit()
    ahora = datetime.now(timezone.utc)
    emision = acuses.Emision(sello_dev, PUBLIC_URL, RelojFijo(ahora))
    # Other tests' leftovers may be swept too; this one's folio is what matters.
    acuses.emitir_pendientes(db, emision, limite=1000)
    assert acuses.emitido(db, validacion["folio"])
    assert validacion["folio"] not in acuses.pendientes(db, ahora=ahora, limite=1000)
    primero = acuses.pdf_de(db, validacion["folio"], validacion["rfc"], renderizar=renderizar_aqui, ahora=ahora)
    assert acuses.emitir(db, validacion["folio"], sello=sello_dev, public_url=PUBLIC_URL, ahora=ahora) is False
    # Rendered once: later downloads serve the stored bytes, whatever a renderer would make now.
    assert acuses.pdf_de(db, validacion["folio"], validacion["rfc"], renderizar=lambda *_: b"%PDF- otro",
                         ahora=ahora) == primero


def test_a_fresh_request_is_left_to_the_handler_that_received_it(db, activacion_particular):
    solicitudes.guardar(db, AcuseSolicitado(**activacion_particular), ahora=datetime.now(timezone.utc))
    assert activacion_particular["folio"] not in acuses.pendientes(db, ahora=datetime.now(timezone.utc), limite=1000)


def test_rendering_does_not_stall_other_calls(servicio, despachar, registro, config_nameko):
    """While 6 acuses render on their first downloads, all at once, `salud` keeps answering quickly.

    An acuse holds a CPU 60-100 ms (template version 2 the least; more on a loaded machine), so rendering in the
    service's loop would stall every call for the whole batch: 6 acuses ≥ 350 ms. In the pool the loop only waits;
    250 ms leaves room for a loaded 2-core machine (the two rendering processes compete with this one for the CPU)
    while still failing if most of the batch rendered in the loop.
    """
    # The pool's processes have imported WeasyPrint once an acuse is out: what follows measures rendering only.
    despachar("contactos", registro)
    esperar_pdf(servicio, registro["folio"], registro["rfc"], segundos=60)
    lote = [{**registro, "folio": f"{registro['folio']}-{i}"} for i in range(6)]
    for solicitud in lote:
        despachar("contactos", solicitud)
    with ServiceRpcProxy("acuses", config_nameko) as proxy:
        for _ in range(5):
            proxy.salud()
        # Each download in a green thread of its own, with its own connection (a proxy serves one call at a time).
        descargas = [eventlet.spawn(esperar_pdf, servicio, s["folio"], s["rfc"], 60) for s in lote]
        latencias = []
        while not all(d.dead for d in descargas):
            inicio = time.perf_counter()
            assert proxy.salud()["estado"] == "ok"
            latencias.append(time.perf_counter() - inicio)
            eventlet.sleep(0.01)
    assert all(d.wait().startswith(b"%PDF") for d in descargas), "los acuses no se generaron a tiempo"
    assert len(latencias) >= 5, "la prueba no alcanzó a medir mientras se renderizaba"
    # The first call shares the loop with the six downloads' start (their connections and requests), not with
    # rendering: it is left out.
    latencias = latencias[1:]
    peores = sorted(latencias)[-3:]
    assert max(latencias) < 0.25, f"peores latencias de salud: {peores} en {len(latencias)} llamadas"


def procesos_de_render(contenedor):
    [grupo] = [e for e in contenedor.extensions if isinstance(e, GrupoRender)]
    return grupo.grupo


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("como", ["stop", "kill"])
def test_render_processes_are_named_under_the_renderer_and_none_outlives_it(servicio, renderizadores, despachar,
                                                                             registro, como):
    despachar("contactos", registro)
    esperar_pdf(servicio, registro["folio"], registro["rfc"], segundos=60)
    pids = procesos_de_render(renderizadores).pids()
    assert len(pids) == 2
    for pid in pids:
        with open(f"/proc/{pid}/comm") as comm:
            assert comm.read().strip() == NOMBRE_PROCESO
        with open(f"/proc/{pid}/stat") as stat:
            assert int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    # One killed while idle (out of memory, or by hand) is back within a couple of seconds, ready for the next.
    os.kill(pids[0], signal.SIGKILL)
    assert esperar(lambda: len(procesos_de_render(renderizadores).pids()) == 2 and pids[0] not in
                   procesos_de_render(renderizadores).pids(), plazo=10)
    pids = procesos_de_render(renderizadores).pids()
    getattr(renderizadores, como)()
    assert not [pid for pid in pids if vivo(pid)], "quedaron procesos de render tras detener el servicio"


class RenderQueFalla:
    """Stands in for the pool: fails (as a killed process would) for the folios it is told to; counts renders."""

    def __init__(self):
        self.fallan: set[str] = set()
        self.renders: list[str] = []

    def __call__(self, folio: str, plantilla: str, valores: dict) -> bytes:
        self.renders.append(folio)
        if folio in self.fallan:
            raise ProcesoCaido("el proceso terminó durante la tarea (señal SIGKILL)")
        return pdf_de_documento(plantilla, valores)


def test_an_acuse_is_issued_on_arrival_and_rendered_once_on_its_first_download(
        entorno_bd, container_factory, config_nameko, tmp_path, monkeypatch, despachar, db, registro, baja):
    # The renderers stand-in below is the acuses service's own dependency: no renderer runs.
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    renderizar = RenderQueFalla()
    renderizar.fallan.add(registro["folio"])
    contenedor = container_factory(Servicio, config_nameko)
    replace_dependencies(contenedor, renderizar=renderizar)
    contenedor.start()

    despachar("contactos", registro)
    despachar("contactos", baja)

    # Issued at once, sealed, verifiable and with its code: no render yet.
    def emitidos():
        filas = db.execute(select(tabla_acuses).where(tabla_acuses.c.folio.in_([registro["folio"], baja["folio"]]))
                           ).all()
        db.commit()
        return filas if len(filas) == 2 else None

    filas = esperar(emitidos, plazo=30)
    assert all(f.pdf is None and f.plantilla == documento.PLANTILLA_VIGENTE and f.contexto for f in filas)
    assert renderizar.renders == []
    codigo = codigo_de(db, baja["folio"])
    assert llamar(contenedor, "verificacion", baja["folio"], codigo, CLIENTE)["sello_valido"] is True

    # The first download renders it and stores it; later ones serve those bytes.
    pdf = base64.b64decode(llamar(contenedor, "pdf", baja["folio"], baja["rfc"]))
    assert f"Folio: {baja['folio']}" in texto_pdf(pdf) and codigo in texto_pdf(pdf)
    assert base64.b64decode(llamar(contenedor, "pdf", baja["folio"], baja["rfc"])) == pdf
    assert renderizar.renders == [baja["folio"]]

    # A render that fails: "try again", nothing stored; the next download renders it.
    with pytest.raises(ServicioNoDisponible):
        llamar(contenedor, "pdf", registro["folio"], registro["rfc"])
    renderizar.fallan.clear()
    assert f"Folio: {registro['folio']}" in texto_pdf(base64.b64decode(
        llamar(contenedor, "pdf", registro["folio"], registro["rfc"])))
    assert renderizar.renders == [baja["folio"], registro["folio"], registro["folio"]]


def test_downloads_of_one_acuse_at_once_make_one_render(servicio, renderizadores, despachar, registro):
    despachar("contactos", registro)
    grupo = procesos_de_render(renderizadores)
    renders = []
    original = grupo.ejecutar

    def contar(*argumentos):
        renders.append(argumentos[1]["folio"])
        return original(*argumentos)

    grupo.ejecutar = contar
    descargas = [eventlet.spawn(esperar_pdf, servicio, registro["folio"], registro["rfc"], 60) for _ in range(5)]
    pdfs = {d.wait() for d in descargas}
    assert len(pdfs) == 1 and next(iter(pdfs)).startswith(b"%PDF") and renders == [registro["folio"]]


def test_acuses_serves_its_own_number_of_calls_at_once():
    """BUZON_ACUSES_MAX_WORKERS (50, never below 10), apart from the other services' BUZON_MAX_WORKERS: calls that
    wait on a render process cost nothing while they wait, and cheap calls must not queue behind them."""
    assert configuracion_de(Config.desde_entorno({}), "acuses")["max_workers"] == 50
    config = Config.desde_entorno({"BUZON_ACUSES_MAX_WORKERS": "64", "BUZON_MAX_WORKERS": "12"})
    assert configuracion_de(config, "acuses")["max_workers"] == 64
    assert configuracion_de(config, "contactos")["max_workers"] == 12


def test_a_renderer_serves_as_many_calls_as_it_has_render_processes_and_two_more():
    """Past its processes, render requests wait in its queue (where KEDA counts them), while its health checks are
    still answered when every process renders."""
    assert configuracion_de(Config.desde_entorno({"BUZON_ACUSES_PROCESOS": "3"}), "acuses-render")["max_workers"] == 5


def test_the_acuse_de_notificacion_arrives_from_buzon(servicio, despachar, db):
    """buzon asks for it when a notification is deemed notified (and when one is opened): issued like the rest,
    with the código de verificación buzon minted (its answers name it before acuses has read the request)."""
    tacita = {"codigo_verificacion": nuevo_codigo(), "folio": f"NOT-2026-{uuid.uuid4().int % 10**8:08d}", "tipo": "notificacion", "rfc": "MAVA800101RS5",
              "emitido_en": "2026-12-11T00:00:00-06:00",
              "titular": {"rfc": "MAVA800101RS5", "nombre": None, "curp": None, "rfc_representante": None,
                          "tipo_persona": None},
              "datos": {"forma": "tacita", "notificacion_id": str(uuid.uuid4()), "sistema": "cobranza",
                        "asunto": "Requerimiento de pago", "area": "Subdelegación Centro",
                        "tipo_acto": "requerimiento", "registros_patronales": [],
                        "depositada_en": "2026-12-04T09:30:00-06:00", "aviso_enviado_en": "2026-12-04T09:31:05-06:00",
                        "documento_sha256": "ab" * 32, "notificada_en": "2026-12-11T00:00:00-06:00"}}
    despachar("buzon", tacita)
    pdf = esperar_pdf(servicio, tacita["folio"], tacita["rfc"])
    assert "Notificación tácita" in texto_pdf(pdf) and f"Folio: {tacita['folio']}" in texto_pdf(pdf)
    assert codigo_de(db, tacita["folio"]) == tacita["codigo_verificacion"]
    verificacion = llamar(servicio, "verificacion", tacita["folio"], tacita["codigo_verificacion"], CLIENTE)
    assert verificacion["tipo"] == "notificacion" and verificacion["sello_valido"] is True
    assert verificacion["emitido_en"] == tacita["emitido_en"]
    assert f"|tacita|{tacita['datos']['notificacion_id']}|" in verificacion["cadena_original"]
