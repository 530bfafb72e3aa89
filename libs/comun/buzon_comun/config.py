"""Configuration from environment variables, with the defaults of the public contract (API.md).

Every service reads its settings through `Config.desde_entorno()`, so a variable means the same thing
everywhere. Unset variables that name an external system (CA folder, OCSP, SMTP, SMS) fall back to the
development stand-ins, which the local launcher starts only in that case.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PUERTOS_DESARROLLO = {
    "ocsp": 8101,
    "sms": 8102,
    "correo_web": 8103,
    "correo_smtp": 8025,
}

# Default Prometheus port of each service when run on one host (0 disables the endpoint).
PUERTOS_METRICAS = {
    "auth": 9101,
    "contactos": 9102,
    "notificaciones": 9103,
    "activacion": 9104,
    "acuses": 9105,
    "notificaciones_correo": 9106,
    "notificaciones_sms": 9107,
    "bitacora": 9108,
    "acuses_render": 9109,
    "buzon": 9110,
}


def _entero(entorno, nombre, defecto):
    valor = entorno.get(nombre, "").strip()
    if not valor:
        return defecto
    try:
        return int(valor)
    except ValueError:
        raise ValueError(f"{nombre} debe ser un número entero, no {valor!r}") from None


def _texto(entorno, nombre, defecto=None):
    valor = entorno.get(nombre, "").strip()
    return valor or defecto


def segundos(entorno, nombre: str, defecto: float) -> float:
    """A positive number of seconds from `nombre` (unset or empty: `defecto`); anything else is a ValueError naming it."""
    texto = _texto(entorno, nombre)
    if texto is None:
        return defecto
    try:
        valor = float(texto)
    except ValueError:
        raise ValueError(f"{nombre} debe ser un número de segundos, no {texto!r}") from None
    if not valor > 0:
        raise ValueError(f"{nombre} debe ser mayor que cero, no {texto!r}")
    return valor


def _lista_segundos(entorno, nombre: str, defecto: tuple) -> tuple:
    texto = _texto(entorno, nombre)
    if texto is None:
        return defecto
    return tuple(segundos({nombre: parte}, nombre, 0) for parte in texto.split(",") if parte.strip())


def _reintentos(entorno) -> tuple:
    """Delays before each retry of a message. A person waits for a code: the first retry within 5 s."""
    texto = _texto(entorno, "BUZON_REINTENTOS_S", "3,15,60,300,900,1800,3600")
    try:
        demoras = tuple(float(parte) for parte in texto.split(",") if parte.strip())
    except ValueError:
        raise ValueError(f"BUZON_REINTENTOS_S debe ser una lista de segundos separados por comas, no {texto!r}") from None
    if not demoras or demoras[0] > 5 or any(d <= 0 for d in demoras):
        raise ValueError("BUZON_REINTENTOS_S: el primer reintento debe ocurrir dentro de 5 segundos")
    return demoras


def colas_quorum(entorno=None) -> bool:
    """BUZON_COLAS_QUORUM: 1 makes every durable queue the system declares a quorum queue (replicated over a
    RabbitMQ cluster's nodes); 0, the default, a classic one (buzon_comun.colas). Every process on a vhost must
    agree: RabbitMQ refuses to declare a queue again with another type."""
    e = os.environ if entorno is None else entorno
    valor = _texto(e, "BUZON_COLAS_QUORUM", "0")
    if valor not in ("0", "1"):
        raise ValueError(f"BUZON_COLAS_QUORUM debe ser 0 (colas clásicas) o 1 (colas de quórum), no {valor!r}")
    return valor == "1"


def ssl_amqp(uri: str, entorno=None) -> dict | None:
    """What every connection to RabbitMQ passes as `ssl` (nameko's AMQP_SSL, kombu's Connection): None for amqp://;
    for amqps://, the broker's certificate checked against the CAs (BUZON_AMQP_CA, a PEM file; else the system's,
    e.g. SSL_CERT_FILE) and its name against the URI's host, so a certificate of another host of the same CA is
    refused."""
    from urllib.parse import urlsplit

    partes = urlsplit(uri)
    if partes.scheme != "amqps":
        return None
    e = os.environ if entorno is None else entorno
    opciones = {"server_hostname": partes.hostname}
    ca = _texto(e, "BUZON_AMQP_CA")
    if ca:
        opciones["ca_certs"] = ca
    return opciones


ENTORNOS = ("desarrollo", "produccion")


def _entorno_de(entorno) -> str:
    valor = _texto(entorno, "BUZON_ENTORNO", "desarrollo").lower()
    if valor not in ENTORNOS:
        raise ValueError(f"BUZON_ENTORNO debe ser «desarrollo» o «produccion», no {valor!r}")
    return valor


# Deadlines of calls between services, in seconds (API.md: at most 10 s, longer only for PDFs). The login and the
# activation wait for SAT's OCSP responder (BUZON_OCSP_TIMEOUT_S, 5 s); /health must answer within 5 s whatever is down.
PLAZO_RPC_S = 5.0
PLAZOS_RPC = {"acuses.pdf": 20.0, "auth.iniciar_sesion": 8.0, "auth.verificar_efirma": 8.0,
              "activacion.activar": 10.0, "buzon.abrir": 10.0, "buzon.depositar": 10.0, "*.salud": 3.0}
# A render request may wait this long in the renderers' queue on top of the render's own limit
# (BUZON_ACUSES_PLAZO_RENDER_S): the deadline of `acuses_render.pdf` unless BUZON_PLAZOS_RPC names it.
ESPERA_EN_COLA_RENDER_S = 10.0
PLAZO_RENDER_S = 60.0

# Never more: a session whose logout did not reach a gateway process is served there at most this long.
MAXIMO_CACHE_SESION_S = 300


def _plazos(entorno, plazo_render_s: float) -> tuple:
    """BUZON_PLAZOS_RPC: `servicio.metodo=segundos` (or `*.metodo`), comma-separated, over the defaults."""
    plazos = dict(PLAZOS_RPC, **{"acuses_render.pdf": plazo_render_s + ESPERA_EN_COLA_RENDER_S})
    texto = _texto(entorno, "BUZON_PLAZOS_RPC", "")
    for parte in (p.strip() for p in texto.split(",") if p.strip()):
        clave, _, valor = parte.partition("=")
        try:
            segundos = float(valor)
        except ValueError:
            raise ValueError(f"BUZON_PLAZOS_RPC: «{parte}» debe ser servicio.metodo=segundos") from None
        if "." not in clave or segundos <= 0:
            raise ValueError(f"BUZON_PLAZOS_RPC: «{parte}» debe ser servicio.metodo=segundos (más de 0)")
        plazos[clave.strip()] = segundos
    return tuple(sorted(plazos.items()))


@dataclass(frozen=True)
class Config:
    amqp_uri: str
    database_url: str | None
    data_dir: Path
    gateway_port: int
    public_url: str
    sat_ca_dir: Path
    ocsp_url: str
    ocsp_timeout_s: float
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    sms_url: str
    sms_token: str | None
    sms_respaldo_url: str | None
    sms_respaldo_token: str | None
    sello_cer: str | None
    sello_key: str | None
    sello_password: str | None
    ventana_validacion_s: int
    padron_csv: str | None
    max_workers: int
    proxies_confiables: str | None
    sesion_duracion_s: int
    reto_duracion_s: int
    limite_retos_por_minuto: int
    intentos_codigo: int = 5
    limite_registros_por_hora: int = 30
    limite_mensajes_por_destino: int = 10
    reintentos_s: tuple = (3, 15, 60, 300, 900, 1800, 3600)
    smtp_timeout_s: float = 10.0
    sms_timeout_s: float = 10.0
    correo_remitente: str = "Buzón IMSS <no-responder@buzon.imss.gob.mx>"
    solicitud_plantilla: str | None = None
    aviso_privacidad_plantilla: str | None = None
    logo: str | None = None
    acuses_procesos: int = 2
    metricas_puertos: dict = field(default_factory=dict)
    entorno: str = "desarrollo"
    metricas_permitidas: str = "127.0.0.0/8,::1/128"
    metricas_host: str = "127.0.0.1"
    secreto_codigos: str | None = None
    limite_verificaciones_por_minuto: int = 60
    ocsp_cache_max_s: int = 300
    limite_aclaraciones_por_dia: int = 10
    plazo_rpc_s: float = PLAZO_RPC_S
    plazos_rpc: tuple = _plazos({}, PLAZO_RENDER_S)
    gateway_max_workers: int = 100
    acuses_max_workers: int = 50
    acuses_plazo_render_s: float = PLAZO_RENDER_S
    acuses_reintentos_s: tuple = (30.0, 120.0, 600.0, 1800.0)
    gateway_cache_sesion_s: int = 30
    db_conexiones: int = 5
    colas_quorum: bool = False
    sistemas_depositantes: str | None = None
    # The CAs whose certificates sign the Institute's documents deposited in the Buzón (buzon's firma_documento).
    documentos_ca_dir: Path = Path("var/pki-documentos/ca")
    # The deposits one depositing system may make per second (buzon's admission control; docs/capacidad.md).
    depositos_por_segundo: int = 50

    @classmethod
    def desde_entorno(cls, entorno=None) -> "Config":
        e = os.environ if entorno is None else entorno
        data_dir = Path(_texto(e, "BUZON_DATA_DIR", "var")).resolve()
        port = _entero(e, "BUZON_GATEWAY_PORT", 8000)
        metricas = {
            servicio: _entero(e, f"BUZON_METRICAS_PUERTO_{servicio.upper()}", _entero(e, "BUZON_METRICAS_PUERTO", defecto))
            for servicio, defecto in PUERTOS_METRICAS.items()
        }
        return cls(
            amqp_uri=_texto(e, "BUZON_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            database_url=_texto(e, "BUZON_DATABASE_URL"),
            data_dir=data_dir,
            gateway_port=port,
            public_url=_texto(e, "BUZON_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            sat_ca_dir=Path(_texto(e, "BUZON_SAT_CA_DIR", str(data_dir / "pki" / "ca"))),
            ocsp_url=_texto(e, "BUZON_OCSP_URL", f"http://127.0.0.1:{PUERTOS_DESARROLLO['ocsp']}/"),
            ocsp_timeout_s=float(_texto(e, "BUZON_OCSP_TIMEOUT_S", "5")),
            smtp_host=_texto(e, "BUZON_SMTP_HOST", "127.0.0.1"),
            smtp_port=_entero(e, "BUZON_SMTP_PORT", PUERTOS_DESARROLLO["correo_smtp"] if not _texto(e, "BUZON_SMTP_HOST") else 25),
            smtp_user=_texto(e, "BUZON_SMTP_USER"),
            smtp_password=_texto(e, "BUZON_SMTP_PASSWORD"),
            smtp_starttls=_texto(e, "BUZON_SMTP_STARTTLS", "no").lower() in ("1", "si", "sí", "true", "yes"),
            sms_url=_texto(e, "BUZON_SMS_URL", f"http://127.0.0.1:{PUERTOS_DESARROLLO['sms']}/sms"),
            sms_token=_texto(e, "BUZON_SMS_TOKEN"),
            sms_respaldo_url=_texto(e, "BUZON_SMS_RESPALDO_URL"),
            sms_respaldo_token=_texto(e, "BUZON_SMS_RESPALDO_TOKEN"),
            sello_cer=_texto(e, "BUZON_SELLO_CER"),
            sello_key=_texto(e, "BUZON_SELLO_KEY"),
            sello_password=_texto(e, "BUZON_SELLO_PASSWORD"),
            ventana_validacion_s=_entero(e, "BUZON_VENTANA_VALIDACION_S", 259200),
            padron_csv=_texto(e, "BUZON_PADRON_CSV"),
            max_workers=_entero(e, "BUZON_MAX_WORKERS", 10),
            proxies_confiables=_texto(e, "BUZON_PROXIES_CONFIABLES"),
            sesion_duracion_s=_entero(e, "BUZON_SESION_DURACION_S", 3600),
            reto_duracion_s=min(_entero(e, "BUZON_RETO_DURACION_S", 300), 300),
            limite_retos_por_minuto=max(_entero(e, "BUZON_LIMITE_RETOS_POR_MINUTO", 120), 60),
            # Wrong SMS codes allowed per code: the contract allows the 3rd to the 10th to be the last.
            intentos_codigo=min(max(_entero(e, "BUZON_INTENTOS_CODIGO", 5), 3), 10),
            # Never tighter than the floors of API.md's Conventions.
            limite_registros_por_hora=max(_entero(e, "BUZON_LIMITE_REGISTROS_POR_HORA", 30), 30),
            limite_mensajes_por_destino=max(_entero(e, "BUZON_LIMITE_MENSAJES_POR_DESTINO", 10), 5),
            reintentos_s=_reintentos(e),
            smtp_timeout_s=float(_texto(e, "BUZON_SMTP_TIMEOUT_S", "10")),
            sms_timeout_s=float(_texto(e, "BUZON_SMS_TIMEOUT_S", "10")),
            correo_remitente=_texto(e, "BUZON_CORREO_REMITENTE", "Buzón IMSS <no-responder@buzon.imss.gob.mx>"),
            solicitud_plantilla=_texto(e, "BUZON_SOLICITUD_PLANTILLA"),
            # The portal's privacy notice (a Jinja2 HTML file) and the Institute's logo (an image file): both
            # the operator's, read once when the gateway starts (buzon_gateway.imagen).
            aviso_privacidad_plantilla=_texto(e, "BUZON_AVISO_PRIVACIDAD_PLANTILLA"),
            logo=_texto(e, "BUZON_LOGO"),
            acuses_procesos=max(_entero(e, "BUZON_ACUSES_PROCESOS", 2), 1),
            metricas_puertos=metricas,
            entorno=_entorno_de(e),
            metricas_permitidas=_texto(e, "BUZON_METRICAS_PERMITIDAS", "127.0.0.0/8,::1/128"),
            metricas_host=_texto(e, "BUZON_METRICAS_HOST", "127.0.0.1"),
            secreto_codigos=_texto(e, "BUZON_SECRETO_CODIGOS"),
            sistemas_depositantes=_texto(e, "BUZON_SISTEMAS_DEPOSITANTES"),
            documentos_ca_dir=Path(_texto(e, "BUZON_DOCUMENTOS_CA_DIR", str(data_dir / "pki-documentos" / "ca"))),
            # A campaign takes at most this share of buzon's CPU: the national one (100,000/h) is about 28/s.
            depositos_por_segundo=max(_entero(e, "BUZON_DEPOSITOS_POR_SEGUNDO", 50), 1),
            # Never tighter than API.md's floor: a person who mistypes a code must still get through.
            limite_verificaciones_por_minuto=max(_entero(e, "BUZON_LIMITE_VERIFICACIONES_POR_MINUTO", 60), 30),
            ocsp_cache_max_s=max(_entero(e, "BUZON_OCSP_CACHE_MAX_S", 300), 0),
            limite_aclaraciones_por_dia=max(_entero(e, "BUZON_LIMITE_ACLARACIONES_POR_DIA", 10), 1),
            plazo_rpc_s=float(_texto(e, "BUZON_PLAZO_RPC_S", str(PLAZO_RPC_S))),
            plazos_rpc=_plazos(e, segundos(e, "BUZON_ACUSES_PLAZO_RENDER_S", PLAZO_RENDER_S)),
            # The gateway's workers mostly wait on other services: many are cheap, and a service that stops
            # answering can hold only part of them (buzon_comun.remoto bounds the calls in flight per service).
            gateway_max_workers=max(_entero(e, "BUZON_GATEWAY_MAX_WORKERS", 100), 10),
            acuses_max_workers=max(_entero(e, "BUZON_ACUSES_MAX_WORKERS", 50), 10),
            # An acuse render's time limit, and the delays before each retry of a failed one (then it is parked).
            acuses_plazo_render_s=segundos(e, "BUZON_ACUSES_PLAZO_RENDER_S", PLAZO_RENDER_S),
            acuses_reintentos_s=_lista_segundos(e, "BUZON_ACUSES_REINTENTOS_S", (30.0, 120.0, 600.0, 1800.0)),
            # How long a gateway process reuses auth's answer for a session token (0: never). A logout drops it at
            # once in every process; this bounds only a session whose end never reached one (gateway/README.md).
            gateway_cache_sesion_s=min(max(_entero(e, "BUZON_GATEWAY_CACHE_SESION_S", 30), 0),
                                       MAXIMO_CACHE_SESION_S),
            # Database connections each service process keeps (its workers take turns; PostgreSQL's
            # max_connections must cover every process's share: README's configuration table).
            db_conexiones=min(max(_entero(e, "BUZON_DB_CONEXIONES", 5), 1), 100),
            colas_quorum=colas_quorum(e),
        )
