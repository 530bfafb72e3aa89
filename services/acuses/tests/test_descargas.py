"""First downloads (PostgreSQL): two replicas rendering one acuse at once store one PDF and serve it both; downloads
waiting on one render in a process share its failure and leave nothing behind; an acuse renders with the template
version and the values fixed when it was issued, whatever changed since."""
import importlib
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import eventlet
import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from buzon_acuses import acuses, documento
from buzon_acuses.models import acuses as tabla_acuses
from buzon_acuses import render
from buzon_acuses.procesos import GrupoDeProcesos
from buzon_acuses.renderizador import RenderNoDisponible, Renderizador, esperar_lectura, olvidar
from buzon_acuses.solicitudes import guardar
from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.eventos import AcuseSolicitado

AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
PUBLIC_URL = "https://buzon.imss.example"


def emitido(db, sello, solicitud: dict) -> AcuseSolicitado:
    pedida = AcuseSolicitado(**solicitud)
    guardar(db, pedida, ahora=AHORA)
    assert acuses.emitir(db, pedida.folio, sello=sello, public_url=PUBLIC_URL, ahora=AHORA)
    return pedida


def test_two_replicas_rendering_one_acuse_at_once_store_one_pdf_and_both_serve_it(db, url_bd, sello_dev, registro):
    pedida = emitido(db, sello_dev, registro)
    # Each replica's render gives bytes of its own here, so what was stored shows whose it was.
    propios = {"A": b"%PDF-1.7 de la replica A", "B": b"%PDF-1.7 de la replica B"}
    ambas = threading.Barrier(2, timeout=30)

    def replica(sesion, nombre, ahora):
        def renderizar(folio, plantilla, valores):
            ambas.wait()  # both found no PDF stored before either stores its own
            return propios[nombre]

        return acuses.pdf_de(sesion, pedida.folio, pedida.rfc, renderizar=renderizar, ahora=ahora)

    otra = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), "acuses")
    try:
        with Session(otra) as db_b:
            descargas = [eventlet.spawn(replica, db, "A", AHORA),
                         eventlet.spawn(replica, db_b, "B", AHORA + timedelta(seconds=1))]
            servidos = [d.wait() for d in descargas]
    finally:
        otra.dispose()

    fila = db.execute(select(tabla_acuses.c.pdf, tabla_acuses.c.renderizado_en)
                      .where(tabla_acuses.c.folio == pedida.folio)).one()
    db.commit()
    [primera] = [nombre for nombre, pdf in propios.items() if pdf == bytes(fila.pdf)]
    assert servidos == [propios[primera]] * 2
    assert fila.renderizado_en == (AHORA if primera == "A" else AHORA + timedelta(seconds=1))
    # And from then on, what is stored.
    assert acuses.pdf_de(db, pedida.folio, pedida.rfc, renderizar=lambda *_: b"%PDF- otra vez",
                         ahora=AHORA) == propios[primera]


class RenderizadoresAqui:
    """The acuses service's proxy to the renderers without the bus: each request runs the renderer's RPC body
    (`render.pdf_en_base64`) over a pool of processes."""

    def __init__(self, grupo: GrupoDeProcesos):
        self.grupo = grupo

    def pdf(self, plantilla, valores):
        return render.pdf_en_base64(self.grupo.ejecutar, plantilla, valores)


@pytest.fixture
def renderizador(monkeypatch):
    """The acuses service's Renderizador asking renderers whose pool runs renders_de_prueba.pdf_o_colgarse (a folio
    marked COLGAR hangs), with a 1 s limit and the service's cooperative waits."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    pruebas = importlib.import_module("renders_de_prueba")
    grupo = GrupoDeProcesos(pruebas.pdf_o_colgarse, procesos=2, plazo_s=1.0, nombre="acuses-render",
                            dormir=eventlet.sleep, esperar_lectura=esperar_lectura, al_cerrar=olvidar)
    grupo.iniciar()
    proveedor = Renderizador()
    yield (lambda *argumentos: proveedor.renderizar(RenderizadoresAqui(grupo), *argumentos)), proveedor, grupo, \
        pruebas.COLGARSE
    grupo.matar()


def test_downloads_waiting_on_one_render_that_fails_all_get_its_failure_and_the_next_download_renders_again(
        renderizador):
    renderizar, proveedor, grupo, colgarse = renderizador
    folio = f"{colgarse}-2026-00000001"
    antes = set(grupo.pids())

    def descargar():
        try:
            return renderizar(folio, "1", {"folio": folio})
        except RenderNoDisponible as exc:
            return exc

    descargas = [eventlet.spawn(descargar) for _ in range(3)]
    resultados = [d.wait() for d in descargas]
    # The renderer's cause crosses the bus: its time limit.
    assert [r.motivo for r in resultados] == ["plazo"] * 3, resultados
    # One render for the three: one process past its limit was killed and replaced, the other never used.
    assert len(antes & set(grupo.pids())) == 1
    assert proveedor.en_curso == {}
    # Nothing left waiting on the failed render: the next downloads render again (and share that one).
    bueno = "REG-2026-00000001"
    descargas = [eventlet.spawn(renderizar, bueno, "1", {"folio": bueno}) for _ in range(3)]
    assert [d.wait() for d in descargas] == [b"%PDF-1.7 " + bueno.encode()] * 3
    assert proveedor.en_curso == {}


def test_an_acuse_renders_with_the_template_version_and_the_values_fixed_when_it_was_issued(
        db, sello_dev, registro, baja, monkeypatch, tmp_path):
    anterior = emitido(db, sello_dev, registro)
    vigente = documento.PLANTILLA_VIGENTE
    titulo = documento.TITULOS["registro_medio"]

    # Later a new version of the template is released, and a text changes.
    siguiente = str(max(int(v) for v in documento.PLANTILLAS) + 1)
    (tmp_path / "acuse-siguiente.html").write_text("<html><body>Versión siguiente: {{ titulo }} {{ folio }}</body></html>")
    entorno = Environment(loader=ChoiceLoader([PackageLoader("buzon_acuses", "plantillas"),
                                               FileSystemLoader(tmp_path)]),
                          autoescape=select_autoescape(["html"]))
    monkeypatch.setattr(documento, "_entorno", lambda: entorno)
    monkeypatch.setitem(documento.PLANTILLAS, siguiente, documento.Plantilla("acuse-siguiente.html", "-"))
    monkeypatch.setattr(documento, "PLANTILLA_VIGENTE", siguiente)
    monkeypatch.setitem(documento.TITULOS, "registro_medio", "Un título nuevo")
    monkeypatch.setitem(documento.TITULOS, "baja_medio", "Un título nuevo")
    nueva = emitido(db, sello_dev, baja)

    versiones = {}

    def renderizar(folio, plantilla, valores):
        versiones[folio] = plantilla
        return documento.html_de(plantilla, valores).encode()

    html_anterior = acuses.pdf_de(db, anterior.folio, anterior.rfc, renderizar=renderizar, ahora=AHORA).decode()
    html_nueva = acuses.pdf_de(db, nueva.folio, nueva.rfc, renderizar=renderizar, ahora=AHORA).decode()
    assert versiones == {anterior.folio: vigente, nueva.folio: siguiente}
    # The one issued before: its version's file and the title it was issued with.
    assert "Versión siguiente" not in html_anterior and titulo in html_anterior
    assert "Un título nuevo" not in html_anterior
    assert html_nueva == f"<html><body>Versión siguiente: Un título nuevo {nueva.folio}</body></html>"
