"""DOMINIO.md, the Buzón's avisos: "Avisos go through the same dispatch, retries and guarantees as validation
messages" (docs/buzon-reglas.md). The same steps for a validation code and for buzon's aviso of a notification, on
PostgreSQL with a clock the test moves: the same schedule of retries, sent once however often the request comes,
announced for their requester when sent or given up, the dead letter kept. Only their turn in the retry timer
differs (test_entregas.py: every other requester's first)."""
import json

import pytest
from sqlalchemy import select

from buzon_comun.eventos import leer
from buzon_notificaciones.entregas import intentar, registrar
from buzon_notificaciones.fallas import FallaPermanente, FallaTemporal
from buzon_notificaciones.models import salida

REINTENTOS = (3, 15, 60)
AVISO = {"rfc": "EDE0101013A2", "registros_patronales": [{"registro_patronal": "A1234567890"}],
         "depositada_en": "2026-12-07T01:30:00+00:00"}
# (plantilla, datos, origen): a validation code asked by contactos, an aviso asked by buzon.
SOLICITUDES = {"codigo": ("codigo_sms", {"codigo": "48213"}, "contactos"),
               "aviso": ("aviso_notificacion", AVISO, "buzon")}


class Enviador:
    """Fails with the given failures in order, then accepts; records every try."""

    def __init__(self, *fallas):
        self.fallas = list(fallas)
        self.intentos = []

    def __call__(self, entrega):
        self.intentos.append(entrega.id_mensaje)
        if self.fallas:
            raise self.fallas.pop(0)


def bandeja(db) -> list[tuple[str, dict]]:
    filas = db.execute(select(salida).order_by(salida.c.creado_en)).all()
    db.commit()
    return [(f.tipo, json.loads(f.mensaje)) for f in filas]


def recorrido(db, reloj, solicitud_sms, clase: str, *fallas) -> tuple[list, list, dict]:
    """One request of `clase` registered twice (a redelivery) and tried at each due moment until it is settled:
    (the seconds after the first try at which it was tried, the events it added to the outbox, the request)."""
    plantilla, datos, origen = SOLICITUDES[clase]
    antes = len(bandeja(db))
    solicitud = solicitud_sms(plantilla=plantilla, datos=datos)
    inicio = reloj.ahora()
    id_mensaje = registrar(db, solicitud, canal="sms", ahora=reloj.ahora(), origen=origen)
    assert registrar(db, solicitud, canal="sms", ahora=reloj.ahora(), origen=origen) is None
    enviar = Enviador(*fallas)
    momentos = []
    for _ in range(60 * 4):
        resultado = intentar(db, canal="sms", ahora=reloj.ahora(), enviar=enviar, reintentos=REINTENTOS)
        if resultado is not None:
            momentos.append(int((reloj.ahora() - inicio).total_seconds()))
            if resultado.estado != "en_cola":
                break
        reloj.avanzar(seconds=1)
    # Once settled, nothing is tried again, even if the request comes once more.
    assert registrar(db, solicitud, canal="sms", ahora=reloj.ahora(), origen=origen) is None
    assert intentar(db, canal="sms", ahora=reloj.ahora(), enviar=enviar, reintentos=REINTENTOS) is None
    assert set(enviar.intentos) == {id_mensaje} and len(enviar.intentos) == len(momentos)
    return momentos, bandeja(db)[antes:], solicitud


@pytest.mark.parametrize("fallas, momentos, eventos", [
    ((), [0], ["mensaje_enviado"]),
    ((FallaTemporal("HTTP 503"), FallaTemporal("HTTP 503")), [0, 3, 18], ["mensaje_enviado"]),
    ((FallaTemporal("HTTP 503"),) * 4, [0, 3, 18, 78], ["mensaje_fallido", "notificaciones.fallidas.sms"]),
    ((FallaPermanente("HTTP 400"),), [0], ["mensaje_fallido", "notificaciones.fallidas.sms"]),
], ids=["enviado", "reintentado", "agotado", "rechazado"])
def test_an_aviso_is_dispatched_retried_and_announced_as_a_validation_code(db, reloj, solicitud_sms, fallas,
                                                                           momentos, eventos):
    codigo = recorrido(db, reloj, solicitud_sms, "codigo", *fallas)
    aviso = recorrido(db, reloj, solicitud_sms, "aviso", *fallas)
    for momentos_de, bandeja_de, solicitud in (codigo, aviso):
        assert momentos_de == momentos
        assert [tipo for tipo, _ in bandeja_de] == eventos
        # The outcome is announced with the request's id, template and referencia: buzon finds its aviso by them.
        _, anuncio = leer(bandeja_de[0][1])
        pedido = solicitud["datos"]
        assert (anuncio.id_mensaje, anuncio.plantilla, anuncio.referencia) == (
            pedido["id_mensaje"], pedido["plantilla"], pedido["referencia"])
        if len(bandeja_de) > 1:
            assert bandeja_de[1][1] == solicitud  # the dead letter is the request itself
