"""Test set-up shared by every package: eventlet first, as in production, and the test database."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

URL_PRUEBAS = os.environ.get("BUZON_TEST_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_test")
# The end-to-end system gets a database of its own, so nothing the other tests leave (a padrón, medios) shows.
URL_E2E = os.environ.get("BUZON_TEST_E2E_DATABASE_URL", "postgresql://buzon:buzon@127.0.0.1:5432/buzon_e2e")


@pytest.fixture(scope="session")
def url_bd():
    """The PostgreSQL test database, with every service's schema migrated from scratch once per run."""
    from buzon_comun.config import Config
    from buzon_comun.migraciones import migrar
    from buzon_dev.sistema import vaciar

    vaciar(URL_PRUEBAS)
    migrar(Config.desde_entorno({"BUZON_DATABASE_URL": URL_PRUEBAS}))
    return URL_PRUEBAS


@pytest.fixture
def motor_de(url_bd):
    """The engine of a service's schema with every table of its models emptied, so each test starts clean."""
    from importlib import import_module

    from buzon_comun.config import Config
    from buzon_comun.db import crear_engine

    abiertos = []

    def abrir(servicio: str):
        metadata = import_module(f"buzon_{servicio}.models").metadata
        engine = crear_engine(Config.desde_entorno({"BUZON_DATABASE_URL": url_bd}), servicio)
        with engine.begin() as conexion:
            conexion.execute(text("TRUNCATE " + ", ".join(tabla.name for tabla in metadata.sorted_tables)))
        abiertos.append(engine)
        return engine

    yield abrir
    for engine in abiertos:
        engine.dispose()


@pytest.fixture(scope="session")
def url_bd_e2e():
    """An empty database for the system that `make up` starts (it runs the migrations itself)."""
    from buzon_dev.sistema import vaciar

    vaciar(URL_E2E)
    return URL_E2E


@pytest.fixture
def entorno_bd(url_bd, monkeypatch):
    """Point services started in this test at the test database."""
    monkeypatch.setenv("BUZON_DATABASE_URL", url_bd)
    return url_bd


@pytest.fixture(scope="session")
def pki_dev(tmp_path_factory):
    """A development PKI with SAT's profile, shared by the whole run (RSA keys are slow to make)."""
    from buzon_dev.pki import PKI

    return PKI.abrir(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def documentos_dev(tmp_path_factory):
    """The development CA «IMSS documentos» and its signer (`firmar_pdf`), shared by the whole run; its `carpeta_ca`
    is what BUZON_DOCUMENTOS_CA_DIR names for buzon."""
    from buzon_dev.documentos import FirmaDocumentos

    return FirmaDocumentos.abrir(tmp_path_factory.mktemp("pki-documentos"))


@pytest.fixture
def entorno_documentos(documentos_dev, monkeypatch):
    """BUZON_DOCUMENTOS_CA_DIR for a buzon service started in the test (without it buzon looks under the data
    folder, where only the development launcher makes the CA)."""
    monkeypatch.setenv("BUZON_DOCUMENTOS_CA_DIR", str(documentos_dev.carpeta_ca))


@pytest.fixture(scope="session")
def pdf_firmado(documentos_dev):
    """A one-page PDF signed with the development key of the Institute's documents (one per run)."""
    from buzon_dev.documentos import pdf_de_prueba

    return documentos_dev.firmar_pdf(pdf_de_prueba("Requerimiento de prueba"))


@pytest.fixture(scope="session")
def efirma_dev_fisica(pki_dev):
    return pki_dev.emitir("MAVA800101RS5", "ANA MARIA MARTINEZ VARGAS", "MAVA800101MDFRRN09")


@pytest.fixture(scope="session")
def efirma_dev_moral(pki_dev):
    return pki_dev.emitir("EDE0101013A2", "EMPRESA DE DEMOSTRACION SA DE CV",
                      rfc_representante="MAVA800101RS5", curp_representante="MAVA800101MDFRRN09")


@pytest.fixture(scope="session")
def ocsp_dev(pki_dev):
    from buzon_dev.ocsp import ServidorOcsp

    with ServidorOcsp(pki_dev) as servidor:
        yield servidor


@pytest.fixture
def entorno_auth(entorno_bd, pki_dev, ocsp_dev, monkeypatch):
    """The environment an auth service needs: test database, the dev PKI's CAs and its OCSP responder."""
    monkeypatch.setenv("BUZON_SAT_CA_DIR", str(pki_dev.carpeta_ca))
    monkeypatch.setenv("BUZON_OCSP_URL", ocsp_dev.url)
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")


@pytest.fixture
def config_nameko(rabbit_config):
    return {**rabbit_config, "max_workers": 10, "serializer": "json"}
