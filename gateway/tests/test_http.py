"""What every answer of the gateway carries, whatever route gave it (buzon_gateway.http), without a broker."""
from buzon_gateway.http import encabezados_seguridad


def test_nothing_is_sniffed_and_pages_are_never_framed():
    assert encabezados_seguridad("application/json", False) == {"X-Content-Type-Options": "nosniff"}
    assert encabezados_seguridad("application/pdf", False) == {"X-Content-Type-Options": "nosniff"}
    assert encabezados_seguridad("text/html; charset=utf-8", False) == {
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def test_https_is_remembered_only_when_the_public_address_is_https():
    assert "Strict-Transport-Security" not in encabezados_seguridad("application/json", False)
    assert encabezados_seguridad("application/pdf", True)["Strict-Transport-Security"].startswith("max-age=")
