"""The OpenAPI document stays in step with the gateway's routes, and keeps the contract's paths."""
import re

from buzon_gateway.http import Ruta
from buzon_gateway.openapi import documento_openapi
from buzon_gateway.portal import Portal
from buzon_gateway.service import Gateway

# The OpenAPI documents the JSON API; the portal's HTML pages are for browsers, but its home page at "/" is the
# one the document has always named.
INICIO = "/"


def _de_la_api(nombre: str, url: str) -> bool:
    return nombre not in vars(Portal) or url == INICIO


def rutas_del_gateway() -> set[tuple[str, str]]:
    rutas = set()
    for nombre in dir(Gateway):
        for entrypoint in getattr(getattr(Gateway, nombre), "nameko_entrypoints", ()):
            if isinstance(entrypoint, Ruta) and _de_la_api(nombre, entrypoint.url):
                ruta = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
                for metodo in entrypoint.method.split(","):
                    rutas.add((metodo.lower(), ruta))
    return rutas


def rutas_documentadas() -> set[tuple[str, str]]:
    return {(metodo, ruta) for ruta, operaciones in documento_openapi()["paths"].items() for metodo in operaciones}


def test_every_route_is_documented_and_every_documented_path_exists():
    assert rutas_del_gateway() == rutas_documentadas()


def test_every_call_of_the_contract_is_there():
    """API.md's calls, path for path: integrators and acceptance tests hold the system to them."""
    assert {
        ("post", "/api/v1/sesiones/retos"),
        ("post", "/api/v1/sesiones"),
        ("get", "/api/v1/sesiones/actual"),
        ("delete", "/api/v1/sesiones/actual"),
        ("get", "/api/v1/medios-contacto"),
        ("post", "/api/v1/medios-contacto"),
        ("post", "/api/v1/medios-contacto/validaciones"),
        ("post", "/api/v1/medios-contacto/{medio_id}/validacion"),
        ("delete", "/api/v1/medios-contacto/{medio_id}"),
        ("get", "/api/v1/medios-contacto/{medio_id}/acuses/{tipo}"),
        ("get", "/api/v1/registros-patronales"),
        ("get", "/api/v1/activacion"),
        ("get", "/api/v1/activacion/solicitud"),
        ("post", "/api/v1/activacion"),
        ("get", "/api/v1/activacion/acuse"),
        ("get", "/api/v1/acuses/{folio}/verificacion"),
        ("post", "/api/v1/notificaciones"),
        ("get", "/api/v1/notificaciones/{id_notificacion}"),
        ("get", "/api/v1/buzon/notificaciones"),
        ("get", "/api/v1/buzon/notificaciones/{id_notificacion}/acuse-recibo"),
        ("post", "/api/v1/buzon/notificaciones/{id_notificacion}/apertura"),
        ("get", "/api/v1/buzon/notificaciones/{id_notificacion}/documento"),
        ("get", "/api/v1/buzon/notificaciones/{id_notificacion}/acuse"),
        ("get", "/health"),
        ("get", "/metrics"),
        ("get", "/api/v1/openapi.json"),
    } <= rutas_del_gateway()


def test_every_operation_has_an_id_and_answers_and_every_reference_resolves():
    documento = documento_openapi()
    ids = [op["operationId"] for ops in documento["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    texto = repr(documento)
    for referencia in set(re.findall(r"#/components/schemas/(\w+)", texto)):
        assert referencia in documento["components"]["schemas"]


def test_the_writes_that_take_an_idempotency_key_declare_it_and_its_conflict():
    documento = documento_openapi()
    for ruta in ("/api/v1/medios-contacto", "/api/v1/activacion", "/api/v1/medios-contacto/{medio_id}/reenvio"):
        operacion = documento["paths"][ruta]["post"]
        [clave] = [p for p in operacion["parameters"] if p["in"] == "header"]
        assert (clave["name"], clave["required"]) == ("Idempotency-Key", False)
        assert clave["schema"] == {"type": "string", "minLength": 1, "maxLength": 200}
        assert "idempotencia_conflicto" in operacion["responses"]["409"]["description"]
        assert "Idempotency-Key" in operacion["responses"]["400"]["description"]


def test_the_depositing_systems_routes_take_a_system_key_and_the_deposit_its_own_body_limit():
    documento = documento_openapi()
    assert documento["components"]["securitySchemes"]["sistema"]["scheme"] == "bearer"
    for ruta, metodo in (("/api/v1/notificaciones", "post"), ("/api/v1/notificaciones/{id_notificacion}", "get")):
        assert documento["paths"][ruta][metodo]["security"] == [{"sistema": []}]
    deposito = documento["paths"]["/api/v1/notificaciones"]["post"]["responses"]
    assert "7 MiB" in deposito["413"]["description"]
    assert "buzon_inactivo" in deposito["409"]["description"]
    # The document's signature (DOMINIO.md, "Deposit"): its refusals next to the contract's own.
    assert all(codigo in deposito["422"]["description"] for codigo in (
        "documento_invalido", "documento_demasiado_grande", "documento_sin_firma", "firma_documento_invalida",
        "registro_patronal_ajeno"))
