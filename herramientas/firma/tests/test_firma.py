"""buzon-firma: firma local con la e.firma, errores en español sin trazas, y login contra un servidor de prueba."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from buzon_firma import cli
from buzon_firma.cli import ErrorFirma, cargar_llave, certificado_b64, firmar, iniciar_sesion, main

SAT = Path(os.environ.get("BUZON_FIXTURES_SAT", "/work/shared/fixtures/sat-pruebas"))
requiere_sat = pytest.mark.skipif(not SAT.is_dir(), reason="faltan los archivos de prueba de SAT")
FISICA_CER = SAT / "fiel-fisica-XIQB891116QE4.cer"
FISICA_KEY = SAT / "fiel-fisica-XIQB891116QE4.key"
MORAL_CER = SAT / "fiel-moral-AAA010101AAA.cer"
PASSWORD = "12345678a"


@pytest.fixture(scope="module")
def efirma(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pki_mod = pytest.importorskip("buzon_dev.pki")
    pki = pki_mod.PKI.abrir(tmp_path_factory.mktemp("pki"))
    return pki.emitir("XIQB891116QE4", "BERENICE XIMO QUEZADA", "XIQB891116MGRMZR05", password="contraseña secreta")


@pytest.fixture(autouse=True)
def _sin_password_en_entorno(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUZON_FIRMA_PASSWORD", raising=False)


def _verifica(ruta_cer: Path, texto: str, firma_b64: str) -> None:
    cert = x509.load_der_x509_certificate(ruta_cer.read_bytes())
    cert.public_key().verify(base64.b64decode(firma_b64), texto.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())


# -- funciones ---------------------------------------------------------------------------------------------------


def test_firma_verificable_pki_de_desarrollo(efirma: Any) -> None:
    llave = cargar_llave(efirma.ruta_key, "contraseña secreta")
    texto = "Acepto el Buzón IMSS | XIQB891116QE4 | 2026-01-01 | ñ"
    _verifica(efirma.ruta_cer, texto, firmar(llave, texto))


@requiere_sat
def test_firma_verificable_archivos_de_sat() -> None:
    llave = cargar_llave(FISICA_KEY, PASSWORD)
    _verifica(FISICA_CER, "reto-abc_123", firmar(llave, "reto-abc_123"))


def test_certificado_b64_der_y_pem(efirma: Any, tmp_path: Path) -> None:
    assert base64.b64decode(certificado_b64(efirma.ruta_cer)) == efirma.cer_der
    pem = tmp_path / "x.cer"
    pem.write_bytes(efirma.certificado.public_bytes(serialization.Encoding.PEM))
    assert certificado_b64(pem) == certificado_b64(efirma.ruta_cer)


def test_llave_pem_sin_cifrar(efirma: Any, tmp_path: Path) -> None:
    llave = cargar_llave(efirma.ruta_key, "contraseña secreta")
    ruta = tmp_path / "llave.pem"
    ruta.write_bytes(
        llave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    assert cargar_llave(ruta, "lo que sea").private_numbers() == llave.private_numbers()


def test_contrasena_incorrecta_es_error_claro(efirma: Any) -> None:
    with pytest.raises(ErrorFirma, match="contraseña es incorrecta") as e:
        cargar_llave(efirma.ruta_key, "otra")
    assert e.value.codigo_salida == 2


def test_archivos_que_no_son(tmp_path: Path) -> None:
    basura = tmp_path / "basura"
    basura.write_bytes(b"no soy nada")
    with pytest.raises(ErrorFirma, match="no es un certificado"):
        certificado_b64(basura)
    with pytest.raises(ErrorFirma, match="No se pudo leer"):
        certificado_b64(tmp_path / "no-existe.cer")
    with pytest.raises(ErrorFirma):
        cargar_llave(basura, PASSWORD)


# -- línea de comandos -------------------------------------------------------------------------------------------


def test_cli_firmar_texto(efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "contraseña secreta")
    assert main(["firmar", "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key), "--texto", "hola"]) == 0
    _verifica(efirma.ruta_cer, "hola", capsys.readouterr().out.strip())


def test_cli_firmar_archivo_con_password_env(
    efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MI_CLAVE", "contraseña secreta")
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "esta no se usa")
    archivo = tmp_path / "cadena.txt"
    archivo.write_text("||1.0|ACTIVACION|XIQB891116QE4||\n", "utf-8")
    argv = ["firmar", "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key), "--archivo", str(archivo),
            "--password-env", "MI_CLAVE"]
    assert main(argv) == 0
    _verifica(efirma.ruta_cer, "||1.0|ACTIVACION|XIQB891116QE4||\n", capsys.readouterr().out.strip())


def test_cli_firmar_stdin_y_getpass(efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": "contraseña secreta")
    monkeypatch.setattr("sys.stdin", io.StringIO("texto por stdin"))
    assert main(["firmar", "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key)]) == 0
    _verifica(efirma.ruta_cer, "texto por stdin", capsys.readouterr().out.strip())


@requiere_sat
def test_cli_firmar_con_archivos_de_sat(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", PASSWORD)
    assert main(["firmar", "--cer", str(FISICA_CER), "--key", str(FISICA_KEY), "--texto", "reto"]) == 0
    _verifica(FISICA_CER, "reto", capsys.readouterr().out.strip())


def test_cli_contrasena_incorrecta(efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "equivocada")
    assert main(["firmar", "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key), "--texto", "x"]) == 2
    salida = capsys.readouterr()
    assert salida.out == ""
    assert "contraseña es incorrecta" in salida.err
    assert "Traceback" not in salida.err


@requiere_sat
def test_cli_llave_de_otro_certificado(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", PASSWORD)
    assert main(["firmar", "--cer", str(MORAL_CER), "--key", str(FISICA_KEY), "--texto", "x"]) == 2
    salida = capsys.readouterr()
    assert salida.out == ""
    assert "no corresponde al certificado" in salida.err


def test_cli_variable_de_password_inexistente(efirma: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["firmar", "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key), "--texto", "x",
            "--password-env", "NO_EXISTE_ESTA_VARIABLE_123"]
    assert main(argv) == 2
    assert "NO_EXISTE_ESTA_VARIABLE_123" in capsys.readouterr().err


def test_cli_certificado(efirma: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certificado", "--cer", str(efirma.ruta_cer)]) == 0
    assert base64.b64decode(capsys.readouterr().out.strip()) == efirma.cer_der


# -- login -------------------------------------------------------------------------------------------------------


class _Gateway:
    """Imita las dos llamadas de sesión de la API y revisa lo que recibe, como lo haría el verificador."""

    def __init__(self, cer_der: bytes, rechazar: bool = False) -> None:
        self.cer_der = cer_der
        self.rechazar = rechazar
        self.recibido: list[tuple[str, Any]] = []
        gateway = self

        class Manejador(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                cuerpo = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.recibido.append((self.path, cuerpo))
                if self.path == "/api/v1/sesiones/retos":
                    self._json(201, {"reto": "UmV0b0RlUHJ1ZWJh_-", "expira_en": "2026-01-01T00:05:00-06:00"})
                elif self.path == "/api/v1/sesiones" and gateway.rechazar:
                    self._json(401, {"error": {"codigo": "certificado_revocado", "mensaje": "El certificado está revocado."}})
                elif self.path == "/api/v1/sesiones":
                    assert base64.b64decode(cuerpo["certificado"]) == gateway.cer_der
                    cert = x509.load_der_x509_certificate(gateway.cer_der)
                    cert.public_key().verify(
                        base64.b64decode(cuerpo["firma"]), cuerpo["reto"].encode(), padding.PKCS1v15(), hashes.SHA256()
                    )
                    self._json(201, {"token": "tok", "rfc": "XIQB891116QE4", "tipo_persona": "fisica"})
                else:
                    self._json(404, {"error": {"codigo": "no_encontrado", "mensaje": "No existe."}})

            def _json(self, estado: int, datos: Any) -> None:
                cuerpo = json.dumps(datos, ensure_ascii=False).encode("utf-8")
                self.send_response(estado)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(cuerpo)))
                self.end_headers()
                self.wfile.write(cuerpo)

        self.servidor = ThreadingHTTPServer(("127.0.0.1", 0), Manejador)
        self.url = f"http://127.0.0.1:{self.servidor.server_port}"
        self.hilo = threading.Thread(target=self.servidor.serve_forever, daemon=True)
        self.hilo.start()

    def cerrar(self) -> None:
        self.servidor.shutdown()
        self.servidor.server_close()


@pytest.fixture
def gateway(efirma: Any) -> Iterator[_Gateway]:
    g = _Gateway(efirma.cer_der)
    yield g
    g.cerrar()


def test_iniciar_sesion(gateway: _Gateway, efirma: Any) -> None:
    respuesta = iniciar_sesion(gateway.url + "/", efirma.ruta_cer, efirma.ruta_key, "contraseña secreta")
    assert respuesta == {"token": "tok", "rfc": "XIQB891116QE4", "tipo_persona": "fisica"}
    assert [ruta for ruta, _ in gateway.recibido] == ["/api/v1/sesiones/retos", "/api/v1/sesiones"]
    login = gateway.recibido[1][1]
    assert set(login) == {"certificado", "reto", "firma"}
    assert login["reto"] == "UmV0b0RlUHJ1ZWJh_-"


def test_cli_login(gateway: _Gateway, efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "contraseña secreta")
    assert main(["login", "--url", gateway.url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key)]) == 0
    assert json.loads(capsys.readouterr().out)["token"] == "tok"


def test_cli_login_error_de_la_api(efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    g = _Gateway(efirma.cer_der, rechazar=True)
    try:
        monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "contraseña secreta")
        assert main(["login", "--url", g.url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key)]) == 1
    finally:
        g.cerrar()
    salida = capsys.readouterr()
    assert salida.out == ""
    assert salida.err.strip() == "certificado_revocado: El certificado está revocado."


def test_cli_login_sin_servidor(efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    g = _Gateway(efirma.cer_der)
    url = g.url
    g.cerrar()
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "contraseña secreta")
    assert main(["login", "--url", url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key)]) == 1
    assert "No se pudo conectar" in capsys.readouterr().err


def test_cli_login_contrasena_incorrecta_no_gasta_reto(
    gateway: _Gateway, efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "equivocada")
    assert main(["login", "--url", gateway.url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key)]) == 2
    assert gateway.recibido == []
    assert "contraseña es incorrecta" in capsys.readouterr().err


# -- notificaciones del Buzón: lo que se revisa antes de llamar a la API, y la espera del acuse --------------------


def test_ruta_de_notificacion_no_sale_de_su_recurso() -> None:
    assert cli._ruta_notificacion("http://buzon/", "../../sesiones/actual?x=1", "apertura") == (
        "http://buzon/api/v1/buzon/notificaciones/..%2F..%2Fsesiones%2Factual%3Fx%3D1/apertura")


def test_cli_abrir_pide_la_efirma_y_la_notificacion(capsys: pytest.CaptureFixture[str]) -> None:
    for faltante in (["--cer", "a.cer", "--key", "a.key"], ["--cer", "a.cer", "--notificacion", "x"],
                     ["--key", "a.key", "--notificacion", "x"]):
        with pytest.raises(SystemExit) as salida:
            main(["abrir", *faltante])
        assert salida.value.code == 2
    assert "required" in capsys.readouterr().err


def test_cli_notificaciones_sin_token_ni_efirma(gateway: _Gateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notificaciones", "--url", gateway.url]) == 2
    assert "Indica --token, o --cer y --key" in capsys.readouterr().err
    assert gateway.recibido == []


@pytest.mark.parametrize("destino", ["no-existe/documento.pdf", "."])
def test_cli_abrir_revisa_donde_guardar_antes_de_abrir(
    destino: str, gateway: _Gateway, efirma: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "contraseña secreta")
    monkeypatch.chdir(tmp_path)
    argv = ["abrir", "--url", gateway.url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key),
            "--notificacion", "n-1", "--documento", str(tmp_path / "bien.pdf"), "--acuse", destino]
    assert main(argv) == 2
    salida = capsys.readouterr()
    assert salida.out == "" and ("No existe la carpeta" in salida.err or "es una carpeta" in salida.err)
    assert gateway.recibido == []


def test_cli_abrir_contrasena_incorrecta_no_llama(
    gateway: _Gateway, efirma: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUZON_FIRMA_PASSWORD", "equivocada")
    for sesion in ([], ["--token", "tok"]):
        argv = ["abrir", "--url", gateway.url, "--cer", str(efirma.ruta_cer), "--key", str(efirma.ruta_key),
                "--notificacion", "n-1", *sesion]
        assert main(argv) == 2
        assert "contraseña es incorrecta" in capsys.readouterr().err
    assert gateway.recibido == []


class _Acuses:
    """Answers `GET …/acuse` as the API does right after an opening: 404 (or 503) a few times, then the PDF."""

    def __init__(self, respuestas: list[tuple[int, bytes]]) -> None:
        self.respuestas = respuestas
        self.pedidos = 0
        acuses = self

        class Manejador(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                assert self.path == "/api/v1/buzon/notificaciones/n-1/acuse"
                assert self.headers["Authorization"] == "Bearer tok"
                estado, cuerpo = acuses.respuestas[min(acuses.pedidos, len(acuses.respuestas) - 1)]
                acuses.pedidos += 1
                if estado != 200:
                    cuerpo = json.dumps({"error": {"codigo": f"error_{estado}", "mensaje": "Aún no."}}).encode()
                self.send_response(estado)
                self.send_header("Content-Type", "application/pdf" if estado == 200 else "application/json")
                self.send_header("Content-Length", str(len(cuerpo)))
                self.end_headers()
                self.wfile.write(cuerpo)

        self.servidor = ThreadingHTTPServer(("127.0.0.1", 0), Manejador)
        self.url = f"http://127.0.0.1:{self.servidor.server_port}"
        threading.Thread(target=self.servidor.serve_forever, daemon=True).start()

    def cerrar(self) -> None:
        self.servidor.shutdown()
        self.servidor.server_close()


@pytest.fixture
def sin_pausa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "PAUSA_ACUSE_S", 0.01)


def test_acuse_se_espera_mientras_no_se_emite(sin_pausa: None) -> None:
    servidor = _Acuses([(404, b""), (503, b""), (404, b""), (200, b"%PDF-1.7 acuse")])
    try:
        assert cli.descargar_acuse_notificacion(servidor.url, "tok", "n-1") == b"%PDF-1.7 acuse"
    finally:
        servidor.cerrar()
    assert servidor.pedidos == 4


def test_acuse_la_espera_tiene_limite_y_otros_errores_no_se_esperan(sin_pausa: None) -> None:
    servidor = _Acuses([(404, b"")])
    try:
        with pytest.raises(ErrorFirma, match="error_404: Aún no.") as e:
            cli.descargar_acuse_notificacion(servidor.url, "tok", "n-1", espera_s=0.2)
        assert (e.value.estado, e.value.codigo_salida) == (404, 1)
        assert servidor.pedidos > 1
        servidor.respuestas, servidor.pedidos = [(409, b"")], 0
        with pytest.raises(ErrorFirma, match="error_409"):
            cli.descargar_acuse_notificacion(servidor.url, "tok", "n-1")
        assert servidor.pedidos == 1
        servidor.respuestas = [(200, b"<html>no soy un PDF</html>")]
        with pytest.raises(ErrorFirma, match="no respondió un PDF"):
            cli.descargar_acuse_notificacion(servidor.url, "tok", "n-1")
    finally:
        servidor.cerrar()
