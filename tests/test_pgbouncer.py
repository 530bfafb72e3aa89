"""The services through PgBouncer in transaction mode, as a cluster runs them (deploy/k8s: CloudNativePG's Pooler).

PgBouncer runs here on a free port with a pool of two server connections for every client, so the services' client
connections keep switching server connections between transactions, and a server connection serves one schema's
transaction, then another's. What would break: a search_path set on the connection (PgBouncer refuses the
`options` startup parameter, and a SET would follow the server connection to another service), a session advisory
lock (taken on one server connection, released on another), prepared statements. Proven: the migrations of every
schema from two migrators at once, each transaction in its own schema, a folio burst from two processes, and one
activation end to end by the whole system (`make up`) pointed at PgBouncer.

The database is one of its own, `<the end-to-end database>_pgbouncer` (made here when missing), so the end-to-end
system of tests/conftest.py, which runs meanwhile, sees nothing of this one.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from buzon_comun.config import Config
from buzon_comun.db import crear_engine, normalizar_url
from buzon_comun.migraciones import configuracion_alembic, servicios_con_migraciones
from buzon_dev.pruebas import esperar
from buzon_dev.sistema import Sistema, borrar_vhost, puerto_libre, vaciar, vhost_propio

RAIZ = Path(__file__).resolve().parents[1]
URL_E2E = os.environ.get("BUZON_TEST_E2E_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_e2e")
# Two server connections per database and user: every client beyond the second waits for one of them.
POOL = 2
BINARIO = shutil.which("pgbouncer", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")

pytestmark = pytest.mark.skipif(BINARIO is None, reason="pgbouncer no está instalado (deploy/local/preparar.sh test "
                                                        "lo instala: apt-get install pgbouncer)")


@pytest.fixture(scope="module")
def bd():
    """(direct URL, URL through PgBouncer) of an emptied database of this module's own."""
    directa = make_url(URL_E2E)
    nombre = f"{directa.database}_pgbouncer"
    motor = create_engine(normalizar_url(URL_E2E), isolation_level="AUTOCOMMIT")
    try:
        with motor.connect() as conexion:
            if conexion.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": nombre}).first() is None:
                conexion.execute(text(f'CREATE DATABASE "{nombre}"'))
    finally:
        motor.dispose()
    url = directa.set(database=nombre)
    vaciar(url.render_as_string(hide_password=False))
    return url, nombre


@pytest.fixture(scope="module")
def pgbouncer(bd, tmp_path_factory):
    """PgBouncer in transaction mode in front of the test server; the URL of the module's database through it."""
    url, nombre = bd
    carpeta = tmp_path_factory.mktemp("pgbouncer")
    puerto = puerto_libre()
    usuario, clave = url.username, url.password or ""
    (carpeta / "usuarios.txt").write_text(f'"{usuario}" "{clave}"\n', encoding="utf-8")
    # An unknown startup parameter is refused: `options` (a search_path set on the connection) fails at connect.
    (carpeta / "pgbouncer.ini").write_text(textwrap.dedent(f"""\
        [databases]
        {nombre} = host={url.host or '127.0.0.1'} port={url.port or 5432} dbname={nombre}

        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = {puerto}
        unix_socket_dir =
        auth_type = md5
        auth_file = {carpeta / 'usuarios.txt'}
        pool_mode = transaction
        default_pool_size = {POOL}
        min_pool_size = 0
        reserve_pool_size = 0
        max_client_conn = 1000
        ; a client that waits this long for a server connection gets an error, not a hang
        query_wait_timeout = 30
        """), encoding="utf-8")
    comando = [BINARIO]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        comando += ["-u", "nobody"]
    proceso = subprocess.Popen([*comando, str(carpeta / "pgbouncer.ini")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        limite = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", puerto), timeout=1).close()
                break
            except OSError:
                if proceso.poll() is not None or time.monotonic() > limite:
                    raise AssertionError("PgBouncer no arrancó:\n" + (proceso.stdout.read() if proceso.poll() is not
                                                                       None else ""))
                time.sleep(0.05)
        yield url.set(host="127.0.0.1", port=puerto).render_as_string(hide_password=False)
    finally:
        proceso.terminate()
        proceso.wait(timeout=10)


def cabezas(servicio: str) -> set[str]:
    return set(ScriptDirectory.from_config(configuracion_alembic(servicios_con_migraciones()[servicio])).get_heads())


@pytest.fixture(scope="module")
def migrada(bd, pgbouncer):
    """Every schema migrated from nothing by two `buzon-migrar` at once, both through PgBouncer."""
    entorno = {**os.environ, "BUZON_DATABASE_URL": pgbouncer}
    migradores = [subprocess.Popen([str(Path(sys.executable).with_name("buzon-migrar"))], env=entorno,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    return [(m.wait(timeout=120), m.stdout.read()) for m in migradores]


def test_the_migrations_of_every_schema_through_pgbouncer(bd, migrada):
    for codigo, salida in migrada:
        assert codigo == 0, salida
    motor = create_engine(normalizar_url(bd[0].render_as_string(hide_password=False)))
    try:
        with motor.connect() as conexion:
            for servicio in servicios_con_migraciones():
                version = conexion.execute(text(f'SELECT version_num FROM "{servicio}".alembic_version')).scalars()
                assert set(version) == cabezas(servicio), servicio
            # Nothing fell into public (a lost search_path would put the tables there).
            en_public = conexion.execute(text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S')")).scalar_one()
            assert en_public == 0
            # No migrator left its lock behind.
            assert conexion.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one() == 0
    finally:
        motor.dispose()


def test_each_transaction_runs_in_its_own_schema_on_a_shared_server_connection(pgbouncer, migrada):
    config = Config.desde_entorno({"BUZON_DATABASE_URL": pgbouncer})
    motores = {servicio: crear_engine(config, servicio, conexiones=2) for servicio in ("auth", "contactos")}
    servidores = {servicio: set() for servicio in motores}
    try:
        for _ in range(10):
            for servicio, motor in motores.items():
                with motor.begin() as conexion:
                    esquema, pid = conexion.execute(text("SELECT current_schema(), pg_backend_pid()")).one()
                    assert esquema == servicio
                    # An unqualified table is the schema's own: each schema has its own Alembic revision.
                    version = conexion.execute(text("SELECT version_num FROM alembic_version")).scalars()
                    assert set(version) == cabezas(servicio)
                    servidores[servicio].add(pid)
        # The same server connections served both schemas, one transaction after another's.
        assert len(servidores["auth"] | servidores["contactos"]) <= POOL
        assert servidores["auth"] & servidores["contactos"]
    finally:
        for motor in motores.values():
            motor.dispose()


# A process issuing folios from three threads (three client connections), each in its own transaction, from the
# moment `inicio` on; it prints [folio, server pid] for each.
RAFAGA = """
import json, sys, threading, time
from datetime import datetime, timezone
from sqlalchemy import text
from sqlalchemy.orm import Session
from buzon_comun.config import Config
from buzon_comun.db import crear_engine, transaccion
from buzon_comun.folios import siguiente_folio
from buzon_activacion.models import folios

url, inicio, por_hilo = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
motor = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url}), "activacion", conexiones=3)
ahora = datetime(2091, 6, 1, 12, tzinfo=timezone.utc)
emitidos = []

def emitir():
    for _ in range(por_hilo):
        with Session(motor) as db, transaccion(db):
            folio = siguiente_folio(db, folios, "activacion", ahora=ahora)
            emitidos.append([folio, db.execute(text("SELECT pg_backend_pid()")).scalar_one()])

hilos = [threading.Thread(target=emitir) for _ in range(3)]
time.sleep(max(0.0, inicio - time.time()))
for hilo in hilos:
    hilo.start()
for hilo in hilos:
    hilo.join()
print(json.dumps(emitidos))
"""


def test_a_folio_burst_from_two_processes_through_pgbouncer(bd, pgbouncer, migrada):
    from sqlalchemy.orm import Session

    from buzon_activacion.models import folios
    from buzon_comun.db import transaccion
    from buzon_comun.folios import siguiente_folio

    ahora = datetime(2091, 6, 1, 12, tzinfo=timezone.utc)
    # The year's first folio makes its sequence on a connection apart, while the caller's transaction holds the
    # other server connection of the pool.
    motor = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": pgbouncer}), "activacion", conexiones=1)
    try:
        with Session(motor) as db, transaccion(db):
            assert siguiente_folio(db, folios, "activacion", ahora=ahora) == "ACT-2091-00000001"
    finally:
        motor.dispose()

    por_hilo = 40
    inicio = time.time() + 3  # both processes start issuing together, once both have loaded
    procesos = [subprocess.Popen([sys.executable, "-c", RAFAGA, pgbouncer, str(inicio), str(por_hilo)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    resultados = []
    for proceso in procesos:
        salida, errores = proceso.communicate(timeout=120)
        assert proceso.returncode == 0, errores
        resultados.append(json.loads(salida))
    emitidos = [folio for resultado in resultados for folio, _ in resultado]
    # Every folio once, none skipped: 2 to 241 of the year, whichever process got each.
    assert sorted(emitidos) == [f"ACT-2091-{n:08d}" for n in range(2, 2 + 2 * 3 * por_hilo)]
    # Six client connections over two server connections, shared by both processes.
    servidores = [{pid for _, pid in resultado} for resultado in resultados]
    assert len(servidores[0] | servidores[1]) <= POOL and servidores[0] & servidores[1]

    motor = create_engine(normalizar_url(bd[0].render_as_string(hide_password=False)))
    try:
        with motor.connect() as conexion:
            assert conexion.execute(text("SELECT schemaname FROM pg_sequences WHERE sequencename = 'folio_act_2091'")
                                    ).scalars().all() == ["activacion"]
    finally:
        motor.dispose()


@pytest.mark.e2e
def test_an_activation_end_to_end_with_the_whole_system_through_pgbouncer(bd, pgbouncer, migrada, tmp_path):
    vhost = f"buzon-pgbouncer-{os.getpid()}"
    sistema = Sistema(tmp_path / "sistema", pgbouncer, RAIZ, BUZON_AMQP_URI=vhost_propio(vhost),
                      BUZON_DB_CONEXIONES="3")
    try:
        with sistema.en_marcha():
            emitido = sistema.pki.emitir("LOPE900303AB2", "ELENA LOPEZ PEREZ", "LOPE900303MDFPRL05")
            cabecera = sistema.login(emitido)
            medios = sistema.validar_medios(cabecera, "elena@example.mx", "5544445555")
            assert {m["estado"] for m in medios} == {"validado"}
            activado, _ = sistema.activar(cabecera, emitido)
            assert activado.status_code == 201, activado.text
            folio = activado.json()["folio"]
            assert activado.json()["estado"] == "activo" and folio.startswith("ACT-")
            acuse = esperar(lambda: (r := requests.get(f"{sistema.api}/activacion/acuse", headers=cabecera)
                                     ).status_code == 200 and r, plazo=60)
            assert acuse.headers["Content-Type"] == "application/pdf" and acuse.content.startswith(b"%PDF")
            (tmp_path / "acuse.pdf").write_bytes(acuse.content)
            texto = subprocess.run(["pdftotext", str(tmp_path / "acuse.pdf"), "-"], capture_output=True, text=True,
                                   check=True).stdout
            assert folio in texto and "LOPE900303AB2" in texto
            estado = requests.get(f"{sistema.api}/activacion", headers=cabecera).json()
            assert (estado["estado"], estado["folio"]) == ("activo", folio)

            # Every process of the system reached the database through the pool's two server connections.
            motor = create_engine(normalizar_url(bd[0].render_as_string(hide_password=False)))
            try:
                with motor.connect() as conexion:
                    otras = conexion.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :bd AND pid <> pg_backend_pid()"),
                        {"bd": bd[1]}).scalar_one()
                assert 1 <= otras <= POOL
            finally:
                motor.dispose()
    finally:
        borrar_vhost(vhost)
