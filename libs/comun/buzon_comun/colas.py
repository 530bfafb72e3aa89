"""Every queue the system declares is declared here: a classic queue, or a quorum queue with `BUZON_COLAS_QUORUM=1`.

A quorum queue is replicated over the nodes of a RabbitMQ cluster (Raft): it survives the loss of a node, which a
classic queue does not. `ajustar(queue)` gives any queue the arguments of its type: the project's own queues
(`cola(...)`: the bitácora's, the delay queues of retries, the parked messages) and those nameko builds for its
entrypoints in `setup` (`rpc-<service>`, `evt-…`, the reply queues), which our entrypoints pass through it. One
rule decides every queue's type:

- quorum, with the flag, for every queue that outlives its consumers (durable, neither auto-delete nor exclusive,
  without `x-expires`): a quorum queue can't be auto-delete nor exclusive;
- classic, always, for a queue that lives only while it is used: nameko's reply queues (`rpc.reply-…`, which
  expire when unused), a gateway's broadcast queue (exclusive): a Raft group for each process that comes and goes
  would cost the cluster and protect nothing (their messages are for that process alone).

What the quorum queues get besides their type:
- `x-delivery-limit` high enough never to be reached: RabbitMQ 4 drops a message of a quorum queue returned more
  than 20 times by default, and listing the parked events (`buzon-eventos fallidos`) returns every one of them
  each time; the retries and parking of `buzon_comun.consumo` are this system's answer to poison messages.
  (Not -1, RabbitMQ 4's «no limit»: RabbitMQ 3.x takes it as a limit and drops a message at its first return.)
- for a queue that dead-letters (the delay queues of retries: a TTL, then back to the handler's queue),
  at-least-once dead-lettering (`x-dead-letter-strategy`, which needs `x-overflow: reject-publish`): a quorum
  queue otherwise dead-letters at most once, and a message whose target is unavailable at that moment (its leader
  moving to another node) would be lost.

The type is fixed when the queue object is built, from the process's environment, and every process on a vhost
must agree: RabbitMQ refuses (PRECONDITION_FAILED) a declaration whose type or arguments differ from the queue's,
so moving an existing broker to quorum queues means declaring them anew (README: «Colas de quórum»).
"""
from __future__ import annotations

from copy import copy

from kombu import Queue

from buzon_comun.config import colas_quorum

TIPO = "x-queue-type"
LIMITE_ENTREGAS = 1_000_000
ARGUMENTOS_QUORUM = {TIPO: "quorum", "x-delivery-limit": LIMITE_ENTREGAS}
# Dead-lettering that waits for the target queue to take the message (quorum queues only).
ARGUMENTOS_DESVIO_SEGURO = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def es_temporal(queue: Queue) -> bool:
    """A queue that lives only while it is used: always classic."""
    return (not queue.durable or queue.auto_delete or queue.exclusive or bool(queue.expires)
            or "x-expires" in (queue.queue_arguments or {}))


def argumentos_de(queue: Queue, quorum: bool | None = None) -> dict | None:
    """The declaration arguments of `queue`: its own, and a quorum queue's when it is to be one."""
    propios = dict(queue.queue_arguments or {})
    if quorum is None:
        quorum = colas_quorum()
    if quorum and not es_temporal(queue):
        propios.update(ARGUMENTOS_QUORUM)
        if "x-dead-letter-exchange" in propios:
            propios.update(ARGUMENTOS_DESVIO_SEGURO)
    return propios or None


def ajustar(queue: Queue, quorum: bool | None = None) -> Queue:
    """`queue` with the arguments of its type: the one way every queue of the system is declared, whether it was
    built by `cola` or by a library (nameko's entrypoints build theirs in `setup`). `quorum` overrides
    BUZON_COLAS_QUORUM (tests)."""
    ajustada = copy(queue)
    ajustada.queue_arguments = argumentos_de(queue, quorum)
    return ajustada


def cola(nombre: str, exchange=None, routing_key: str = "", *, argumentos: dict | None = None, bindings=None,
         quorum: bool | None = None) -> Queue:
    """A durable queue of the system's own, of the type BUZON_COLAS_QUORUM asks."""
    return ajustar(Queue(nombre, exchange=exchange, routing_key=routing_key, durable=True, bindings=bindings,
                         queue_arguments=argumentos), quorum)
