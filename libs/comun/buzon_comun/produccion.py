"""What `BUZON_ENTORNO=produccion` demands before a process starts.

Every variable that names an external system has a development default (API.md, "Configuration"): convenient on
a laptop, a data leak or a forged seal in production. In `produccion` a process refuses to start while any
development stand-in or development key would be used, naming every missing variable at once so that the
operator fixes them in one go.

The check reads the environment, not `Config`: `Config` fills the development defaults in, so only the
environment tells whether an operator chose a value. Each process asks only for what it uses, because operators
may give each deployment its own secrets alone (contactos never sees the seal key).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from buzon_comun.config import ENTORNOS

CADA_SERVICIO = "*"
MIGRACIONES = "migraciones"


@dataclass(frozen=True)
class Requisito:
    servicios: frozenset[str]
    sustituto: str
    # Processes that `*` leaves out: those that never use it.
    excepto: frozenset[str] = frozenset()


# The processes that keep no data of their own: they never open a database.
SIN_DATOS = frozenset({"gateway", "acuses_render"})


# variable → the processes that need it (nameko service names; `*`: every `buzon-servicio`) and what would be
# used without it.
VARIABLES: dict[str, Requisito] = {
    "BUZON_DATABASE_URL": Requisito(frozenset({CADA_SERVICIO, MIGRACIONES}),
                                    "bases SQLite incrustadas en la carpeta de datos", excepto=SIN_DATOS),
    "BUZON_PUBLIC_URL": Requisito(frozenset({CADA_SERVICIO}),
                                  "http://127.0.0.1:<puerto> en los enlaces y en los acuses"),
    "BUZON_SAT_CA_DIR": Requisito(frozenset({"auth"}), "la AC de desarrollo como si fuera la del SAT"),
    "BUZON_OCSP_URL": Requisito(frozenset({"auth"}), "el respondedor OCSP de desarrollo"),
    "BUZON_DOCUMENTOS_CA_DIR": Requisito(frozenset({"buzon"}),
                                         "la AC de desarrollo «IMSS documentos» como si fuera la del Instituto"),
    "BUZON_PADRON_CSV": Requisito(frozenset({"contactos"}), "ningún padrón importado al arrancar"),
    "BUZON_SECRETO_CODIGOS": Requisito(frozenset({"contactos"}),
                                       "un secreto propio de cada réplica, en su carpeta de datos"),
    "BUZON_SMTP_HOST": Requisito(frozenset({"notificaciones_correo"}), "el buzón de correo de desarrollo"),
    "BUZON_SMS_URL": Requisito(frozenset({"notificaciones_sms"}), "el receptor de SMS de desarrollo"),
    "BUZON_SELLO_CER": Requisito(frozenset({"acuses"}), "el sello de desarrollo en los acuses"),
    "BUZON_SELLO_KEY": Requisito(frozenset({"acuses"}), "el sello de desarrollo en los acuses"),
    "BUZON_SELLO_PASSWORD": Requisito(frozenset({"acuses"}), "una llave del sello guardada sin cifrar"),
    "BUZON_SISTEMAS_DEPOSITANTES": Requisito(frozenset({"gateway"}),
                                             "una clave de desarrollo para depositar notificaciones"),
}

# Read as Config reads BUZON_SMTP_STARTTLS.
_SI = ("1", "si", "sí", "true", "yes")


class ConfiguracionDeDesarrollo(RuntimeError):
    """`produccion` was asked for and some development default would be used; the message names each one."""


def _valor(entorno: Mapping, nombre: str) -> str:
    return (entorno.get(nombre) or "").strip()


def nombre_servicio(nombre: str) -> str:
    """The nameko name of a service: entry points are named `notificaciones-correo`, services `notificaciones_correo`."""
    return nombre.replace("-", "_")


def en_produccion(entorno: Mapping) -> bool:
    return _valor(entorno, "BUZON_ENTORNO").lower() == "produccion"


def _aplica(requisito: Requisito, servicio: str | None) -> bool:
    if servicio is None or servicio in requisito.servicios:
        return True
    return CADA_SERVICIO in requisito.servicios and servicio != MIGRACIONES and servicio not in requisito.excepto


def comprobar(entorno: Mapping, servicio: str | None) -> list[str]:
    """The problems that keep `servicio` (None: every service) from starting in production; [] in desarrollo."""
    entorno_pedido = _valor(entorno, "BUZON_ENTORNO").lower() or "desarrollo"
    if entorno_pedido not in ENTORNOS:
        # Checked here too so that "producción" is refused with the message, not started as desarrollo nor
        # ended by a traceback.
        return [f"BUZON_ENTORNO debe ser «desarrollo» o «produccion», no {entorno_pedido!r}"]
    if entorno_pedido != "produccion":
        return []
    servicio = None if servicio is None else nombre_servicio(servicio)
    problemas = [
        f"falta {variable} (sin ella: {requisito.sustituto})"
        for variable, requisito in VARIABLES.items()
        if _aplica(requisito, servicio) and not _valor(entorno, variable)
    ]
    base = _valor(entorno, "BUZON_DATABASE_URL").lower()
    if _aplica(VARIABLES["BUZON_DATABASE_URL"], servicio) and base.startswith("sqlite"):
        problemas.append("BUZON_DATABASE_URL apunta a SQLite: en producción la base es PostgreSQL")
    if servicio in (None, "notificaciones_correo") and _valor(entorno, "BUZON_SMTP_USER") \
            and _valor(entorno, "BUZON_SMTP_STARTTLS").lower() not in _SI:
        problemas.append("BUZON_SMTP_USER sin BUZON_SMTP_STARTTLS: el usuario y la contraseña del correo viajarían sin cifrar")
    return problemas


def mensaje(entorno: Mapping, problemas: list[str], servicio: str | None) -> str:
    quien = {None: "el sistema", MIGRACIONES: "buzon-migrar"}.get(servicio, servicio)
    if en_produccion(entorno):
        cabecera = f"BUZON_ENTORNO=produccion: {quien} no arranca con valores de desarrollo:"
    else:
        cabecera = f"{quien} no arranca:"
    lineas = "".join(f"\n  - {problema}" for problema in problemas)
    return f"{cabecera}{lineas}\nConfigure cada variable (ver «Configuration» en API.md y deploy/README.md)."


def exigir(entorno: Mapping, servicio: str | None) -> None:
    """Raise `ConfiguracionDeDesarrollo`, with every problem in one message, unless `servicio` may start."""
    problemas = comprobar(entorno, servicio)
    if problemas:
        raise ConfiguracionDeDesarrollo(mensaje(entorno, problemas, servicio))
