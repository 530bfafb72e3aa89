"""Small helpers for the project's tests: sign as a person's machine would, with a development e.firma."""
from __future__ import annotations

import base64
import html
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64(datos: bytes) -> str:
    return base64.b64encode(datos).decode("ascii")


def firmar(emitido, texto: str) -> str:
    """RSA PKCS#1 v1.5 with SHA-256 over the UTF-8 text, with the .key opened by its password."""
    llave = serialization.load_der_private_key(emitido.key_der, emitido.password.encode())
    return b64(llave.sign(texto.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()))


def meta_csrf(texto: str) -> str:
    """The double-submit token a portal page carries in its `<meta name="csrf">`."""
    return html.unescape(re.search(r'<meta name="csrf" content="([^"]+)">', texto).group(1))


def ingresar_portal(url: str, emitido):
    """Log in to the portal at `url` as the login page's script does: fetch a challenge, sign it with the e.firma,
    post it with the double-submit token. The `requests.Session` holding the session's cookie."""
    import requests

    navegador = requests.Session()
    pagina = navegador.get(f"{url}/ingresar")
    assert pagina.status_code == 200, pagina.text
    reto = requests.post(f"{url}/api/v1/sesiones/retos").json()["reto"]
    respuesta = navegador.post(f"{url}/ingresar", headers={"X-CSRF-Token": meta_csrf(pagina.text)}, json={
        "certificado": b64(emitido.cer_der), "reto": reto, "firma": firmar(emitido, reto)})
    assert respuesta.status_code == 200, respuesta.text
    assert respuesta.json() == {"destino": "/buzon"}  # where the page's script then goes
    return navegador


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
