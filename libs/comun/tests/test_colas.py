"""Queues are declared in one place (buzon_comun.colas): classic by default, quorum with BUZON_COLAS_QUORUM=1 for
every queue that outlives its consumers; reply and broadcast queues stay classic. The rule alone, then a service
with every kind of queue the system declares, started on a vhost of its own, as RabbitMQ lists them."""
from datetime import datetime, timezone

import pytest
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue
from nameko.rpc import RPC_REPLY_QUEUE_TTL
from sqlalchemy import MetaData

from buzon_comun import colas
from buzon_comun.bandeja_salida import encolar, tabla_salida
from buzon_comun.config import Config, colas_quorum
from buzon_comun.consumo import cola, cola_demora, cola_en_lotes, cola_fallidos, evento
from buzon_comun.db import BaseDatos, transaccion
from buzon_comun.eventos import SesionCerrada
from buzon_comun.remoto import Remoto
from buzon_comun.servicio import COLA_BITACORA, ConEventos, Salida, rpc
from buzon_dev.pruebas import esperar, llamar

AHORA = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)
QUORUM = {"x-queue-type": "quorum", "x-delivery-limit": colas.LIMITE_ENTREGAS}


# --- the rule ----------------------------------------------------------------------------------------------------

def test_the_flag_is_0_or_1_and_classic_when_unset():
    assert colas_quorum({}) is False and colas_quorum({"BUZON_COLAS_QUORUM": "0"}) is False
    assert colas_quorum({"BUZON_COLAS_QUORUM": " 1 "}) is True
    assert Config.desde_entorno({"BUZON_COLAS_QUORUM": "1"}).colas_quorum is True
    for malo in ("si", "true", "2"):
        with pytest.raises(ValueError, match="BUZON_COLAS_QUORUM"):
            colas_quorum({"BUZON_COLAS_QUORUM": malo})


def test_without_the_flag_every_queue_is_declared_as_before(monkeypatch):
    monkeypatch.delenv("BUZON_COLAS_QUORUM", raising=False)
    assert cola_demora(5).queue_arguments == {"x-message-ttl": 5000, "x-dead-letter-exchange": ""}
    assert cola_fallidos().queue_arguments is None and cola_fallidos().durable
    assert colas.cola(COLA_BITACORA, Exchange("auth.events", type="topic"), "#").queue_arguments is None


def test_with_the_flag_every_queue_that_outlives_its_consumers_is_quorum(monkeypatch):
    monkeypatch.setenv("BUZON_COLAS_QUORUM", "1")
    assert cola_fallidos().queue_arguments == QUORUM
    rpc_nameko = Queue("rpc-auth", exchange=Exchange("nameko-rpc", type="topic"), routing_key="auth.*", durable=True)
    ajustada = colas.ajustar(rpc_nameko)
    assert ajustada.queue_arguments == QUORUM
    assert (ajustada.name, ajustada.routing_key, ajustada.exchange.name) == ("rpc-auth", "auth.*", "nameko-rpc")
    assert rpc_nameko.queue_arguments is None  # nameko's own object is left as it was
    # A delay queue dead-letters back to its handler's queue, and waits until that queue took the message.
    assert cola_demora(5).queue_arguments == {"x-message-ttl": 5000, "x-dead-letter-exchange": "", **QUORUM,
                                              **colas.ARGUMENTOS_DESVIO_SEGURO}


def test_queues_that_live_only_while_used_stay_classic_whatever_the_flag():
    respuestas = Queue("rpc.reply-gateway-1", exchange=Exchange("nameko-rpc", type="topic"), routing_key="1",
                       queue_arguments={"x-expires": 300000})  # as nameko's ReplyListener makes them
    difusion = Queue("evt-auth-sesion_cerrada--gateway.sesion_cerrada-ab12", durable=True, auto_delete=True,
                     exclusive=True)
    for temporal in (respuestas, difusion, Queue("banco.crudo", durable=False),
                     Queue("con-plazo", durable=True, expires=60)):
        assert colas.es_temporal(temporal)
        assert colas.ajustar(temporal, quorum=True).queue_arguments == temporal.queue_arguments
    assert colas.ajustar(respuestas, quorum=True).queue_arguments == {"x-expires": 300000}


def test_adjusting_twice_changes_nothing():
    una = colas.cola("q", argumentos={"x-message-ttl": 1000, "x-dead-letter-exchange": ""}, quorum=True)
    assert colas.ajustar(una, quorum=True).queue_arguments == una.queue_arguments
    assert colas.ajustar(una, quorum=False).queue_arguments == una.queue_arguments


# --- on RabbitMQ -------------------------------------------------------------------------------------------------

def test_a_queue_declared_again_with_another_type_is_refused(config_nameko):
    """Why moving an existing broker to quorum queues means declaring its queues anew (README)."""
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        colas.cola("pruebas.clasica", quorum=False)(conexion.channel()).declare()
        with pytest.raises(PreconditionFailed, match="x-queue-type"):
            colas.cola("pruebas.clasica", quorum=True)(conexion.channel()).declare()
        colas.cola("pruebas.quorum", quorum=True)(conexion.channel()).declare()
        with pytest.raises(PreconditionFailed, match="x-queue-type"):
            colas.cola("pruebas.quorum", quorum=False)(conexion.channel()).declare()


ESQUEMA = "pruebas_colas"
metadata = MetaData()
salida = tabla_salida(metadata)
PROPIA = Exchange("pruebas.colas", type="direct", durable=True)


class Visto:
    def __init__(self):
        self.eventos: list[str] = []
        self.fallar = 0
        self.propios: list = []
        self.lotes: list = []


def servicio_con_todas_las_colas(visto: Visto):
    """Every kind of queue a service of the system declares: its RPC queue, an event handler's queue with its
    retries' delay queues and the parked queue, a queue of its own (one handler, one in batches), the bitácora's
    queue (bound by its outbox) and, calling itself through `Remoto`, its reply queue."""

    class Servicio(ConEventos):
        name = ESQUEMA
        db = BaseDatos()
        salida = Salida(salida)
        yo = Remoto(ESQUEMA)

        @rpc
        def anunciar(self, rfc: str) -> None:
            with transaccion(self.db):
                encolar(self.db, salida, SesionCerrada(rfc=rfc), ahora=AHORA)

        @rpc
        def eco(self, texto: str) -> str:
            return texto

        @rpc
        def eco_remoto(self, texto: str) -> str:
            return self.yo.eco(texto)

        @evento(ESQUEMA, "sesion_cerrada", demoras=(1,))
        def al_cerrar(self, id_evento, cerrada):
            visto.eventos.append(cerrada.rfc)
            if visto.fallar:
                visto.fallar -= 1
                raise RuntimeError("falla pasajera")

        # Built by kombu directly: the handler declares it through buzon_comun.colas all the same.
        @cola(Queue("pruebas.colas.propia", exchange=PROPIA, routing_key="propia", durable=True))
        def propia(self, cuerpo, intercambio):
            visto.propios.append(cuerpo)

        @cola_en_lotes(Queue("pruebas.colas.lotes", exchange=PROPIA, routing_key="lotes", durable=True))
        def en_lotes(self, entregas):
            visto.lotes.extend(cuerpo for cuerpo, _ in entregas)

    return Servicio


@pytest.fixture
def engine(esquema_temporal, url_bd, monkeypatch):
    monkeypatch.setenv("BUZON_DATABASE_URL", url_bd)
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    return esquema_temporal(metadata, ESQUEMA)


def colas_del_vhost(rabbit_manager, vhost: str) -> dict[str, dict]:
    return {q["name"]: q for q in rabbit_manager.get_queues(vhost)}


def usar_el_servicio(contenedor, config_nameko, visto: Visto) -> None:
    """Calls, an event that fails once and comes back from its delay queue, messages to its own queues."""
    assert llamar(contenedor, "eco_remoto", "hola") == "hola"
    visto.fallar = 1
    llamar(contenedor, "anunciar", "AAA010101AAA")
    esperar(lambda: visto.eventos == ["AAA010101AAA"] * 2, plazo=15)
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        productor = conexion.Producer(serializer="json")
        productor.publish({"n": 1}, exchange=PROPIA, routing_key="propia")
        productor.publish({"n": 2}, exchange=PROPIA, routing_key="lotes")
    esperar(lambda: visto.propios == [{"n": 1}] and visto.lotes == [{"n": 2}], plazo=10)


def test_with_the_flag_a_service_declares_quorum_queues_and_works_on_them(engine, container_factory, config_nameko,
                                                                         rabbit_manager, monkeypatch):
    monkeypatch.setenv("BUZON_COLAS_QUORUM", "1")
    visto = Visto()
    contenedor = container_factory(servicio_con_todas_las_colas(visto), config_nameko)
    contenedor.start()
    usar_el_servicio(contenedor, config_nameko, visto)

    declaradas = colas_del_vhost(rabbit_manager, config_nameko["vhost"])
    tipos = {nombre: q["type"] for nombre, q in declaradas.items()}
    [respuestas] = [nombre for nombre in tipos if nombre.startswith(f"rpc.reply-{ESQUEMA}-")]
    assert tipos == {
        f"rpc-{ESQUEMA}": "quorum",
        f"evt-{ESQUEMA}-sesion_cerrada--{ESQUEMA}.al_cerrar": "quorum",
        "buzon.reintentos.1s": "quorum",
        "buzon.eventos.fallidos": "quorum",
        COLA_BITACORA: "quorum",
        "pruebas.colas.propia": "quorum",
        "pruebas.colas.lotes": "quorum",
        respuestas: "classic",
    }
    for nombre, q in declaradas.items():
        if q["type"] == "quorum":
            assert q["durable"] and q["arguments"]["x-delivery-limit"] == colas.LIMITE_ENTREGAS, nombre
    assert declaradas["buzon.reintentos.1s"]["arguments"]["x-dead-letter-strategy"] == "at-least-once"
    assert declaradas[respuestas]["arguments"] == {"x-expires": RPC_REPLY_QUEUE_TTL}


def test_without_the_flag_the_same_service_declares_classic_queues_as_before(engine, container_factory,
                                                                            config_nameko, rabbit_manager,
                                                                            monkeypatch):
    monkeypatch.delenv("BUZON_COLAS_QUORUM", raising=False)
    visto = Visto()
    contenedor = container_factory(servicio_con_todas_las_colas(visto), config_nameko)
    contenedor.start()
    usar_el_servicio(contenedor, config_nameko, visto)

    declaradas = colas_del_vhost(rabbit_manager, config_nameko["vhost"])
    assert len(declaradas) == 8
    assert {q["type"] for q in declaradas.values()} == {"classic"}
    argumentos = {nombre: q["arguments"] for nombre, q in declaradas.items() if not nombre.startswith("rpc.reply-")}
    assert argumentos == {
        f"rpc-{ESQUEMA}": {},
        f"evt-{ESQUEMA}-sesion_cerrada--{ESQUEMA}.al_cerrar": {},
        "buzon.reintentos.1s": {"x-message-ttl": 1000, "x-dead-letter-exchange": ""},
        "buzon.eventos.fallidos": {},
        COLA_BITACORA: {},
        "pruebas.colas.propia": {},
        "pruebas.colas.lotes": {},
    }
