"""BUZON_SECRETO_CODIGOS: configured in production, generated once and shared on a development machine."""
import os
import stat
import subprocess
import sys
import time

import pytest

from buzon_comun import archivos
from buzon_comun.config import Config
from buzon_comun.secretos import SecretoNoConfigurado, secreto_codigos


def config(tmp_path, **variables) -> Config:
    return Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path), **variables})


def archivo(tmp_path):
    return tmp_path / "secretos" / "codigos"


def test_el_secreto_configurado_se_usa_tal_cual(tmp_path):
    for entorno in ("desarrollo", "produccion"):
        assert secreto_codigos(config(tmp_path, BUZON_SECRETO_CODIGOS="señal-compartida", BUZON_ENTORNO=entorno)) \
            == "señal-compartida".encode("utf-8")
    assert not archivo(tmp_path).exists()


def test_en_desarrollo_se_genera_uno_con_permisos_0600(tmp_path):
    secreto = secreto_codigos(config(tmp_path))
    assert len(secreto) == 32
    ruta = archivo(tmp_path)
    assert bytes.fromhex(ruta.read_text(encoding="ascii")) == secreto
    assert stat.S_IMODE(ruta.stat().st_mode) == 0o600
    assert [p.name for p in ruta.parent.iterdir()] == ["codigos"], "no temporary file is left behind"


def test_se_reutiliza_el_generado(tmp_path):
    primero = secreto_codigos(config(tmp_path))
    assert secreto_codigos(config(tmp_path)) == primero
    assert secreto_codigos(config(tmp_path / "otra")) != primero


def test_quien_pierde_la_carrera_usa_el_del_ganador(tmp_path, monkeypatch):
    # Another process publishes its secret between our check and our link: ours is dropped, theirs is read.
    ganador = os.urandom(32)
    enlazar = os.link

    def otro_publica_antes(origen, destino):
        destino.parent.mkdir(parents=True, exist_ok=True)
        destino.write_text(ganador.hex(), encoding="ascii")
        enlazar(origen, destino)

    monkeypatch.setattr(archivos.os, "link", otro_publica_antes)
    assert secreto_codigos(config(tmp_path)) == ganador
    assert [p.name for p in archivo(tmp_path).parent.iterdir()] == ["codigos"]


def test_varios_procesos_a_la_vez_obtienen_el_mismo(tmp_path):
    # Each process waits for the same instant, so that they all find no file and race to create it.
    instante = time.time() + 2
    programa = (
        "import sys, time\n"
        "from buzon_comun.config import Config\n"
        "from buzon_comun.secretos import secreto_codigos\n"
        "config = Config.desde_entorno({'BUZON_DATA_DIR': sys.argv[1]})\n"
        "time.sleep(max(0, float(sys.argv[2]) - time.time()))\n"
        "print(secreto_codigos(config).hex())\n"
    )
    procesos = [
        subprocess.Popen([sys.executable, "-c", programa, str(tmp_path), str(instante)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    salidas = []
    for proceso in procesos:
        salida, errores = proceso.communicate(timeout=60)
        assert proceso.returncode == 0, errores
        salidas.append(salida.strip())
    assert len(set(salidas)) == 1
    assert archivo(tmp_path).read_text(encoding="ascii") == salidas[0]
    assert [p.name for p in archivo(tmp_path).parent.iterdir()] == ["codigos"]


def test_un_archivo_ajeno_es_un_error_claro(tmp_path):
    archivo(tmp_path).parent.mkdir(parents=True)
    archivo(tmp_path).write_text("no es hexadecimal", encoding="ascii")
    with pytest.raises(SecretoNoConfigurado, match="BUZON_SECRETO_CODIGOS"):
        secreto_codigos(config(tmp_path))


def test_en_produccion_sin_configurar_se_niega(tmp_path):
    with pytest.raises(SecretoNoConfigurado, match="BUZON_SECRETO_CODIGOS"):
        secreto_codigos(config(tmp_path, BUZON_ENTORNO="produccion"))
    assert not (tmp_path / "secretos").exists()
