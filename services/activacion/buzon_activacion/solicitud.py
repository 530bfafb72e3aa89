"""The text of the Solicitud y manifestación del solicitante and its cadena original.

The legal paragraph is a Jinja2 template: the default one of the package (DOMINIO.md's text) or the file named
by BUZON_SOLICITUD_PLANTILLA, since the Institute may change it. Both get the same variables (`variables`).
The data of the person follow it, always in the same layout, so a changed paragraph can't drop them.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from buzon_comun.reloj import iso_mexico

TRAMITE = "Solicitud y manifestación de conformidad para el uso del Buzón IMSS"
VERSION_CADENA = "1.0"
AVISO_PARTICULAR = (
    "Estimado Usuario: Tu RFC no tiene asociados Registros Patronales. Si estás de acuerdo selecciona el botón "
    "“Aceptar” y firma la “Solicitud y manifestación del solicitante”. En caso contrario, acude a tu subdelegación "
    "para aclarar la inconsistencia."
)
MECANISMOS = {"correo": "Correo electrónico", "telefono": "Teléfono celular"}

# Plain text, not HTML: nothing to escape, and the text signed must be the text shown.
_entorno = Environment(loader=PackageLoader("buzon_activacion", "plantillas"), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=False)


def plantilla_por_defecto() -> Template:
    return _entorno.get_template("solicitud.txt.j2")


def cargar_plantilla(ruta: str | None) -> Template:
    """The configured template, compiled once; a missing or broken file stops the service at its start."""
    if not ruta:
        return plantilla_por_defecto()
    return _entorno.from_string(Path(ruta).read_text(encoding="utf-8"))


def variables(titular: dict, tipo: str, registros_patronales: list[dict], medios: list[dict]) -> dict:
    return {
        "nombre": titular.get("nombre") or "",
        "rfc": titular["rfc"],
        "curp": titular.get("curp"),
        "rfc_representante": titular.get("rfc_representante"),
        "tipo_persona": titular.get("tipo_persona"),
        "tipo": tipo,
        "registros_patronales": registros_patronales,
        "medios": medios,
    }


def _alcance(medio: dict, todos: set[str]) -> str:
    """Whom a medio serves, in as few words as the guide's "Seleccionar todos los Registros Patronales" allows."""
    rps = medio.get("registros_patronales") or []
    if not rps:
        return "del RFC"
    if len(rps) == 1:
        return f"del Registro Patronal {rps[0]}"
    if len(todos) > 1 and set(rps) == todos:
        return "de todos los Registros Patronales"
    return "de los Registros Patronales " + ", ".join(rps)


def por_razon_social(registros_patronales: list[dict]) -> list[tuple[str, list[str]]]:
    """The Registros Patronales grouped under their razón social, in the padrón's order: a Patrón's RPs usually
    share one, so twenty of them read as one line instead of twenty."""
    grupos: dict[str, list[str]] = {}
    for rp in registros_patronales:
        grupos.setdefault(rp.get("razon_social") or "", []).append(rp["registro_patronal"])
    return list(grupos.items())


def texto(plantilla: Template, titular: dict, tipo: str, registros_patronales: list[dict],
          medios: list[dict]) -> str:
    """The whole text the person reads and, through its hash in the cadena original, signs."""
    contexto = variables(titular, tipo, registros_patronales, medios)
    parrafo = plantilla.render(contexto).strip()
    moral = titular.get("tipo_persona") == "moral"
    lineas = [parrafo, "", "Datos de la persona solicitante",
              f"{'Razón social' if moral else 'Nombre'}: {contexto['nombre']}",
              f"RFC: {contexto['rfc']}"]
    if moral:
        # A persona moral's e.firma names its legal representative; the CURP it carries is the representative's.
        lineas.append(f"RFC del representante legal: {contexto['rfc_representante'] or 'no indicado'}")
        if contexto["curp"]:
            lineas.append(f"CURP del representante legal: {contexto['curp']}")
    else:
        lineas.append(f"CURP: {contexto['curp'] or 'no indicada'}")
    lineas += ["", "Medios de contacto validados"]
    todos = {rp["registro_patronal"] for rp in registros_patronales}
    lineas += [f"- {MECANISMOS.get(m['mecanismo'], m['mecanismo'])}: {m['valor']} ({_alcance(m, todos)})"
               for m in medios]
    if not medios:
        lineas.append("- Ninguno")
    lineas.append("")
    if tipo == "patron":
        lineas.append("Registros Patronales")
        lineas += [f"- {razon}: {', '.join(rps)}" if razon else f"- {', '.join(rps)}"
                   for razon, rps in por_razon_social(registros_patronales)]
    else:
        lineas += [
            "Registros Patronales",
            f"El RFC {contexto['rfc']} no tiene asociados Registros Patronales ante el Instituto. La persona "
            "solicitante manifiesta su conformidad para usar el Buzón IMSS como Particular.",
        ]
    return "\n".join(lineas)


def _campo(valor: str) -> str:
    # The separator of the cadena can't appear inside a field, or two cadenas could read alike.
    return re.sub(r"\s+", " ", valor.replace("|", " ")).strip()


def cadena_original(rfc: str, nombre: str, texto_solicitud: str, *, ahora: datetime, nonce: str | None = None) -> str:
    """||version|trámite|RFC|nombre|fecha|nonce|SHA-256 of the text||: the exact string the person signs."""
    nonce = nonce or secrets.token_hex(16)
    resumen = hashlib.sha256(texto_solicitud.encode("utf-8")).hexdigest()
    campos = (VERSION_CADENA, TRAMITE, rfc, _campo(nombre), iso_mexico(ahora), nonce, resumen)
    return "||" + "|".join(campos) + "||"
