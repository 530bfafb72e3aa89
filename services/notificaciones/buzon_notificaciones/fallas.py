"""The two ways a hand-off can fail: worth retrying, or not."""


class FallaEnvio(Exception):
    pass


class FallaTemporal(FallaEnvio):
    """The server or provider may take the message later (no answer, busy, 4xx SMTP, 429 or 5xx HTTP)."""


class FallaPermanente(FallaEnvio):
    """Retrying will not help (a refused address, a malformed request, an unknown template)."""
