import pytest

from buzon_comun.config import Config


def test_defaults_are_those_of_the_contract(tmp_path):
    config = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    assert config.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert config.gateway_port == 8000 and config.public_url == "http://127.0.0.1:8000"
    assert config.ventana_validacion_s == 259200
    assert config.database_url is None
    assert config.sat_ca_dir == tmp_path / "pki" / "ca"


def test_the_public_url_follows_the_port_unless_given():
    assert Config.desde_entorno({"BUZON_GATEWAY_PORT": "9000"}).public_url == "http://127.0.0.1:9000"
    assert Config.desde_entorno({"BUZON_PUBLIC_URL": "https://buzon.example/"}).public_url == "https://buzon.example"


def test_limits_never_go_below_the_contract_floors():
    config = Config.desde_entorno({"BUZON_LIMITE_RETOS_POR_MINUTO": "1", "BUZON_LIMITE_REGISTROS_POR_HORA": "2",
                                   "BUZON_LIMITE_MENSAJES_POR_DESTINO": "1", "BUZON_INTENTOS_CODIGO": "50",
                                   "BUZON_RETO_DURACION_S": "3600"})
    assert (config.limite_retos_por_minuto, config.limite_registros_por_hora, config.limite_mensajes_por_destino) == (60, 30, 5)
    assert config.intentos_codigo == 10 and config.reto_duracion_s == 300


def test_deposits_per_second_default_to_50_and_never_below_one():
    assert Config.desde_entorno({}).depositos_por_segundo == 50
    assert Config.desde_entorno({"BUZON_DEPOSITOS_POR_SEGUNDO": "8"}).depositos_por_segundo == 8
    assert Config.desde_entorno({"BUZON_DEPOSITOS_POR_SEGUNDO": "0"}).depositos_por_segundo == 1
    with pytest.raises(ValueError, match="BUZON_DEPOSITOS_POR_SEGUNDO"):
        Config.desde_entorno({"BUZON_DEPOSITOS_POR_SEGUNDO": "8.5"})


def test_retry_schedule_starts_within_five_seconds():
    assert Config.desde_entorno({"BUZON_REINTENTOS_S": "1, 2,4"}).reintentos_s == (1.0, 2.0, 4.0)
    for malo in ("10,20", "x", "3,-1"):
        with pytest.raises(ValueError):
            Config.desde_entorno({"BUZON_REINTENTOS_S": malo})


def test_a_bad_number_is_a_clear_error():
    with pytest.raises(ValueError, match="BUZON_GATEWAY_PORT"):
        Config.desde_entorno({"BUZON_GATEWAY_PORT": "ocho mil"})


def test_pools_and_workers_are_bounded():
    assert Config.desde_entorno({}).db_conexiones == 5
    assert Config.desde_entorno({"BUZON_DB_CONEXIONES": "0"}).db_conexiones == 1
    assert Config.desde_entorno({"BUZON_DB_CONEXIONES": "500"}).db_conexiones == 100
    assert Config.desde_entorno({}).acuses_max_workers == 50
    assert Config.desde_entorno({"BUZON_ACUSES_MAX_WORKERS": "2"}).acuses_max_workers == 10


def test_tls_to_rabbitmq_checks_the_brokers_name_and_the_configured_cas():
    from buzon_comun.config import ssl_amqp
    from buzon_comun.ejecutar import config_nameko

    assert ssl_amqp("amqp://guest:guest@127.0.0.1:5672/") is None
    # amqps: the certificate must name the URI's host (without server_hostname py-amqp checks only the chain).
    assert ssl_amqp("amqps://u:p@buzon-rabbitmq:5671/buzon", {}) == {"server_hostname": "buzon-rabbitmq"}
    assert ssl_amqp("amqps://u:p@buzon-rabbitmq:5671/buzon", {"BUZON_AMQP_CA": "/etc/buzon/ca/rabbitmq-ca.crt"}) == {
        "server_hostname": "buzon-rabbitmq", "ca_certs": "/etc/buzon/ca/rabbitmq-ca.crt"}
    config = Config.desde_entorno({"BUZON_AMQP_URI": "amqps://u:p@rabbit.example:5671/v"})
    assert config_nameko(config, "contactos")["AMQP_SSL"]["server_hostname"] == "rabbit.example"
