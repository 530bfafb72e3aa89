"""`buzon-servicio NOMBRE`: run one service (or the gateway) in the foreground.

Services are found by name in the `buzon.servicios` entry point group, so operators run and scale each one on
its own (`buzon-servicio contactos` as many times as needed). SIGTERM or SIGINT stops gracefully; if the
workers don't finish within the grace period, the process is killed, because nameko ignores signals while
reconnecting to a lost broker.

`buzon-servicio [NOMBRE] --salud [--listo]` is the probe for Docker's HEALTHCHECK and Kubernetes: it answers from
the heartbeat every running process keeps (`buzon_comun.salud`), without HTTP and without starting anything, and
`buzon_comun.entrada` sends it there before this module (and eventlet) is imported.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from buzon_comun import produccion, salud  # noqa: E402
from buzon_comun.config import Config, ssl_amqp  # noqa: E402
from buzon_comun.latido import con_latido  # noqa: E402

log = logging.getLogger("buzon")

HOLGURA_RENDERIZADOR = 2


def max_workers(config: Config, nombre: str) -> int:
    """Calls a process serves at once. The gateway's and acuses' mostly wait (on other services; on the
    renderers, which costs them nothing while they wait), so they get more: a burst of first downloads of acuses
    waiting for their renders must not leave a cheap call of acuses (a verification, the codes) queued behind
    them."""
    if nombre == "gateway":
        return config.gateway_max_workers
    if nombre == "acuses":
        return config.acuses_max_workers
    if nombre == "acuses-render":
        # A renderer takes as many requests as it has render processes, and a little more so that its health
        # checks are answered while every process renders; the rest wait in its queue, where KEDA sees them.
        return config.acuses_procesos + HOLGURA_RENDERIZADOR
    return config.max_workers


class SinTrazaEsperada(logging.Filter):
    """An expected error (a contract refusal, `ErrorBuzon`) is logged by nameko as a warning with its traceback: the
    line says what was refused, and the traceback only costs CPU and log volume (a 404 polled for a while, a wrong
    code), so it is dropped. Faults keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info, record.exc_text = None, None
        return True


def config_nameko(config: Config, nombre: str) -> dict:
    host = os.environ.get("BUZON_GATEWAY_HOST", "127.0.0.1")
    return {
        "AMQP_URI": config.amqp_uri,
        "AMQP_SSL": ssl_amqp(config.amqp_uri),
        "max_workers": max_workers(config, nombre),
        "parent_calls_tracked": 10,
        "serializer": "json",
        "WEB_SERVER_ADDRESS": f"{host}:{config.gateway_port}",
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"simple": {"format": f"%(asctime)s {nombre} %(levelname)s %(name)s: %(message)s"}},
            "filters": {"esperados": {"()": SinTrazaEsperada}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple",
                                     "filters": ["esperados"]}},
            "root": {"level": os.environ.get("BUZON_LOG_LEVEL", "INFO"), "handlers": ["console"]},
        },
    }


def main(argv=None) -> int:
    """`buzon-servicio` (`buzon_comun.entrada`), for callers that already imported this module."""
    from buzon_comun import entrada

    return entrada.main(argv)


def ejecutar(args, punto_de_entrada, ajustes: salud.Ajustes) -> int:
    """Run the service `args.nombre` (its class behind `punto_de_entrada`) until it is stopped."""
    # Before anything connects or listens: a refused production start must leave no trace but its message.
    try:
        produccion.exigir(os.environ, args.nombre)
    except produccion.ConfiguracionDeDesarrollo as exc:
        print(f"buzon-servicio: {exc}", file=sys.stderr)
        return 2

    from logging.config import dictConfig

    from nameko.runners import ServiceRunner

    config = Config.desde_entorno()
    nameko_config = config_nameko(config, args.nombre)
    dictConfig(nameko_config["LOGGING"])
    clase = punto_de_entrada.load()
    runner = ServiceRunner(nameko_config)
    runner.add_service(con_latido(clase, args.nombre, ajustes))

    deteniendo = []

    def detener(signum, _frame):
        # Ctrl-C reaches the whole process group and the launcher then sends SIGTERM too: stop only once;
        # the grace period bounds the stop whatever signals follow.
        if deteniendo:
            return
        deteniendo.append(signum)
        log.info("señal %s: deteniendo %s", signum, args.nombre)
        eventlet.spawn_n(_detener_con_plazo, runner, args.gracia)

    signal.signal(signal.SIGTERM, detener)
    signal.signal(signal.SIGINT, detener)
    runner.start()
    log.info("%s en marcha", args.nombre)
    try:
        runner.wait()
    except Exception:  # noqa: BLE001
        log.exception("%s terminó con error", args.nombre)
        return 1
    return 0


def _detener_con_plazo(runner, gracia: float) -> None:
    try:
        with eventlet.Timeout(gracia):
            runner.stop()
    except eventlet.Timeout:
        log.warning("el trabajo en curso no terminó en %s s: se interrumpe", gracia)
        runner.kill()
    except Exception:  # noqa: BLE001
        runner.kill()


if __name__ == "__main__":
    sys.exit(main())
