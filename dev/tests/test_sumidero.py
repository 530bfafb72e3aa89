import argparse
import json

from buzon_dev.sumidero import AlmacenJsonl, carpeta_predeterminada, imprimir_mensajes


class Almacen(AlmacenJsonl):
    archivo = "prueba.jsonl"


def test_el_almacen_devuelve_el_mas_reciente_primero_y_salta_lineas_a_medio_escribir(tmp_path):
    almacen = Almacen(tmp_path / "datos")
    assert almacen.entradas() == []

    almacen.agregar({"id": "a"})
    almacen.agregar({"id": "b"})
    with open(almacen.carpeta / "prueba.jsonl", "a", encoding="utf-8") as archivo:
        archivo.write('{"id": "c", "fe')

    assert almacen.entradas() == [{"id": "b"}, {"id": "a"}]


def test_carpeta_predeterminada_bajo_buzon_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BUZON_DATA_DIR", str(tmp_path))
    assert carpeta_predeterminada("sms") == tmp_path / "sms"
    monkeypatch.delenv("BUZON_DATA_DIR")
    assert str(carpeta_predeterminada("correo")) == "var/correo"


def args(ultimo=False, como_json=False):
    return argparse.Namespace(ultimo=ultimo, json=como_json)


def test_leer_en_terminal_pone_el_mas_reciente_al_final(capsys):
    mensajes = [{"id": "nuevo"}, {"id": "viejo"}]

    assert imprimir_mensajes(mensajes, args(), lambda m: m["id"]) == 0
    assert capsys.readouterr().out == "viejo\nnuevo\n"

    assert imprimir_mensajes(mensajes, args(ultimo=True, como_json=True), lambda m: m["id"]) == 0
    assert json.loads(capsys.readouterr().out) == {"mensajes": [{"id": "nuevo"}]}


def test_leer_ultimo_sin_mensajes_sale_con_1(capsys):
    assert imprimir_mensajes([], args(ultimo=True), str) == 1
    assert capsys.readouterr().err == "No hay mensajes.\n"
    assert imprimir_mensajes([], args(), str) == 0
    assert imprimir_mensajes([], args(ultimo=True, como_json=True), str) == 1
    assert json.loads(capsys.readouterr().out) == {"mensajes": []}
