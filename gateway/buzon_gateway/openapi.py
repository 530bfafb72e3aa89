"""The OpenAPI 3 document of the public API. A test keeps its paths in step with the gateway's routes."""
from __future__ import annotations

import copy
from functools import lru_cache

from buzon_gateway import cuerpos
from buzon_gateway.respuestas import (
    ENCABEZADO_IDEMPOTENCIA, MAXIMO_CLAVE_IDEMPOTENCIA, PROFUNDIDAD_MAXIMA, Campo,
)


def _error(descripcion: str) -> dict:
    return {"description": descripcion, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(descripcion: str, esquema: str) -> dict:
    return {"description": descripcion, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{esquema}"}}}}


def _cuerpo(esquema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{esquema}"}}}}


MAL_FORMADO = ("solicitud_invalida: cuerpo mal formado (no es JSON, no es un objeto, falta un campo o tiene otro tipo, "
               f"anida más de {PROFUNDIDAD_MAXIMA} niveles)")
ERRORES_COMUNES = {
    "400": _error(MAL_FORMADO),
    "413": _error("solicitud_demasiado_grande: más de 1 MiB"),
    "415": _error("tipo_contenido_no_soportado: el cuerpo no viene como application/json"),
}
ERRORES_SESION = {"401": _error("no_autenticado: falta el token o no es válido")}
NO_DISPONIBLE = {"503": _error("servicio_no_disponible: un servicio del que depende la respuesta no responde")}
SIN_LOGIN = {"security": []}
HTML = {"text/html": {"schema": {"type": "string"}}}


def _propiedad(campo: Campo, esquema: dict) -> dict:
    """A body field's schema with the bounds the gateway enforces on it."""
    texto = {"minLength": 1, "maxLength": campo.maximo}
    if campo.tipo is list:
        return {**esquema, "items": {**esquema.get("items", {"type": "string"}), **texto}}
    return {**esquema, **texto}

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
            "certificado": _propiedad(cuerpos.CERTIFICADO, {"type": "string", "format": "byte",
                                                             "description": "el .cer (DER) en base64"}),
            "reto": _propiedad(cuerpos.SESION["reto"], {"type": "string"}),
            "firma": _propiedad(cuerpos.FIRMA, {
                "type": "string", "format": "byte",
                "description": "RSA PKCS#1 v1.5 con SHA-256 sobre los bytes UTF-8 del reto, en base64"}),
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

MEDIO = {
    "type": "object",
    "required": ["id", "mecanismo", "valor", "estado", "folio", "registrado_en", "vence_en", "validado_en",
                 "registros_patronales"],
    "properties": {
        "id": {"type": "string"},
        "mecanismo": {"type": "string", "enum": ["correo", "telefono"]},
        "valor": {"type": "string", "description": "el correo en minúsculas o el teléfono a 10 dígitos"},
        "estado": {"type": "string", "enum": ["pendiente", "validado", "baja_vencimiento", "baja"]},
        "folio": {"type": "string", "description": "folio del acuse de registro"},
        "registrado_en": {"type": "string", "format": "date-time"},
        "vence_en": {"type": ["string", "null"], "format": "date-time"},
        "validado_en": {"type": ["string", "null"], "format": "date-time"},
        "baja_en": {"type": ["string", "null"], "format": "date-time",
                    "description": "cuándo se dio de baja (eliminado, vencido o por intentos agotados); null si sigue vigente"},
        "registros_patronales": {"type": "array", "items": {"type": "string"},
                                 "description": "vacío: medio del RFC"},
        "acuses": {"type": "object", "description": "folio de cada acuse del medio (null mientras no existe)",
                   "properties": {t: {"type": ["string", "null"]} for t in ("registro", "validacion", "baja")}},
        "codigos_verificacion": {
            "type": "object",
            "description": "código de verificación de cada acuse del medio, para compartirlo (null mientras no existe)",
            "properties": {t: {"type": ["string", "null"]} for t in ("registro", "validacion", "baja")}},
        "aviso": {"type": "string", "description": "al eliminar, si el Buzón activo queda sin un medio validado"},
    },
}

ESQUEMAS.update({
    "Medio": MEDIO,
    "Medios": {"type": "object", "required": ["medios"],
               "properties": {"medios": {"type": "array", "items": {"$ref": "#/components/schemas/Medio"}}}},
    "SolicitudMedio": {
        "type": "object",
        "required": ["mecanismo", "valor"],
        "properties": {
            "mecanismo": {"type": "string", "enum": ["correo", "telefono"]},
            "valor": _propiedad(cuerpos.MEDIO["valor"], {
                "type": "string",
                "description": "un correo electrónico, o un número celular de 10 dígitos (+52 y separadores opcionales)",
                "anyOf": [{"format": "email", "maxLength": 254},
                          {"pattern": r"^(\+?52)?[ ().-]*[2-9]([ ().-]*[0-9]){9}$"}]}),
            "registros_patronales": _propiedad(cuerpos.MEDIO["registros_patronales"], {
                "type": ["array", "null"], "maxItems": 1000, "items": {"type": "string"},
                "description": "RP del RFC, o [\"*\"] para todos; omitido, null o []: medio del RFC. Más de 1,000: "
                               "422 registro_patronal_ajeno"}),
        },
    },
    "ValidacionCorreo": {"type": "object", "required": ["token"],
                         "properties": {"token": _propiedad(cuerpos.VALIDACION_CORREO["token"], {"type": "string"})}},
    "CodigoSms": {"type": "object", "required": ["codigo"],
                  "properties": {"codigo": {"type": "string", "pattern": "^[0-9]{5}$"}}},
    "RegistrosPatronales": {
        "type": "object",
        "required": ["registros_patronales"],
        "properties": {"registros_patronales": {"type": "array", "items": {
            "type": "object", "required": ["registro_patronal", "razon_social"],
            "properties": {"registro_patronal": {"type": "string"}, "razon_social": {"type": "string"}}}}},
    },
})

ESQUEMAS.update({
    "EstadoActivacion": {
        "type": "object",
        "required": ["estado", "tipo", "requisitos", "aviso", "folio", "activado_en"],
        "properties": {
            "estado": {"type": "string", "enum": ["inactivo", "activo"]},
            "tipo": {"type": "string", "enum": ["patron", "particular"]},
            "requisitos": {"type": "object", "required": ["correo_validado", "telefono_validado"],
                           "properties": {"correo_validado": {"type": "boolean"},
                                          "telefono_validado": {"type": "boolean"}}},
            "aviso": {"type": ["string", "null"], "description": "aviso para un RFC sin Registros Patronales"},
            "folio": {"type": ["string", "null"]},
            "activado_en": {"type": ["string", "null"], "format": "date-time"},
            "codigo_verificacion": {"type": ["string", "null"],
                                    "description": "una vez activo: el código de verificación de su acuse"},
        },
    },
    "Solicitud": {
        "type": "object",
        "required": ["texto", "cadena_original"],
        "properties": {"texto": {"type": "string"},
                       "cadena_original": {"type": "string", "description": "el texto exacto que se firma"}},
    },
    "FirmaActivacion": {
        "type": "object",
        "required": ["certificado", "firma"],
        "properties": {"certificado": _propiedad(cuerpos.CERTIFICADO, {"type": "string", "format": "byte"}),
                       "firma": _propiedad(cuerpos.FIRMA, {
                           "type": "string", "format": "byte",
                           "description": "RSA PKCS#1 v1.5 con SHA-256 sobre la cadena original"})},
    },
    "Activacion": {
        "type": "object",
        "required": ["estado", "folio", "activado_en"],
        "properties": {"estado": {"type": "string", "enum": ["activo"]}, "folio": {"type": "string"},
                       "activado_en": {"type": "string", "format": "date-time"}},
    },
    "VerificacionAcuse": {
        "type": "object",
        "required": ["folio", "tipo", "rfc", "emitido_en", "cadena_original", "sello_valido"],
        "properties": {"folio": {"type": "string"}, "tipo": {"type": "string"}, "rfc": {"type": "string"},
                       "emitido_en": {"type": "string", "format": "date-time"},
                       "cadena_original": {"type": "string"}, "sello_valido": {"type": "boolean"}},
    },
})

ESQUEMAS.update({
    "SolicitudAclaracion": {
        "type": "object", "required": ["texto"],
        "properties": {"texto": _propiedad(cuerpos.ACLARACION["texto"], {
            "type": "string", "description": "el planteamiento: de 1 a 4000 caracteres (sin contar espacios al inicio y al "
                                             "final); más: 422 texto_invalido"})}},
    "Aclaracion": {
        "type": "object", "required": ["folio", "presentada_en", "asunto"],
        "properties": {"folio": {"type": "string"}, "presentada_en": {"type": "string", "format": "date-time"},
                       "asunto": {"type": "string"}, "estado": {"type": "string", "enum": ["recibida"]}}},
    "Aclaraciones": {
        "type": "object", "required": ["aclaraciones"],
        "properties": {"aclaraciones": {"type": "array", "items": {
            "type": "object", "required": ["folio", "asunto", "texto", "presentada_en"],
            "properties": {"folio": {"type": "string"}, "asunto": {"type": "string"}, "texto": {"type": "string"},
                           "presentada_en": {"type": "string", "format": "date-time"},
                           "estado": {"type": "string", "enum": ["recibida"]}}}}}},
})

ID_MEDIO = {"name": "medio_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
IDEMPOTENCIA = {
    "name": ENCABEZADO_IDEMPOTENCIA, "in": "header", "required": False,
    "description": "Una clave tuya por solicitud (p. ej. un UUID): un reintento con la misma clave y el mismo cuerpo "
                   "recibe la primera respuesta, con el mismo estado, en lugar de repetir la operación. La clave vale "
                   "24 horas y solo para tu RFC; con otro cuerpo es 409 idempotencia_conflicto.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAXIMO_CLAVE_IDEMPOTENCIA},
}
CONFLICTO_IDEMPOTENCIA = "idempotencia_conflicto: esa Idempotency-Key ya se usó con otro cuerpo en las últimas 24 horas"
# The writes that take a key: their 400 also names a key out of shape.
ERRORES_CON_CLAVE = {**ERRORES_COMUNES, "400": _error(
    f"{MAL_FORMADO}, o {ENCABEZADO_IDEMPOTENCIA} vacía o de más de {MAXIMO_CLAVE_IDEMPOTENCIA} caracteres")}
PDF = {"description": "El acuse en PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}

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
    "/api/v1/medios-contacto": {
        "get": {
            "summary": "Mis medios de contacto (pendientes y validados; ?estado=todos agrega las bajas)",
            "operationId": "listar_medios",
            "parameters": [{"name": "estado", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["todos"]}}],
            "responses": {"200": _json("Los medios", "Medios"),
                          "400": _error("solicitud_invalida: «estado» con otro valor que «todos»"), **ERRORES_SESION},
        },
        "post": {
            "summary": "Nuevo medio de contacto: envía el correo o el SMS de validación",
            "operationId": "registrar_medio",
            "parameters": [IDEMPOTENCIA],
            "requestBody": _cuerpo("SolicitudMedio"),
            "responses": {
                "201": _json("El medio, pendiente, con su folio (el mismo de la primera respuesta al repetir la "
                             "Idempotency-Key)", "Medio"),
                "409": _error(CONFLICTO_IDEMPOTENCIA),
                "422": _error("correo_invalido, telefono_invalido, mecanismo_invalido, limite_correos, "
                              "limite_telefonos, medio_duplicado, registro_patronal_ajeno, sin_registros_patronales"),
                "429": _error("demasiadas_solicitudes"),
                **ERRORES_SESION, **ERRORES_CON_CLAVE,
            },
        },
    },
    "/api/v1/medios-contacto/validaciones": {
        "post": {
            "summary": "Valida un correo con el token de su enlace (para clientes de la API)",
            "operationId": "validar_correo",
            **SIN_LOGIN,
            "requestBody": _cuerpo("ValidacionCorreo"),
            "responses": {"200": _json("El medio validado", "Medio"), "404": _error("token_invalido"),
                          "409": _error("ya_validado"), "410": _error("validacion_vencida"), **ERRORES_COMUNES},
        }
    },
    "/medios-contacto/validar/{token}": {
        "get": {
            "summary": "La página que abre el enlace del correo de validación",
            "operationId": "pagina_validar_correo",
            **SIN_LOGIN,
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "Página que confirma la validación", "content": {"text/html": {}}},
                "404": {"description": "Enlace desconocido o ya usado", "content": {"text/html": {}}},
                "409": {"description": "Ya validado", "content": {"text/html": {}}},
                "410": {"description": "Enlace vencido (el medio queda en baja_vencimiento)", "content": {"text/html": {}}},
                "503": {"description": "El servicio no responde", "content": {"text/html": {}}},
            },
        }
    },
    "/api/v1/medios-contacto/{medio_id}/validacion": {
        "post": {
            "summary": "Valida un celular con el código de 5 dígitos del SMS",
            "operationId": "validar_telefono",
            "parameters": [ID_MEDIO],
            "requestBody": _cuerpo("CodigoSms"),
            "responses": {
                "200": _json("El medio validado", "Medio"),
                "404": _error("no_encontrado"),
                "409": _error("ya_validado"),
                "410": _error("validacion_vencida"),
                "422": _error("codigo_incorrecto (con intentos_restantes)"),
                "423": _error("intentos_agotados: el medio queda en baja"),
                **ERRORES_SESION, **ERRORES_COMUNES,
            },
        }
    },
    "/api/v1/medios-contacto/{medio_id}/reenvio": {
        "post": {
            "summary": "Reenvía la validación de un medio pendiente: un enlace nuevo al correo o un código nuevo por SMS",
            "description": "El enlace o código nuevo sustituye al anterior, que deja de funcionar. Cada reenvío cuenta en "
                           "el límite de mensajes por destino y hora (BUZON_LIMITE_MENSAJES_POR_DESTINO), el mismo del "
                           "registro. El plazo de un correo corre desde su registro y no cambia; el de un celular corre "
                           "desde el envío de su código, así que empieza de nuevo con el código nuevo (vence_en). Sin "
                           "cuerpo; con la misma Idempotency-Key recibe la primera respuesta y no envía nada más.",
            "operationId": "reenviar_medio",
            "parameters": [ID_MEDIO, IDEMPOTENCIA],
            "responses": {
                "200": _json("El medio, pendiente, con su nuevo vence_en", "Medio"),
                "404": _error("no_encontrado"),
                "409": _error("ya_validado, medio_dado_de_baja (baja o baja_vencimiento), " + CONFLICTO_IDEMPOTENCIA),
                "429": _error("demasiadas_solicitudes: se alcanzó el límite de mensajes a ese destino en la hora"),
                "400": _error(f"solicitud_invalida: {ENCABEZADO_IDEMPOTENCIA} vacía o de más de "
                              f"{MAXIMO_CLAVE_IDEMPOTENCIA} caracteres"),
                "413": ERRORES_COMUNES["413"],
                **ERRORES_SESION,
            },
        }
    },
    "/api/v1/medios-contacto/{medio_id}": {
        "delete": {
            "summary": "Elimina un medio de contacto",
            "operationId": "eliminar_medio",
            "parameters": [ID_MEDIO],
            "responses": {"200": _json("El medio, en baja", "Medio"), "404": _error("no_encontrado"), **ERRORES_SESION},
        }
    },
    "/api/v1/medios-contacto/{medio_id}/acuses/{tipo}": {
        "get": {
            "summary": "Descarga un acuse del medio",
            "operationId": "acuse_de_medio",
            "parameters": [ID_MEDIO, {"name": "tipo", "in": "path", "required": True,
                                      "schema": {"type": "string", "enum": ["registro", "validacion", "baja"]}}],
            "responses": {"200": PDF, "404": _error("no_encontrado: el acuse aún no existe"), **ERRORES_SESION},
        }
    },
    "/api/v1/registros-patronales": {
        "get": {
            "summary": "Los Registros Patronales del RFC según el padrón",
            "operationId": "registros_patronales",
            "responses": {"200": _json("Los RP", "RegistrosPatronales"), **ERRORES_SESION},
        }
    },
    "/api/v1/activacion": {
        "get": {
            "summary": "Estado de la activación del Buzón IMSS y sus requisitos",
            "operationId": "estado_activacion",
            "responses": {"200": _json("El estado", "EstadoActivacion"), **ERRORES_SESION},
        },
        "post": {
            "summary": "Firma la Solicitud y manifestación con la e.firma: activa el Buzón IMSS",
            "operationId": "activar",
            "parameters": [IDEMPOTENCIA],
            "requestBody": _cuerpo("FirmaActivacion"),
            "responses": {
                "201": _json("El Buzón activo, con el folio de su acuse (el mismo de la primera respuesta al repetir "
                             "la Idempotency-Key)", "Activacion"),
                "403": _error("certificado_ajeno"),
                "409": _error("requisitos_incompletos, ya_activo, " + CONFLICTO_IDEMPOTENCIA),
                "422": _error("firma_invalida y los códigos de certificado del inicio de sesión"),
                "503": _error("revocacion_no_disponible"),
                **ERRORES_SESION, **ERRORES_CON_CLAVE,
            },
        },
    },
    "/api/v1/aclaraciones": {
        "get": {
            "summary": "Mis Aclaraciones u Orientaciones (Promociones Electrónicas), la más reciente primero",
            "operationId": "aclaraciones",
            "responses": {"200": _json("Las aclaraciones", "Aclaraciones"), **ERRORES_SESION},
        },
        "post": {
            "summary": "Presenta una Aclaración u Orientación (asunto «Activación Buzón IMSS»), con su folio y acuse",
            "operationId": "presentar_aclaracion",
            "parameters": [IDEMPOTENCIA],
            "requestBody": _cuerpo("SolicitudAclaracion"),
            "responses": {
                "201": _json("La aclaración presentada (la misma al repetir la Idempotency-Key)", "Aclaracion"),
                "409": _error(CONFLICTO_IDEMPOTENCIA),
                "422": _error("texto_invalido: vacío o de más de 4000 caracteres"),
                "429": _error("demasiadas_solicitudes: más de BUZON_LIMITE_ACLARACIONES_POR_DIA en el día"),
                **ERRORES_SESION, **ERRORES_CON_CLAVE,
            },
        },
    },
    "/api/v1/aclaraciones/{folio}/acuse": {
        "get": {
            "summary": "Descarga el acuse de una aclaración",
            "operationId": "acuse_aclaracion",
            "parameters": [{"name": "folio", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 200}}],
            "responses": {"200": PDF, "404": _error("no_encontrado: no es una aclaración propia o su acuse aún no "
                                                    "existe"), **ERRORES_SESION},
        }
    },
    "/api/v1/activacion/solicitud": {
        "get": {
            "summary": "El texto de la Solicitud y manifestación y la cadena original a firmar",
            "operationId": "solicitud_activacion",
            "responses": {"200": _json("La solicitud", "Solicitud"), **ERRORES_SESION},
        }
    },
    "/api/v1/activacion/acuse": {
        "get": {
            "summary": "Descarga el acuse de la solicitud y manifestación de conformidad",
            "operationId": "acuse_activacion",
            "responses": {"200": PDF, "404": _error("no_encontrado: antes de la activación"), **ERRORES_SESION},
        }
    },
    "/api/v1/acuses/{folio}/verificacion": {
        "get": {
            "summary": "Verificación pública de un acuse con su código de verificación (destino del código QR)",
            "description": "Con `Accept: text/html` (un navegador) responde una página legible; si no, el JSON. "
                           "Un folio desconocido y un código ausente o equivocado reciben la misma respuesta 404.",
            "operationId": "verificar_acuse",
            **SIN_LOGIN,
            "parameters": [
                {"name": "folio", "in": "path", "required": True,
                 "schema": {"type": "string", "maxLength": 200, "example": "REG-2026-00000001"}},
                {"name": "codigo", "in": "query", "required": True,
                 "description": "el código de verificación impreso en el acuse (16 caracteres)",
                 "schema": {"type": "string", "maxLength": 64}},
            ],
            "responses": {
                "200": {"description": "El acuse y si su sello es válido",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerificacionAcuse"}},
                                    **HTML}},
                "404": _error("no_encontrado: folio desconocido, o código ausente o equivocado"),
                "429": _error("demasiadas_solicitudes: demasiadas verificaciones fallidas desde esta dirección"),
            },
        }
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
            "responses": {"200": {"description": "Formato de texto de Prometheus", "content": {"text/plain": {}}},
                          "404": _error("no_encontrado: quien pregunta no está en BUZON_METRICAS_PERMITIDAS")},
        }
    },
    "/": {
        "get": {
            "summary": "Página de inicio",
            "operationId": "inicio",
            **SIN_LOGIN,
            "responses": {"200": {"description": "La página de inicio del portal", "content": HTML}},
        }
    },
}


# --- Buzón: notifications from the Institute -----------------------------------------------------------------------

FECHA = {"type": "string", "format": "date-time"}
FECHA_O_NULL = {"type": ["string", "null"], "format": "date-time"}
ESTADO_NOTIFICACION = {"type": "string", "enum": ["pendiente", "abierta", "tacita"],
                       "description": "pendiente; abierta (firmó el acuse de recibo); tacita (se tuvo por notificada "
                                      "al vencer los días hábiles para abrirla)"}
ABRIR_HASTA = {**FECHA_O_NULL, "example": "2027-01-14T23:59:59-06:00",
               "description": "el último momento para abrirla: el fin del último día hábil del plazo, hora de la Ciudad "
                              "de México; null antes del aviso y una vez abierta o tácita"}
TACITA_EL = {"type": ["string", "null"], "format": "date", "example": "2027-01-15",
             "description": "el día hábil en que se tendrá por notificada si no se abre (desde la apertura de ese día "
                            "hábil, 07:30 de la Ciudad de México por omisión); null antes del aviso y una vez abierta o "
                            "tácita"}
AVISO_ENVIADO = {**FECHA_O_NULL, "description": "el primer aviso enviado: desde él corren los días hábiles para abrirla"}
CODIGO_NOTIFICACION = {"type": ["string", "null"], "pattern": "^[A-Z2-7]{16}$",
                       "description": "el código de verificación del acuse de notificación (con su folio abre su "
                                      "verificación pública); null mientras está pendiente"}
ESQUEMAS.update({
    "DepositoNotificacion": {
        "type": "object", "required": ["rfc", "asunto", "area", "tipo_acto", "documento", "referencia"],
        "properties": {
            "rfc": {"type": "string", "maxLength": cuerpos.DEPOSITO["rfc"].maximo, "example": "EDE0101013A2"},
            "registros_patronales": {"type": "array", "maxItems": 100,
                                     "items": {"type": "string", "example": "A1234567890"},
                                     "description": "los RP del RFC a los que se dirige (opcional; vacío: al RFC)"},
            "asunto": {"type": "string", "minLength": 1, "maxLength": 200},
            "area": {"type": "string", "minLength": 1, "maxLength": 200},
            "tipo_acto": {"type": "string", "minLength": 1, "maxLength": 100},
            "referencia": {"type": "string", "minLength": 1, "maxLength": 100,
                           "description": "la del sistema depositante, una por notificación: repetirla con el mismo "
                                          "contenido recibe la primera respuesta (reintentos)"},
            "documento": {"type": "string", "format": "byte", "maxLength": cuerpos.DEPOSITO["documento"].maximo,
                          "description": "el PDF en base64, de hasta 5 MiB, firmado con la llave del Instituto: "
                                         "una firma PDF (PAdES, adbe.pkcs7.detached) que cubre todo el archivo, de "
                                         "un certificado de una AC de BUZON_DOCUMENTOS_CA_DIR"},
        },
    },
    "NotificacionDepositada": {
        "type": "object", "required": ["id", "estado", "depositada_en"],
        "properties": {"id": {"type": "string", "format": "uuid"}, "estado": {"type": "string", "enum": ["pendiente"]},
                       "depositada_en": FECHA},
    },
    "NotificacionSistema": {
        "type": "object",
        "required": ["id", "rfc", "estado", "depositada_en", "aviso_enviado_en", "abrir_hasta", "tacita_el", "avisos",
                     "notificada_en", "folio_acuse", "codigo_verificacion"],
        "properties": {
            "id": {"type": "string", "format": "uuid"}, "rfc": {"type": "string"}, "estado": ESTADO_NOTIFICACION,
            "depositada_en": FECHA, "aviso_enviado_en": AVISO_ENVIADO, "abrir_hasta": ABRIR_HASTA,
            "tacita_el": TACITA_EL,
            "avisos": {"type": "array", "items": {
                "type": "object", "required": ["mecanismo", "estado"],
                "properties": {"mecanismo": {"type": "string", "enum": ["correo", "telefono"]},
                               "estado": {"type": "string", "enum": ["solicitado", "enviado", "fallido"]}}}},
            "notificada_en": FECHA_O_NULL, "folio_acuse": {"type": ["string", "null"]},
            "codigo_verificacion": CODIGO_NOTIFICACION,
        },
    },
    "NotificacionesBuzon": {
        "type": "object", "required": ["notificaciones"],
        "properties": {"notificaciones": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "asunto", "area", "tipo_acto", "estado", "depositada_en", "aviso_enviado_en",
                         "abrir_hasta", "tacita_el", "notificada_en", "folio_acuse", "codigo_verificacion"],
            "properties": {"id": {"type": "string", "format": "uuid"}, "asunto": {"type": "string"},
                           "area": {"type": "string"}, "tipo_acto": {"type": "string"}, "estado": ESTADO_NOTIFICACION,
                           "depositada_en": FECHA, "aviso_enviado_en": AVISO_ENVIADO, "abrir_hasta": ABRIR_HASTA,
                           "tacita_el": TACITA_EL, "notificada_en": FECHA_O_NULL,
                           "folio_acuse": {"type": ["string", "null"]},
                           "codigo_verificacion": CODIGO_NOTIFICACION}}}},
    },
    "AcuseRecibo": {
        "type": "object", "required": ["cadena_original"],
        "properties": {"cadena_original": {
            "type": "string", "description": "el texto exacto que se firma para abrirla: nombra la notificación, el "
                                             "RFC, el momento y la huella SHA-256 del documento; el mismo durante 30 "
                                             "minutos"}},
    },
    "NotificacionAbierta": {
        "type": "object", "required": ["estado", "notificada_en", "folio_acuse", "codigo_verificacion"],
        "properties": {"estado": {"type": "string", "enum": ["abierta"]}, "notificada_en": FECHA,
                       "folio_acuse": {"type": "string", "example": "NOT-2027-00000001"},
                       "codigo_verificacion": {"type": "string", "pattern": "^[A-Z2-7]{16}$",
                                               "description": "el del acuse de notificación, para su verificación "
                                                              "pública"}},
    },
})
SISTEMA = {"security": [{"sistema": []}]}
ERRORES_SISTEMA = {"401": _error("no_autenticado: falta la clave del sistema depositante o no es válida")}
ID_NOTIFICACION = {"name": "id_notificacion", "in": "path", "required": True,
                   "schema": {"type": "string", "maxLength": 200}}
NO_ENCONTRADA = _error("no_encontrado: no existe, o es de otro RFC")
PDF_NOTIFICACION = {"description": "El PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                     "format": "binary"}}}}
RUTAS.update({
    "/api/v1/notificaciones": {
        "post": {
            "summary": "Deposita una notificación en el Buzón IMSS activo de un RFC (sistemas del Instituto)",
            "operationId": "depositar_notificacion",
            **SISTEMA,
            "requestBody": _cuerpo("DepositoNotificacion"),
            "responses": {
                "201": _json("Depositada (la misma respuesta al repetir el sistema y la referencia)",
                             "NotificacionDepositada"),
                "400": _error(f"{MAL_FORMADO}; rfc_invalido, registro_patronal_invalido"),
                "409": _error("buzon_inactivo: el Buzón IMSS del RFC no está activo; idempotencia_conflicto: esa "
                              "referencia ya se usó con otro contenido"),
                "413": _error("solicitud_demasiado_grande: más de 7 MiB"),
                "415": ERRORES_COMUNES["415"],
                "422": _error("documento_invalido (no es un PDF en base64), documento_demasiado_grande (más de 5 "
                              "MiB), documento_sin_firma (el PDF no lleva firma), firma_documento_invalida (la firma "
                              "no cubre todo el archivo, no corresponde al documento o su certificado no es de una "
                              "AC del Instituto), registro_patronal_ajeno"),
                "429": {**_error("demasiadas_solicitudes: el sistema tiene en curso más de un segundo de depósitos "
                                 "(cada uno espera su turno, BUZON_DEPOSITOS_POR_SEGUNDO espaciados); reintenta el "
                                 "mismo cuerpo tras Retry-After (la misma referencia no duplica)"),
                        "headers": {"Retry-After": {"description": "Segundos por esperar antes de reintentar",
                                                    "schema": {"type": "integer", "minimum": 1}}}},
                **ERRORES_SISTEMA,
            },
        },
    },
    "/api/v1/notificaciones/{id_notificacion}": {
        "get": {
            "summary": "El estado de una notificación depositada por el mismo sistema, con sus avisos",
            "operationId": "consultar_notificacion",
            **SISTEMA,
            "parameters": [ID_NOTIFICACION],
            "responses": {"200": _json("La notificación", "NotificacionSistema"),
                          "404": _error("no_encontrado: no existe o la depositó otro sistema"), **ERRORES_SISTEMA},
        },
    },
    "/api/v1/buzon/notificaciones": {
        "get": {
            "summary": "Mis notificaciones del Buzón IMSS, la más reciente primero",
            "operationId": "mis_notificaciones",
            "responses": {"200": _json("Las notificaciones", "NotificacionesBuzon"), **ERRORES_SESION},
        },
    },
    "/api/v1/buzon/notificaciones/{id_notificacion}/acuse-recibo": {
        "get": {
            "summary": "El acuse de recibo a firmar con la e.firma para abrir una notificación",
            "operationId": "acuse_recibo_notificacion",
            "parameters": [ID_NOTIFICACION],
            "responses": {"200": _json("La cadena original", "AcuseRecibo"), "404": NO_ENCONTRADA,
                          "409": _error("ya_notificada: ya se abrió o se tuvo por notificada"), **ERRORES_SESION},
        },
    },
    "/api/v1/buzon/notificaciones/{id_notificacion}/apertura": {
        "post": {
            "summary": "Abre la notificación con el acuse de recibo firmado con la e.firma",
            "operationId": "abrir_notificacion",
            "parameters": [ID_NOTIFICACION],
            "requestBody": _cuerpo("FirmaActivacion"),
            "responses": {
                "200": _json("Abierta, con el folio y el código de verificación de su acuse", "NotificacionAbierta"),
                "403": _error("certificado_ajeno"),
                "404": NO_ENCONTRADA,
                "409": _error("ya_notificada: ya se abrió o se tuvo por notificada (también si venció su plazo)"),
                "422": _error("firma_invalida (la cadena firmada no es la vigente: pídela de nuevo) y los códigos "
                              "de certificado del inicio de sesión"),
                "503": _error("revocacion_no_disponible"),
                **ERRORES_SESION, **ERRORES_COMUNES,
            },
        },
    },
    "/api/v1/buzon/notificaciones/{id_notificacion}/documento": {
        "get": {
            "summary": "El documento de la notificación, una vez abierta o tenida por notificada",
            "operationId": "documento_notificacion",
            "parameters": [ID_NOTIFICACION],
            "responses": {"200": PDF_NOTIFICACION, "404": NO_ENCONTRADA,
                          "409": _error("notificacion_sin_abrir"), **ERRORES_SESION},
        },
    },
    "/api/v1/buzon/notificaciones/{id_notificacion}/acuse": {
        "get": {
            "summary": "Descarga el acuse de notificación",
            "operationId": "acuse_notificacion",
            "parameters": [ID_NOTIFICACION],
            "responses": {"200": PDF, "404": _error("no_encontrado: no existe, es de otro RFC o su acuse aún no "
                                                    "existe"), **ERRORES_SESION},
        },
    },
})

# What answers without asking any service, so never a 503 of a dependency.
SIN_DEPENDENCIAS = {"/api/v1/openapi.json", "/metrics", "/", "/health"}


def _con_no_disponible(rutas: dict) -> dict:
    """Any call that asks a service may find it down: every such operation documents the 503."""
    return {ruta: {metodo: {**op, "responses": {**NO_DISPONIBLE, **op["responses"]}} if ruta not in SIN_DEPENDENCIAS
                   else op for metodo, op in operaciones.items()} for ruta, operaciones in rutas.items()}


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
        "paths": _con_no_disponible(RUTAS),
        "components": {
            "schemas": ESQUEMAS,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "el token del inicio de sesión"},
                "sistema": {"type": "http", "scheme": "bearer",
                            "description": "la clave de un sistema depositante del Instituto "
                                           "(BUZON_SISTEMAS_DEPOSITANTES)"},
            },
        },
    }


def documento_openapi() -> dict:
    return copy.deepcopy(_documento())
