"""The local launcher behind `make run`, `make up` and `make down`.

It starts each development stand-in whose variable is unset (PKI and OCSP responder, mail sink, SMS sink),
points the services at it, runs the migrations as one step, starts every service and the gateway, waits for
`/health` to answer 200 and prints where to go. Ctrl-C or SIGTERM stops everything it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from buzon_comun.config import PUERTOS_DESARROLLO, Config

def servicios() -> list[str]:
    """Every service the packages declare, the gateway last (it answers /health once the rest are up)."""
    from importlib.metadata import entry_points

    return sorted((ep.name for ep in entry_points(group="buzon.servicios")), key=lambda n: (n == "gateway", n))
PLAZO_ARRANQUE_S = 90
PLAZO_PARADA_S = 15
PASSWORD_DESARROLLO = "12345678a"

# The development padrón: the persona moral is a Patrón with three Registros Patronales; the persona física
# has none, so she goes through the flow as a Particular.
PADRON_DESARROLLO = (
    ("EDE0101013A2", "Y6012345107", "EMPRESA DE DEMOSTRACION SA DE CV"),
    ("EDE0101013A2", "Y6012346105", "EMPRESA DE DEMOSTRACION SA DE CV"),
    ("EDE0101013A2", "E8512345100", "EMPRESA DE DEMOSTRACION SA DE CV"),
)

# The development e.firmas the launcher issues so that a person can log in at once.
EFIRMAS_DESARROLLO = (
    {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09"},
    {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV",
     "rfc_representante": "MAVA800101RS5", "curp_representante": "MAVA800101MDFRRN09"},
)


def _bin(nombre: str) -> str:
    return str(Path(sys.executable).with_name(nombre))


def _url_salud(config: Config) -> str:
    return f"http://127.0.0.1:{config.gateway_port}/health"


def salud_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as respuesta:
            return respuesta.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Sistema:
    entorno: dict
    data_dir: Path
    procesos: list = field(default_factory=list)
    avisos: list = field(default_factory=list)

    def lanzar(self, nombre: str, *comando: str) -> subprocess.Popen:
        proceso = subprocess.Popen(list(comando), env=self.entorno)
        self.procesos.append((nombre, proceso))
        return proceso

    def preparar_sustitutos(self) -> None:
        e = self.entorno
        datos = self.data_dir
        if not os.environ.get("BUZON_SAT_CA_DIR"):
            from buzon_dev.pki import PKI

            pki = PKI.abrir(datos / "pki")
            e["BUZON_SAT_CA_DIR"] = str(pki.carpeta_ca)
            self.avisos.append(f"AC de desarrollo (perfil SAT): {pki.carpeta_ca}")
            for datos_efirma in EFIRMAS_DESARROLLO:
                ruta_cer, ruta_key = _efirma_de_desarrollo(pki, datos_efirma, datos / "efirmas")
                self.avisos.append(
                    f"e.firma de desarrollo {datos_efirma['rfc']} ({datos_efirma['nombre']}):\n"
                    f"    .cer {ruta_cer}\n    .key {ruta_key}\n    contraseña: {PASSWORD_DESARROLLO}"
                )
            if not os.environ.get("BUZON_OCSP_URL"):
                puerto = PUERTOS_DESARROLLO["ocsp"]
                self.lanzar("ocsp", _bin("buzon-dev"), "ocsp", "--carpeta", str(datos / "pki"), "--puerto", str(puerto))
                e["BUZON_OCSP_URL"] = f"http://127.0.0.1:{puerto}/"
                self.avisos.append(f"Respondedor OCSP de desarrollo: {e['BUZON_OCSP_URL']}")
        elif not os.environ.get("BUZON_OCSP_URL"):
            raise SystemExit("Con BUZON_SAT_CA_DIR configurado hace falta BUZON_OCSP_URL (el respondedor OCSP de SAT).")
        if not os.environ.get("BUZON_PADRON_CSV"):
            ruta = datos / "padron-desarrollo.csv"
            datos.mkdir(parents=True, exist_ok=True)
            ruta.write_text("rfc,registro_patronal,razon_social\n"
                            + "".join(f"{rfc},{rp},{razon}\n" for rfc, rp, razon in PADRON_DESARROLLO), encoding="utf-8")
            e["BUZON_PADRON_CSV"] = str(ruta)
            self.avisos.append(f"Padrón de desarrollo: {ruta}")
        if not os.environ.get("BUZON_SMTP_HOST"):
            smtp, web = PUERTOS_DESARROLLO["correo_smtp"], PUERTOS_DESARROLLO["correo_web"]
            self.lanzar("correo", _bin("buzon-dev"), "correo", "servir", "--carpeta", str(datos / "correo"),
                        "--puerto-smtp", str(smtp), "--puerto-web", str(web))
            e["BUZON_SMTP_HOST"], e["BUZON_SMTP_PORT"] = "127.0.0.1", str(smtp)
            self.avisos.append(f"Correos enviados (buzón de desarrollo): http://127.0.0.1:{web}/")
        if not os.environ.get("BUZON_SMS_URL"):
            puerto = PUERTOS_DESARROLLO["sms"]
            self.lanzar("sms", _bin("buzon-dev"), "sms", "servir", "--carpeta", str(datos / "sms"), "--puerto", str(puerto))
            e["BUZON_SMS_URL"] = f"http://127.0.0.1:{puerto}/sms"
            self.avisos.append(f"SMS enviados (receptor de desarrollo): http://127.0.0.1:{puerto}/")

    def migrar(self) -> None:
        resultado = subprocess.run([_bin("buzon-migrar")], env=self.entorno)
        if resultado.returncode != 0:
            raise SystemExit("Las migraciones fallaron; el sistema no se inicia.")

    def iniciar_servicios(self) -> None:
        for servicio in servicios():
            self.lanzar(servicio, _bin("buzon-servicio"), servicio)

    def caido(self):
        for nombre, proceso in self.procesos:
            if proceso.poll() is not None:
                return nombre, proceso.returncode
        return None

    def esperar_salud(self, url: str) -> None:
        limite = time.monotonic() + PLAZO_ARRANQUE_S
        while time.monotonic() < limite:
            if salud_ok(url):
                return
            caido = self.caido()
            if caido:
                raise SystemExit(f"El proceso {caido[0]} terminó al arrancar (código {caido[1]}).")
            time.sleep(0.5)
        raise SystemExit(f"El sistema no respondió en {url} en {PLAZO_ARRANQUE_S} s.")

    def detener(self) -> None:
        for _nombre, proceso in reversed(self.procesos):
            if proceso.poll() is None:
                proceso.terminate()
        limite = time.monotonic() + PLAZO_PARADA_S
        for _nombre, proceso in self.procesos:
            try:
                proceso.wait(timeout=max(0.1, limite - time.monotonic()))
            except subprocess.TimeoutExpired:
                proceso.kill()
                proceso.wait()


def _efirma_de_desarrollo(pki, datos: dict, carpeta: Path) -> tuple[Path, Path]:
    """A development e.firma at a stable path (<data>/efirmas/<RFC>.cer/.key), issued again only when it
    lapses or was revoked, so that the paths in the README keep working from one run to the next."""
    from cryptography import x509

    rfc = datos["rfc"]
    ruta_cer, ruta_key = carpeta / f"{rfc}.cer", carpeta / f"{rfc}.key"
    if ruta_cer.exists() and ruta_key.exists():
        certificado = x509.load_der_x509_certificate(ruta_cer.read_bytes())
        vigente = certificado.not_valid_after_utc.timestamp() > time.time() + 86400
        if vigente and pki.estado(certificado.serial_number) == "good":
            return ruta_cer, ruta_key
    emitido = pki.emitir(rfc, datos["nombre"], datos.get("curp"), rfc_representante=datos.get("rfc_representante"),
                         curp_representante=datos.get("curp_representante"), password=PASSWORD_DESARROLLO)
    carpeta.mkdir(parents=True, exist_ok=True)
    ruta_cer.write_bytes(emitido.cer_der)
    ruta_key.write_bytes(emitido.key_der)
    return ruta_cer, ruta_key


def ejecutar(args) -> int:
    config = Config.desde_entorno()
    entorno = dict(os.environ)
    entorno["BUZON_DATA_DIR"] = str(config.data_dir)
    entorno.setdefault("PYTHONUNBUFFERED", "1")
    sistema = Sistema(entorno, config.data_dir)
    parar = {"senal": None}

    def al_recibir(signum, _frame):
        parar["senal"] = signum

    signal.signal(signal.SIGINT, al_recibir)
    signal.signal(signal.SIGTERM, al_recibir)
    try:
        if _puerto_ocupado(config.gateway_port):
            raise SystemExit(f"El puerto {config.gateway_port} ya está en uso (¿otro sistema en marcha? "
                             "make down con su BUZON_DATA_DIR, o BUZON_GATEWAY_PORT para usar otro).")
        sistema.preparar_sustitutos()
        sistema.migrar()
        sistema.iniciar_servicios()
        sistema.esperar_salud(_url_salud(config))
        _anunciar(config, sistema)
        while parar["senal"] is None:
            caido = sistema.caido()
            if caido:
                print(f"buzon: el proceso {caido[0]} terminó (código {caido[1]}); se detiene todo.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        print("buzon: deteniendo…", flush=True)
        return 0
    except SystemExit as salida:
        print(f"buzon: {salida}", file=sys.stderr)
        return 1
    finally:
        sistema.detener()


def _anunciar(config: Config, sistema: Sistema) -> None:
    lineas = [
        "",
        "Buzón IMSS en marcha.",
        f"  API:       {config.public_url}/api/v1/openapi.json",
        f"  Salud:     {config.public_url}/health",
        f"  Métricas:  {config.public_url}/metrics",
        *("  " + aviso for aviso in sistema.avisos),
        "",
        "Inicie sesión con una e.firma de desarrollo (la llave privada no sale de su equipo):",
        f"  BUZON_FIRMA_PASSWORD={PASSWORD_DESARROLLO} .venv/bin/buzon-firma login --url {config.public_url} \\",
        f"      --cer {sistema.data_dir}/efirmas/MAVA800101RS5.cer --key {sistema.data_dir}/efirmas/MAVA800101RS5.key",
        "Ctrl-C detiene todo.",
        "",
    ]
    print("\n".join(lineas), flush=True)


# --- make up / make down: the same system in the background ---

def _archivo_pid(config: Config) -> Path:
    return config.data_dir / "buzon.pid"


def arriba(args) -> int:
    config = Config.desde_entorno()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    pid_archivo = _archivo_pid(config)
    if pid_archivo.exists() and _vivo(int(pid_archivo.read_text())):
        print(f"El sistema ya está en marcha (pid {pid_archivo.read_text().strip()}).")
        return 0 if salud_ok(_url_salud(config)) else 1
    if _puerto_ocupado(config.gateway_port):
        print(f"El puerto {config.gateway_port} ya está en uso por un sistema que este BUZON_DATA_DIR no inició "
              "(make down con el suyo, o BUZON_GATEWAY_PORT para usar otro).", file=sys.stderr)
        return 1
    bitacora = config.data_dir / "buzon.log"
    with open(bitacora, "ab") as salida:
        proceso = subprocess.Popen([_bin("buzon-dev"), "local"], stdout=salida, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    pid_archivo.write_text(str(proceso.pid))
    limite = time.monotonic() + PLAZO_ARRANQUE_S + 30
    while time.monotonic() < limite:
        if salud_ok(_url_salud(config)):
            print(f"Buzón IMSS en marcha en {config.public_url} (bitácora: {bitacora}).")
            return 0
        if proceso.poll() is not None:
            pid_archivo.unlink(missing_ok=True)
            print(f"El sistema no arrancó; vea la bitácora {bitacora}:", file=sys.stderr)
            print(bitacora.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"El sistema no respondió a tiempo; vea {bitacora}.", file=sys.stderr)
    return 1


def abajo(args) -> int:
    config = Config.desde_entorno()
    pid_archivo = _archivo_pid(config)
    if not pid_archivo.exists():
        print("El sistema no estaba en marcha.")
        return 0
    pid = int(pid_archivo.read_text())
    if _vivo(pid):
        os.kill(pid, signal.SIGTERM)
        limite = time.monotonic() + PLAZO_PARADA_S + 10
        while _vivo(pid) and time.monotonic() < limite:
            time.sleep(0.2)
        if _vivo(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_archivo.unlink(missing_ok=True)
    print("Sistema detenido.")
    return 0


def _puerto_ocupado(puerto: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) == 0


def _vivo(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        estado = Path(f"/proc/{pid}/stat").read_text().split()[2]
        return estado != "Z"
    except OSError:
        return True


def registrar_cli(subparsers) -> None:
    local = subparsers.add_parser("local", help="inicia todo el sistema en primer plano (make run)")
    local.set_defaults(func=ejecutar)
    subparsers.add_parser("up", help="inicia el sistema en segundo plano y espera a /health (make up)").set_defaults(func=arriba)
    subparsers.add_parser("down", help="detiene lo que inició 'up' (make down)").set_defaults(func=abajo)
