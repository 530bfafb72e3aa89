"""Retry-After on the answers that say when to come back: every 503, and a 429 whose limit names its moment."""
import json

from buzon_comun.errores import DemasiadasSolicitudes, ServicioNoDisponible
from buzon_gateway.errores import REINTENTAR_EN_S, respuesta_de_excepcion


def test_a_429_with_reintentar_en_s_says_retry_after_and_one_of_a_longer_window_says_nothing():
    por_segundo = respuesta_de_excepcion(DemasiadasSolicitudes(mensaje="Espera.", extra={"reintentar_en_s": 1}))
    assert (por_segundo.status_code, por_segundo.headers["Retry-After"]) == (429, "1")
    assert json.loads(por_segundo.get_data())["error"] == {"codigo": "demasiadas_solicitudes", "mensaje": "Espera.",
                                                           "reintentar_en_s": 1}
    # A fraction (the deposits' spacing) is whole seconds in the header, rounded up; the body keeps it.
    fraccion = respuesta_de_excepcion(DemasiadasSolicitudes(mensaje="Espera.", extra={"reintentar_en_s": 0.083}))
    assert fraccion.headers["Retry-After"] == "1"
    assert json.loads(fraccion.get_data())["error"]["reintentar_en_s"] == 0.083
    assert respuesta_de_excepcion(DemasiadasSolicitudes(extra={"reintentar_en_s": 1.2})).headers["Retry-After"] == "2"
    por_hora = respuesta_de_excepcion(DemasiadasSolicitudes())
    assert por_hora.status_code == 429 and "Retry-After" not in por_hora.headers


def test_a_503_says_retry_after_with_the_services_figure_or_the_default():
    sin_cifra = ServicioNoDisponible("servicio_no_disponible", "Espera.")
    assert respuesta_de_excepcion(sin_cifra).headers["Retry-After"] == str(REINTENTAR_EN_S)
    cifra = ServicioNoDisponible("servicio_no_disponible", "Espera.", {"reintentar_en_s": 2})
    assert respuesta_de_excepcion(cifra).headers["Retry-After"] == "2"
