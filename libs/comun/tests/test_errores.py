"""Errors keep their class, code, message and typed extra fields across nameko's serialisation."""
import json

from nameko.exceptions import deserialize, serialize

from buzon_comun.errores import Bloqueado, DemasiadasSolicitudes, ReglaIncumplida


def viaje(exc):
    return deserialize(json.loads(json.dumps(serialize(exc))))


def test_extra_fields_keep_their_types():
    recibido = viaje(ReglaIncumplida("codigo_incorrecto", "El código no es correcto.", {"intentos_restantes": 4}))
    assert type(recibido) is ReglaIncumplida
    assert (recibido.codigo, recibido.mensaje, recibido.extra) == (
        "codigo_incorrecto", "El código no es correcto.", {"intentos_restantes": 4})
    assert recibido.como_dict() == {"codigo": "codigo_incorrecto", "mensaje": "El código no es correcto.",
                                    "intentos_restantes": 4}


def test_errors_without_extra_and_with_defaults_travel_too():
    assert viaje(Bloqueado("intentos_agotados", "Agotó los intentos.")).extra == {}
    assert viaje(DemasiadasSolicitudes()).codigo == "demasiadas_solicitudes"
