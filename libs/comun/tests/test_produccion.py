"""BUZON_ENTORNO=produccion: no process starts on a development stand-in or key, and each says what is missing."""
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from buzon_comun import produccion
from buzon_comun.produccion import ConfiguracionDeDesarrollo, comprobar, exigir

COMUNES = {"BUZON_DATABASE_URL", "BUZON_PUBLIC_URL"}
PROPIAS = {
    "auth": {"BUZON_SAT_CA_DIR", "BUZON_OCSP_URL"},
    "contactos": {"BUZON_PADRON_CSV", "BUZON_SECRETO_CODIGOS"},
    "notificaciones": set(),
    "notificaciones_correo": {"BUZON_SMTP_HOST"},
    "notificaciones_sms": {"BUZON_SMS_URL"},
    "activacion": set(),
    "acuses": {"BUZON_SELLO_CER", "BUZON_SELLO_KEY", "BUZON_SELLO_PASSWORD"},
    "gateway": {"BUZON_SISTEMAS_DEPOSITANTES"},
    "acuses_render": set(),
    "buzon": {"BUZON_DOCUMENTOS_CA_DIR"},
}
# The processes that keep no data never ask for a database.
SIN_DATOS = {"gateway", "acuses_render"}
COMPLETO = {
    "BUZON_ENTORNO": "produccion",
    "BUZON_DATABASE_URL": "postgresql://buzon:secreto@db.example/buzon",
    "BUZON_PUBLIC_URL": "https://buzon.example",
    "BUZON_SAT_CA_DIR": "/etc/buzon/sat-ca",
    "BUZON_OCSP_URL": "https://ocsp.example/",
    "BUZON_PADRON_CSV": "/etc/buzon/padron.csv",
    "BUZON_SECRETO_CODIGOS": "x" * 40,
    "BUZON_SMTP_HOST": "smtp.example",
    "BUZON_SMS_URL": "https://sms.example/v1",
    "BUZON_SELLO_CER": "/etc/buzon/sello.cer",
    "BUZON_SELLO_KEY": "/etc/buzon/sello.key",
    "BUZON_SELLO_PASSWORD": "contraseña",
    "BUZON_SISTEMAS_DEPOSITANTES": "/etc/buzon/sistemas-depositantes",
    "BUZON_DOCUMENTOS_CA_DIR": "/etc/buzon/documentos-ca",
}
BIN = Path(sys.executable).parent


def nombradas(problemas: list[str]) -> set[str]:
    return set(re.findall(r"BUZON_[A-Z_]+", " ".join(problemas)))


@pytest.mark.parametrize("servicio", sorted(PROPIAS))
def test_cada_servicio_nombra_solo_lo_que_usa(servicio):
    problemas = comprobar({"BUZON_ENTORNO": "produccion"}, servicio)
    esperadas = (COMUNES - ({"BUZON_DATABASE_URL"} if servicio in SIN_DATOS else set())) | PROPIAS[servicio]
    assert nombradas(problemas) == esperadas
    assert len(problemas) == len(esperadas), "one line per variable"


def test_sin_servicio_se_nombran_todas():
    assert nombradas(comprobar({"BUZON_ENTORNO": "produccion"}, None)) == set().union(COMUNES, *PROPIAS.values())


def test_los_nombres_de_los_puntos_de_entrada_valen():
    assert nombradas(comprobar({"BUZON_ENTORNO": "produccion"}, "notificaciones-correo")) == COMUNES | {"BUZON_SMTP_HOST"}
    assert nombradas(comprobar({"BUZON_ENTORNO": "produccion"}, "acuses-render")) == {"BUZON_PUBLIC_URL"}


def test_el_mapa_conoce_cada_servicio_declarado():
    # The table speaks nameko names; buzon-servicio receives entry point names: they must map one to the other.
    declarados = {}
    for ep in entry_points(group="buzon.servicios"):
        declarados[produccion.nombre_servicio(ep.name)] = ep.load().name
    assert all(nombre == clase for nombre, clase in declarados.items()), declarados
    nombrados = set().union(*(r.servicios for r in produccion.VARIABLES.values()))
    assert nombrados - {produccion.CADA_SERVICIO, produccion.MIGRACIONES} <= set(declarados)


def test_las_migraciones_solo_piden_la_base():
    assert nombradas(comprobar({"BUZON_ENTORNO": "produccion"}, produccion.MIGRACIONES)) == {"BUZON_DATABASE_URL"}


def test_con_todo_configurado_arranca():
    for servicio in [*PROPIAS, None, produccion.MIGRACIONES]:
        assert comprobar(COMPLETO, servicio) == []


@pytest.mark.parametrize("entorno", [{}, {"BUZON_ENTORNO": "desarrollo"}, {"BUZON_ENTORNO": " Desarrollo "}])
def test_en_desarrollo_nada_cambia(entorno):
    for servicio in [*PROPIAS, None, produccion.MIGRACIONES]:
        assert comprobar(entorno, servicio) == []
    exigir(entorno, "auth")


def test_una_variable_vacia_cuenta_como_ausente():
    entorno = {**COMPLETO, "BUZON_SELLO_KEY": "  "}
    assert nombradas(comprobar(entorno, "acuses")) == {"BUZON_SELLO_KEY"}


def test_sqlite_no_sirve_en_produccion():
    problemas = comprobar({**COMPLETO, "BUZON_DATABASE_URL": "sqlite:////datos/buzon.db"}, "activacion")
    assert nombradas(problemas) == {"BUZON_DATABASE_URL"}


def test_usuario_smtp_sin_tls_se_niega_en_produccion():
    entorno = {**COMPLETO, "BUZON_SMTP_USER": "buzon", "BUZON_SMTP_PASSWORD": "clave"}
    problemas = comprobar(entorno, "notificaciones_correo")
    assert nombradas(problemas) == {"BUZON_SMTP_USER", "BUZON_SMTP_STARTTLS"}
    assert comprobar(entorno, "auth") == [], "only the email worker logs in to SMTP"
    assert comprobar({**entorno, "BUZON_SMTP_STARTTLS": "1"}, "notificaciones_correo") == []
    assert comprobar({**entorno, "BUZON_SMTP_STARTTLS": "no"}, "notificaciones_correo") == problemas
    # Without a login nothing secret travels: a relay inside the Institute's network is allowed.
    assert comprobar(COMPLETO, "notificaciones_correo") == []
    entorno_desarrollo = {**entorno, "BUZON_ENTORNO": "desarrollo"}
    assert comprobar(entorno_desarrollo, "notificaciones_correo") == []


def test_un_entorno_desconocido_no_arranca():
    assert nombradas(comprobar({"BUZON_ENTORNO": "producción"}, "auth")) == {"BUZON_ENTORNO"}


def test_exigir_da_un_solo_mensaje_con_cada_variable():
    with pytest.raises(ConfiguracionDeDesarrollo) as error:
        exigir({"BUZON_ENTORNO": "produccion"}, "acuses")
    texto = str(error.value)
    assert "acuses" in texto and "produccion" in texto
    for variable in COMUNES | PROPIAS["acuses"]:
        assert variable in texto


def entorno_minimo(**variables) -> dict:
    # Nothing from the caller's environment, and a broker nobody listens on: the check must come first.
    return {"PATH": os.environ.get("PATH", ""), "BUZON_AMQP_URI": "amqp://guest:guest@127.0.0.1:9/", **variables}


def test_buzon_servicio_sale_con_2_y_el_mensaje(tmp_path):
    resultado = subprocess.run(
        [str(BIN / "buzon-servicio"), "notificaciones-correo"],
        env=entorno_minimo(BUZON_ENTORNO="produccion", BUZON_DATA_DIR=str(tmp_path),
                           BUZON_SMTP_USER="buzon"),
        capture_output=True, text=True, timeout=60,
    )
    assert resultado.returncode == 2, resultado.stderr
    for variable in ("BUZON_DATABASE_URL", "BUZON_PUBLIC_URL", "BUZON_SMTP_HOST", "BUZON_SMTP_STARTTLS"):
        assert variable in resultado.stderr
    assert "BUZON_SELLO_KEY" not in resultado.stderr
    assert "Traceback" not in resultado.stderr
    assert list(tmp_path.iterdir()) == [], "nothing started, nothing written"


def test_buzon_migrar_solo_pide_la_base(tmp_path):
    resultado = subprocess.run(
        [str(BIN / "buzon-migrar")],
        env=entorno_minimo(BUZON_ENTORNO="produccion", BUZON_DATA_DIR=str(tmp_path)),
        capture_output=True, text=True, timeout=60,
    )
    assert resultado.returncode == 2, resultado.stderr
    assert nombradas([resultado.stderr]) == {"BUZON_DATABASE_URL", "BUZON_ENTORNO"}
    assert list(tmp_path.iterdir()) == []
