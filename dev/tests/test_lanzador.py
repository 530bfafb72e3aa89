import signal
import sys
import time

import pytest

from buzon_dev.lanzador import Politica, Reinicios, Supervisor, politica_desde_entorno, replicas


class Reloj:
    """A monotonic clock that only moves when told to."""

    def __init__(self):
        self.ahora = 1000.0

    def __call__(self) -> float:
        return self.ahora

    def avanzar(self, segundos: float) -> None:
        self.ahora += segundos


def caidas(reinicios: Reinicios, reloj: Reloj, veces: int, vivo_s: float = 0.5) -> list:
    """The process runs `vivo_s`, ends, and is started again after the delay it was given, `veces` times."""
    retrasos = []
    for _ in range(veces):
        reinicios.arrancado(reloj())
        reloj.avanzar(vivo_s)
        retraso = reinicios.termino(reloj())
        retrasos.append(retraso)
        reloj.avanzar(retraso or 0)
    return retrasos


def test_reinicia_al_segundo_y_luego_espera_cada_vez_mas_hasta_rendirse():
    reloj = Reloj()
    reinicios = Reinicios(Politica(retrasos_s=(1, 2, 4, 8, 16, 30), estable_s=60, reinicios_maximos=5))

    assert caidas(reinicios, reloj, 7) == [1, 2, 4, 8, 16, None, None]


def test_la_espera_se_queda_en_la_mas_larga():
    reinicios = Reinicios(Politica(retrasos_s=(1, 2, 30), reinicios_maximos=6))

    assert caidas(reinicios, Reloj(), 7) == [1, 2, 30, 30, 30, 30, None]


def test_un_proceso_que_aguanto_en_marcha_vuelve_a_empezar_la_cuenta():
    reloj = Reloj()
    reinicios = Reinicios(Politica(retrasos_s=(1, 2, 4, 8, 16, 30), estable_s=60, reinicios_maximos=5))
    assert caidas(reinicios, reloj, 4) == [1, 2, 4, 8]

    assert caidas(reinicios, reloj, 1, vivo_s=60) == [1]
    assert caidas(reinicios, reloj, 5, vivo_s=59) == [2, 4, 8, 16, None]


def test_sin_reinicios_permitidos_se_rinde_a_la_primera():
    assert caidas(Reinicios(Politica(reinicios_maximos=0)), Reloj(), 1) == [None]


def test_reinicios_maximos_desde_el_entorno():
    assert politica_desde_entorno({}) == Politica()
    assert politica_desde_entorno({"BUZON_REINICIOS_MAXIMOS": "8"}).reinicios_maximos == 8
    assert politica_desde_entorno({"BUZON_REINICIOS_MAXIMOS": "0"}).reinicios_maximos == 0
    for malo in ("-1", "cinco", "2.5"):
        with pytest.raises(SystemExit, match="BUZON_REINICIOS_MAXIMOS"):
            politica_desde_entorno({"BUZON_REINICIOS_MAXIMOS": malo})


def test_replicas_por_servicio_o_para_todos():
    assert replicas("notificaciones-sms", {}) == 1
    assert replicas("notificaciones-sms", {"BUZON_REPLICAS": "2"}) == 2
    entorno = {"BUZON_REPLICAS": "2", "BUZON_REPLICAS_NOTIFICACIONES_SMS": "3"}
    assert replicas("notificaciones-sms", entorno) == 3
    assert replicas("notificaciones-correo", entorno) == 2
    assert replicas("gateway", {"BUZON_REPLICAS_GATEWAY": " 1 ", "BUZON_REPLICAS": "4"}) == 1
    for malo in ("0", "-2", "dos"):
        with pytest.raises(SystemExit, match="BUZON_REPLICAS_AUTH"):
            replicas("auth", {"BUZON_REPLICAS_AUTH": malo})


def test_el_supervisor_reinicia_cuando_toca_y_no_antes():
    """The supervisor over a movable clock: a process ended is started again only once its delay has passed."""
    reloj, avisos = Reloj(), []
    supervisor = Supervisor(politica=Politica(retrasos_s=(5,), reinicios_maximos=1), reloj=reloj,
                            avisar=avisos.append)
    proceso = supervisor.lanzar("breve", sys.executable, "-c", "pass")
    try:
        proceso.popen.wait(timeout=10)
        supervisor.vigilar()
        assert proceso.popen is None and avisos == [
            "el proceso breve terminó (código 0); se reinicia en 5 s (reinicio 1 de 1)."]

        reloj.avanzar(4.9)
        supervisor.vigilar()
        assert proceso.arranques == 1

        reloj.avanzar(0.1)
        supervisor.vigilar()
        assert proceso.arranques == 2 and avisos[-1] == f"breve reiniciado (pid {proceso.popen.pid})."

        proceso.popen.wait(timeout=10)
        supervisor.vigilar()
        assert proceso.abandonado and supervisor.grupos_abandonados() == {"breve"}
    finally:
        supervisor.detener()


def test_supervisor_sobre_procesos_reales(tmp_path):
    """One process that keeps crashing, one that runs on, one that ignores SIGTERM: the first is restarted with
    growing delays and given up loudly, the others untouched; stopping stops all three and restarts nothing."""
    avisos = []
    politica = Politica(retrasos_s=(0.1, 0.2, 0.4), estable_s=60, reinicios_maximos=3)
    supervisor = Supervisor(politica=politica, avisar=avisos.append, plazo_parada_s=1)
    listo = tmp_path / "listo"
    try:
        falla = supervisor.lanzar("falla", sys.executable, "-c", "import sys, time; time.sleep(0.2); sys.exit(3)")
        estable = supervisor.lanzar("estable", sys.executable, "-c", "import time; time.sleep(60)")
        terco = supervisor.lanzar("terco", sys.executable, "-c",
                                  "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                  "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)", str(listo))
        pid_estable = estable.popen.pid
        inicio = time.monotonic()
        while not falla.abandonado and time.monotonic() - inicio < 20:
            supervisor.vigilar()
            time.sleep(0.02)
        transcurrido = time.monotonic() - inicio

        assert falla.abandonado and falla.arranques == 4 and falla.popen is None
        # Four runs of 0.2 s and the delays between them, far from the 20 s bound whatever the machine's load.
        assert transcurrido >= 0.2 * 4 + 0.1 + 0.2 + 0.4
        terminos = [aviso for aviso in avisos if aviso.startswith("el proceso falla terminó")]
        assert terminos == [
            "el proceso falla terminó (código 3); se reinicia en 0.1 s (reinicio 1 de 3).",
            "el proceso falla terminó (código 3); se reinicia en 0.2 s (reinicio 2 de 3).",
            "el proceso falla terminó (código 3); se reinicia en 0.4 s (reinicio 3 de 3).",
        ]
        [abandono] = [aviso for aviso in avisos if aviso.startswith("ERROR")]
        assert abandono.startswith("ERROR: el proceso falla terminó (código 3) tras 3 reinicios seguidos")
        assert "DEGRADADO (sin falla)" in abandono
        assert not any("estable" in aviso or "terco" in aviso for aviso in avisos)
        assert estable.vivo() and estable.popen.pid == pid_estable and estable.arranques == 1
        assert terco.vivo() and terco.arranques == 1
        assert supervisor.grupos_abandonados() == {"falla"}

        while not listo.exists() and time.monotonic() - inicio < 20:
            time.sleep(0.02)
    finally:
        supervisor.detener()

    assert estable.popen.returncode == -signal.SIGTERM
    assert terco.popen.returncode == -signal.SIGKILL
    avisos_antes = list(avisos)
    supervisor.vigilar()
    assert avisos == avisos_antes and estable.arranques == 1 and terco.arranques == 1


def test_una_replica_abandonada_deja_en_marcha_las_demas_y_lo_dice():
    avisos = []
    supervisor = Supervisor(politica=Politica(reinicios_maximos=0), avisar=avisos.append)
    try:
        breve = supervisor.lanzar("sms#1", sys.executable, "-c", "import sys; sys.exit(2)", grupo="sms")
        larga = supervisor.lanzar("sms#2", sys.executable, "-c", "import time; time.sleep(60)", grupo="sms")
        breve.popen.wait(timeout=10)
        supervisor.vigilar()
        assert avisos == ["ERROR: el proceso sms#1 terminó (código 2) tras 0 reinicios seguidos y no se reinicia más; "
                          "el sistema queda DEGRADADO (quedan 1 de 2 procesos de sms); los demás procesos siguen en "
                          "marcha."]
        assert larga.vivo() and supervisor.grupos_abandonados() == set()
    finally:
        supervisor.detener()


def test_lo_que_termina_mientras_se_detiene_no_se_reinicia():
    avisos = []
    supervisor = Supervisor(politica=Politica(retrasos_s=(0,)), avisar=avisos.append)
    proceso = supervisor.lanzar("breve", sys.executable, "-c", "pass")
    try:
        proceso.popen.wait(timeout=10)
        supervisor.pedir_parada()  # as the signal handler does, before the launcher's loop sees it
        supervisor.vigilar()
        supervisor.vigilar()
        assert proceso.arranques == 1 and avisos == []
    finally:
        supervisor.detener()
