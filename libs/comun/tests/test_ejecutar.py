import logging
import sys

from buzon_comun.ejecutar import SinTrazaEsperada


def _registro(nombre: str, mensaje: str) -> logging.LogRecord:
    try:
        raise ValueError("la causa")
    except ValueError:
        return logging.LogRecord(nombre, logging.WARNING, __file__, 1, mensaje, (), sys.exc_info())


def test_an_expected_error_is_logged_without_its_traceback_and_a_fault_keeps_it():
    formato = logging.Formatter("%(message)s")
    esperado = _registro("nameko.containers", "(expected) error handling worker x: no_encontrado")
    falla = _registro("nameko.containers", "error handling worker x: boom")
    otro = _registro("buzon_acuses.acuses", "(expected) no es de nameko")
    filtro = SinTrazaEsperada()
    assert all(filtro.filter(r) for r in (esperado, falla, otro))
    assert formato.format(esperado) == "(expected) error handling worker x: no_encontrado"
    assert "Traceback" in formato.format(falla) and "la causa" in formato.format(falla)
    assert "Traceback" in formato.format(otro)
