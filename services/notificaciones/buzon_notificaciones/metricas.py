"""Delivery metrics per channel, in the process's default registry (served by each worker's metrics port)."""
from prometheus_client import Counter, Histogram

ENVIADOS = Counter("buzon_notificaciones_enviados_total", "Messages handed to the mail server or SMS provider.", ["canal"])
FALLIDOS = Counter("buzon_notificaciones_fallidos_total", "Messages given up (permanent failure or last retry).", ["canal"])
REINTENTOS = Counter("buzon_notificaciones_reintentos_total", "Temporary failures that scheduled another try.", ["canal"])
DEMORA = Histogram(
    "buzon_notificaciones_demora_segundos",
    "Seconds from the request to the hand-off of a message.",
    ["canal"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200, 14400),
)
