"""The OpenAPI 3 document of the public API. A test keeps its paths in step with the gateway's routes."""
from __future__ import annotations

import copy
from functools import lru_cache


def _error(descripcion: str) -> dict:
    return {"description": descripcion, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(descripcion: str, esquema: str) -> dict:
    return {"description": descripcion, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{esquema}"}}}}


def _cuerpo(esquema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{esquema}"}}}}


ERRORES_COMUNES = {
    "400": _error("solicitud_invalida: cuerpo mal formado"),
    "413": _error("solicitud_demasiado_grande: más de 1 MiB"),
}
ERRORES_SESION = {"401": _error("no_autenticado: falta el token o no es válido")}
SIN_LOGIN = {"security": []}

IDENTIDAD = {
    "rfc": {"type": "string", "example": "XIQB891116QE4"},
    "curp": {"type": ["string", "null"], "description": "CURP de la persona física o del representante legal"},
    "nombre": {"type": "string"},
    "tipo_persona": {"type": "string", "enum": ["fisica", "moral"]},
    "rfc_representante": {"type": ["string", "null"]},
    "numero_certificado": {"type": "string", "pattern": "^[0-9]{20}$"},
}

ESQUEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["codigo", "mensaje"],
                "properties": {"codigo": {"type": "string"}, "mensaje": {"type": "string"}},
                "additionalProperties": True,
            }
        },
    },
    "Reto": {
        "type": "object",
        "required": ["reto", "expira_en"],
        "properties": {
            "reto": {"type": "string", "description": "≥ 256 bits aleatorios en base64url, de un solo uso"},
            "expira_en": {"type": "string", "format": "date-time"},
        },
    },
    "SolicitudSesion": {
        "type": "object",
        "required": ["certificado", "reto", "firma"],
        "properties": {
            "certificado": {"type": "string", "format": "byte", "description": "el .cer (DER) en base64"},
            "reto": {"type": "string"},
            "firma": {"type": "string", "format": "byte",
                      "description": "RSA PKCS#1 v1.5 con SHA-256 sobre los bytes UTF-8 del reto, en base64"},
        },
    },
    "Identidad": {"type": "object", "required": list(IDENTIDAD), "properties": IDENTIDAD},
    "Sesion": {
        "type": "object",
        "required": ["token", "expira_en", *IDENTIDAD],
        "properties": {"token": {"type": "string"}, "expira_en": {"type": "string", "format": "date-time"}, **IDENTIDAD},
    },
    "Salud": {
        "type": "object",
        "required": ["estado", "servicios"],
        "properties": {
            "estado": {"type": "string", "enum": ["ok", "degradado"]},
            "servicios": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}

CODIGOS_LOGIN = ("reto_invalido, firma_invalida, certificado_invalido, certificado_no_confiable, certificado_vencido, "
                 "certificado_no_vigente, certificado_revocado, no_es_efirma")

RUTAS = {
    "/api/v1/sesiones/retos": {
        "post": {
            "summary": "Pide un reto para firmar con la e.firma",
            "operationId": "crear_reto",
            **SIN_LOGIN,
            "responses": {"201": _json("El reto", "Reto"), "429": _error("demasiadas_solicitudes"), **ERRORES_COMUNES},
        }
    },
    "/api/v1/sesiones": {
        "post": {
            "summary": "Inicia sesión con la e.firma: el certificado y la firma del reto",
            "operationId": "iniciar_sesion",
            **SIN_LOGIN,
            "requestBody": _cuerpo("SolicitudSesion"),
            "responses": {
                "201": _json("La sesión y la identidad del certificado", "Sesion"),
                "401": _error(CODIGOS_LOGIN),
                "503": _error("revocacion_no_disponible"),
                **ERRORES_COMUNES,
            },
        }
    },
    "/api/v1/sesiones/actual": {
        "get": {
            "summary": "La identidad de la sesión",
            "operationId": "sesion_actual",
            "responses": {"200": _json("La identidad", "Identidad"), **ERRORES_SESION},
        },
        "delete": {
            "summary": "Cierra la sesión",
            "operationId": "cerrar_sesion",
            "responses": {"204": {"description": "Sesión cerrada; el token deja de funcionar"}, **ERRORES_SESION},
        },
    },
    "/api/v1/openapi.json": {
        "get": {
            "summary": "Este documento",
            "operationId": "openapi",
            **SIN_LOGIN,
            "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {}}}},
        }
    },
    "/health": {
        "get": {
            "summary": "Estado del sistema",
            "operationId": "salud",
            **SIN_LOGIN,
            "responses": {"200": _json("Todos los servicios responden", "Salud"),
                          "503": _json("Algún servicio no responde", "Salud")},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Métricas de Prometheus",
            "operationId": "metricas",
            **SIN_LOGIN,
            "responses": {"200": {"description": "Formato de texto de Prometheus", "content": {"text/plain": {}}}},
        }
    },
    "/": {
        "get": {
            "summary": "Página de inicio",
            "operationId": "inicio",
            **SIN_LOGIN,
            "responses": {"200": {"description": "Dónde encontrar la API"}},
        }
    },
}


@lru_cache(maxsize=1)
def _documento() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Buzón IMSS: activación",
            "version": "1.0.0",
            "description": "API pública de la activación del Buzón IMSS. Errores: {\"error\": {\"codigo\", \"mensaje\"}}.",
        },
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "paths": RUTAS,
        "components": {
            "schemas": ESQUEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer", "description": "el token del inicio de sesión"}},
        },
    }


def documento_openapi() -> dict:
    return copy.deepcopy(_documento())
