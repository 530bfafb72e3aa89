"""A notification left unopened is deemed notified (notificación tácita), end to end on `make up`'s system (issue 13):
an Institute system deposits two notifications into an active Particular's Buzón; the aviso of each reaches the
person; one is opened by signing, the other stays unopened and, once its días hábiles have run, is deemed notified on
the 4th día hábil after the day its aviso counts on, at the schedule's opening. The depositing system's query shows
it `tacita` with that date, a folio and a código de verificación; the person's list shows it deemed; its document
downloads without signing; its acuse de notificación states the deemed date and the titular's name; opening it now is
409 `ya_notificada`; `notificacion_tacita` reaches buzon's exchange. The opened one stays `abierta`.

How the clock moves: the test moves this person's recorded times in buzon's tables (`depositada_en`,
`aviso_enviado_en`, `notificada_en`, `verificado_en` and the avisos' `solicitado_en`/`enviado_en`) 15 days back, in
one transaction, once every aviso was reported sent. Every rule of the Buzón depends only on now − those times (the
deemed moment is computed from `aviso_enviado_en`, the sweep asks for `aviso_enviado_en < limit(now)`), so this is
the clock moving 15 days forward for this person's notifications and nobody else's, with the running system
untouched: the deeming itself is done by buzon (its timer or a view's `al_dia`, whichever comes first) and read
only through the public API, the bus and the acuse. The service has no movable clock outside its unit tests (the
rule with a fixed clock is tested there: services/buzon/tests/test_apertura.py, test_habiles.py).

The expected deemed moment is computed here from the shipped calendar's días inhábiles and the rule as DOMINIO.md
states it (weekends, the 18:00 closing, 3 días hábiles to open, deemed at 07:30), not with buzon's `Calendario`."""
import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
import requests
from nameko.containers import ServiceContainer
from sqlalchemy import text

from buzon_buzon.habiles import ARCHIVO_OFICIAL, cargar_dias_inhabiles
from buzon_comun.config import Config
from buzon_comun.db import crear_engine
from buzon_comun.eventos import leer
from buzon_dev.pruebas import b64, esperar, firmar, oyente
from tests.test_e2e_buzon import PDF, _deposito, _sistema_depositante

pytestmark = pytest.mark.e2e

# A Particular (no padrón needed) that no other test uses.
RFC, NOMBRE, CURP = "SOLT790303AB5", "TERESA SOTO LARA", "SOLT790303MDFTRRA9"
CORREO, TELEFONO = "teresa.soto@example.mx", "5579790303"
ATRAS = dt.timedelta(days=15)

MEXICO = ZoneInfo("America/Mexico_City")
MESES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre")


def _momento_tacito(aviso: dt.datetime) -> dt.datetime:
    """DOMINIO.md's rule with the defaults (07:30-18:00, 3 días hábiles) on the shipped calendar: the aviso counts
    on its own day if hábil and before 18:00, else on the next día hábil; deemed on the 4th día hábil after that
    day, at 07:30 Mexico City."""
    inhabiles = cargar_dias_inhabiles(ARCHIVO_OFICIAL)

    def habil(dia):
        return dia.weekday() < 5 and dia not in inhabiles

    def siguiente(dia):
        dia += dt.timedelta(days=1)
        while not habil(dia):
            dia += dt.timedelta(days=1)
        return dia

    local = aviso.astimezone(MEXICO)
    dia = local.date()
    if not habil(dia) or local.time() >= dt.time(18, 0):
        dia = siguiente(dia)
    for _ in range(4):
        dia = siguiente(dia)
    return dt.datetime.combine(dia, dt.time(7, 30), tzinfo=MEXICO)


def _mover_reloj(sistema, rfc: str, atras: dt.timedelta) -> None:
    """Every recorded time of the RFC's notifications and avisos in buzon's schema, `atras` earlier."""
    engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": sistema.entorno["BUZON_DATABASE_URL"]}),
                          "buzon", conexiones=1)
    intervalo = {"rfc": rfc, "atras": atras}
    try:
        with engine.begin() as db:
            db.execute(text(
                "UPDATE avisos SET solicitado_en = solicitado_en - :atras, enviado_en = enviado_en - :atras "
                "WHERE notificacion_id IN (SELECT id FROM notificaciones WHERE rfc = :rfc)"), intervalo)
            movidas = db.execute(text(
                "UPDATE notificaciones SET depositada_en = depositada_en - :atras, "
                "aviso_enviado_en = aviso_enviado_en - :atras, notificada_en = notificada_en - :atras, "
                "verificado_en = verificado_en - :atras WHERE rfc = :rfc"), intervalo).rowcount
    finally:
        engine.dispose()
    assert movidas == 2


@pytest.fixture
def oyente_tacitas(sistema):
    """buzon's `notificacion_tacita` events as a depositing system would hear them on the system's broker."""
    clase, recibidos = oyente("oyente_e2e_tacitas", ("buzon", "notificacion_tacita"))
    contenedor = ServiceContainer(clase, {"AMQP_URI": sistema.entorno["BUZON_AMQP_URI"], "serializer": "json"})
    contenedor.start()
    yield recibidos
    contenedor.stop()


def _pdf_a_texto(ruta) -> str:
    texto = subprocess.run(["pdftotext", "-layout", str(ruta), "-"], capture_output=True, text=True,
                           check=True).stdout
    return " ".join(texto.split())


def test_an_unopened_notification_is_deemed_notified_when_its_days_have_run(sistema, oyente_tacitas, tmp_path):
    # The system runs with the shipped calendar and the rule's defaults, which _momento_tacito assumes.
    assert not {"BUZON_DIAS_INHABILES", "BUZON_HORARIO_HABIL", "BUZON_DIAS_HABILES_PARA_ABRIR"} & set(sistema.entorno)
    clave = _sistema_depositante(sistema)
    emitido = sistema.pki.emitir(RFC, NOMBRE, CURP)
    cabecera = sistema.login(emitido)
    sistema.validar_medios(cabecera, CORREO, TELEFONO)
    activado, _ = sistema.activar(cabecera, emitido)
    assert activado.status_code == 201, activado.text

    ids = []
    for referencia in ("OF-TACITA-1", "OF-TACITA-2"):
        depositada = requests.post(f"{sistema.api}/notificaciones", headers=clave,
                                   json=_deposito(rfc=RFC, referencia=referencia, registros_patronales=[]))
        assert depositada.status_code == 201, depositada.text
        ids.append(depositada.json()["id"])
    sin_abrir, abierta = ids

    def enviados(id_):
        vista = requests.get(f"{sistema.api}/notificaciones/{id_}", headers=clave).json()
        return vista["aviso_enviado_en"] and {a["estado"] for a in vista["avisos"]} == {"enviado"} and vista

    esperar(lambda: enviados(sin_abrir), plazo=60)
    esperar(lambda: enviados(abierta), plazo=60)

    # One is opened by signing, as soon as its aviso arrives; the other one's acuse de recibo is asked too (the page
    # is open) but never signed.
    cadena = requests.get(f"{sistema.api}/buzon/notificaciones/{abierta}/acuse-recibo",
                          headers=cabecera).json()["cadena_original"]
    apertura = requests.post(f"{sistema.api}/buzon/notificaciones/{abierta}/apertura", headers=cabecera, json={
        "certificado": b64(emitido.cer_der), "firma": firmar(emitido, cadena)})
    assert apertura.status_code == 200, apertura.text
    cadena_sin_firmar = requests.get(f"{sistema.api}/buzon/notificaciones/{sin_abrir}/acuse-recibo",
                                     headers=cabecera).json()["cadena_original"]
    antes = requests.get(f"{sistema.api}/notificaciones/{sin_abrir}", headers=clave).json()
    assert (antes["estado"], antes["folio_acuse"], antes["notificada_en"]) == ("pendiente", None, None)

    # The clock moves 15 days forward for this person's notifications.
    _mover_reloj(sistema, RFC, ATRAS)
    aviso = dt.datetime.fromisoformat(antes["aviso_enviado_en"]) - ATRAS
    esperado = _momento_tacito(aviso)
    assert esperado < dt.datetime.now(dt.timezone.utc)

    # Opening it now: refused, it is already deemed (even with the cadena offered before, and signed).
    tarde = requests.post(f"{sistema.api}/buzon/notificaciones/{sin_abrir}/apertura", headers=cabecera, json={
        "certificado": b64(emitido.cer_der), "firma": firmar(emitido, cadena_sin_firmar)})
    assert (tarde.status_code, tarde.json()["error"]["codigo"]) == (409, "ya_notificada"), tarde.text
    recibo = requests.get(f"{sistema.api}/buzon/notificaciones/{sin_abrir}/acuse-recibo", headers=cabecera)
    assert (recibo.status_code, recibo.json()["error"]["codigo"]) == (409, "ya_notificada")

    # The depositing system's query: tacita, on the deemed date (not the moment anything ran), folio and code.
    vista = requests.get(f"{sistema.api}/notificaciones/{sin_abrir}", headers=clave).json()
    assert vista["estado"] == "tacita", vista
    assert dt.datetime.fromisoformat(vista["notificada_en"]) == esperado
    assert dt.datetime.fromisoformat(vista["aviso_enviado_en"]) == aviso
    folio, codigo = vista["folio_acuse"], vista["codigo_verificacion"]
    assert re.fullmatch(rf"NOT-{esperado.year}-\d{{8}}", folio or ""), vista
    assert re.fullmatch(r"[A-Z2-7]{16}", codigo or ""), vista
    assert (vista["abrir_hasta"], vista["tacita_el"]) == (None, None)

    # The person's list: that one deemed, the opened one still abierta with its own folio.
    listadas = {n["id"]: n for n in requests.get(f"{sistema.api}/buzon/notificaciones",
                                                  headers=cabecera).json()["notificaciones"]}
    assert set(listadas) == {sin_abrir, abierta}
    assert (listadas[sin_abrir]["estado"], listadas[sin_abrir]["folio_acuse"],
            listadas[sin_abrir]["codigo_verificacion"], listadas[sin_abrir]["notificada_en"]) == (
        "tacita", folio, codigo, vista["notificada_en"])
    assert (listadas[abierta]["estado"], listadas[abierta]["folio_acuse"]) == ("abierta",
                                                                                apertura.json()["folio_acuse"])
    assert requests.get(f"{sistema.api}/notificaciones/{abierta}", headers=clave).json()["estado"] == "abierta"

    # Its document, without signing anything.
    documento = requests.get(f"{sistema.api}/buzon/notificaciones/{sin_abrir}/documento", headers=cabecera)
    assert (documento.status_code, documento.content) == (200, PDF)

    # The acuse de notificación: the deemed date and the titular's name.
    acuse = esperar(lambda: (r := requests.get(f"{sistema.api}/buzon/notificaciones/{sin_abrir}/acuse",
                                               headers=cabecera)).status_code == 200 and r, plazo=60)
    archivo = tmp_path / "acuse-tacita.pdf"
    archivo.write_bytes(acuse.content)
    texto = _pdf_a_texto(archivo)
    fecha = esperado.astimezone(MEXICO)
    assert f"{fecha.day:02d} de {MESES[fecha.month - 1]} de {fecha.year} 07:30:00 hrs." in texto, texto
    assert NOMBRE in texto and RFC in texto and folio in texto and "tácita" in texto.lower()

    # The bus: one notificacion_tacita for the deemed one, none for the opened one.
    [evento] = esperar(lambda: [e for _, e in map(leer, list(oyente_tacitas)) if e.id == sin_abrir], plazo=30)
    assert (evento.rfc, evento.referencia, evento.folio_acuse, evento.notificada_en) == (
        RFC, "OF-TACITA-1", folio, vista["notificada_en"])
    assert not [e for _, e in map(leer, list(oyente_tacitas)) if e.id == abierta]
