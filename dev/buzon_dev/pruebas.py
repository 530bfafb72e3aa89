"""Small helpers for the project's tests: sign as a person's machine would, with a development e.firma."""
from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64(datos: bytes) -> str:
    return base64.b64encode(datos).decode("ascii")


def firmar(emitido, texto: str) -> str:
    """RSA PKCS#1 v1.5 with SHA-256 over the UTF-8 text, with the .key opened by its password."""
    llave = serialization.load_der_private_key(emitido.key_der, emitido.password.encode())
    return b64(llave.sign(texto.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()))


def esperar(condicion, plazo: float = 30, paso: float = 0.2, mensaje: str | None = None):
    """Poll until `condicion()` gives something truthy: work that goes over the bus finishes a moment later."""
    limite = time.monotonic() + plazo
    while time.monotonic() < limite:
        resultado = condicion()
        if resultado:
            return resultado
        time.sleep(paso)
    raise AssertionError(mensaje or f"no ocurrió en {plazo} s")


def llamar(contenedor, metodo: str, *args):
    """Call one entrypoint of a nameko test container, as a worker would run it."""
    from nameko.testing.services import entrypoint_hook

    with entrypoint_hook(contenedor, metodo) as hook:
        return hook(*args)


def oyente(nombre: str, *eventos: tuple[str, str]):
    """A nameko service class that keeps every event it hears, for tests: `(clase, recibidos)`.

    `eventos` are (origin service, event type) pairs; `recibidos` is the list the messages are appended to, in
    the order they arrive. Give each test's listener its own `nombre` (it names the queues). Its queues live only
    while it runs (broadcast, not durable): a test's listener leaves nothing on the system's broker."""
    from nameko.events import BROADCAST, event_handler

    recibidos: list = []
    atributos = {"name": nombre}
    for origen, tipo in eventos:
        def guardar(self, contenido):
            recibidos.append(contenido)

        atributos[f"al_{origen}_{tipo}"] = event_handler(origen, tipo, handler_type=BROADCAST,
                                                          reliable_delivery=False)(guardar)
    return type(f"Oyente_{nombre}", (), atributos), recibidos
