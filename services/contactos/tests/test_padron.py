"""The padrón import: good rows upserted, bad ones skipped, idempotent; lookups sorted."""
from sqlalchemy import text

from buzon_contactos.padron import importar_csv, registros_de

RP1, RP2, RP3, RP_AJENO = "A1234567890", "B1234567890", "C1234567890", "Z9999999999"


def test_good_rows_are_imported_and_bad_ones_skipped(db, archivo_padron, reloj):
    resultado = importar_csv(db, archivo_padron, ahora=reloj.ahora())
    assert (resultado.importados, resultado.rechazados) == (4, 3)
    assert registros_de(db, "EDE0101013A2") == [
        {"registro_patronal": RP1, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
        {"registro_patronal": RP2, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"},
        {"registro_patronal": RP3, "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 3"},
    ]
    assert [r["registro_patronal"] for r in registros_de(db, "GOCJ750505AB1")] == [RP_AJENO]
    assert registros_de(db, "MAVA800101RS5") == []


def test_importing_again_changes_nothing_and_a_later_file_corrects_rows(db, archivo_padron, tmp_path, reloj):
    importar_csv(db, archivo_padron, ahora=reloj.ahora())
    importar_csv(db, archivo_padron, ahora=reloj.ahora())
    assert db.execute(text("SELECT count(*) FROM padron")).scalar_one() == 4
    corregido = tmp_path / "corregido.csv"
    corregido.write_text(f"\ufeffrfc,registro_patronal,razon_social\nEDE0101013A2,{RP1},NUEVA RAZON SOCIAL\n",
                         encoding="utf-8")
    importar_csv(db, corregido, ahora=reloj.ahora())
    assert registros_de(db, "EDE0101013A2")[0] == {"registro_patronal": RP1, "razon_social": "NUEVA RAZON SOCIAL"}
    assert db.execute(text("SELECT count(*) FROM padron")).scalar_one() == 4


def test_a_file_without_the_columns_imports_nothing(db, tmp_path, reloj):
    archivo = tmp_path / "malo.csv"
    archivo.write_text(f"rfc;registro_patronal;razon_social\nEDE0101013A2;{RP1};X\n", encoding="utf-8")
    assert importar_csv(db, archivo, ahora=reloj.ahora()).importados == 0
    assert db.execute(text("SELECT count(*) FROM padron")).scalar_one() == 0
