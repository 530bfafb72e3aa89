"""The text of the Solicitud y manifestación and its cadena original, without a database."""
import hashlib
import re
from datetime import datetime, timezone

import pytest
from jinja2 import TemplateSyntaxError

from buzon_activacion import solicitud as textos

MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": "MAVA800101MDFRRN09",
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
RPS = [{"registro_patronal": "A1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
       {"registro_patronal": "B1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2"}]
AHORA = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
MEDIOS = [{"mecanismo": "correo", "valor": "ana@ejemplo.mx", "registros_patronales": []},
          {"mecanismo": "telefono", "valor": "5512345678", "registros_patronales": []}]
PARRAFO = (
    "Solicitud y manifestación de conformidad para el uso del Buzón IMSS. Con fundamento en la Ley del Seguro "
    "Social y en los Lineamientos generales para el uso del Buzón IMSS (ACDO.AS2.HCT.240620/170.P.DIR, modificados "
    "mediante ACDO.AS2.HCT.270422/106.P.DIR), la persona solicitante cuyos datos se indican solicita la activación "
    "de su Buzón IMSS y manifiesta su conformidad para que el Instituto Mexicano del Seguro Social le notifique y le "
    "comunique por este medio los actos y avisos que correspondan, así como para recibir en los medios de contacto "
    "registrados y validados los avisos de que tiene un mensaje en su Buzón."
)


def _texto(titular, tipo, rps, plantilla=None):
    return textos.texto(plantilla or textos.plantilla_por_defecto(), titular, tipo, rps, MEDIOS)


def test_a_patron_reads_the_default_text_its_data_and_each_registro_patronal():
    texto = _texto(MORAL, "patron", RPS)
    assert texto.startswith(PARRAFO + "\n")
    assert "Razón social: EMPRESA DE DEMOSTRACION SA DE CV" in texto
    assert "RFC: EDE0101013A2" in texto
    assert "RFC del representante legal: MAVA800101RS5" in texto
    assert "CURP del representante legal: MAVA800101MDFRRN09" in texto
    assert "- Correo electrónico: ana@ejemplo.mx (del RFC)" in texto
    assert "- Teléfono celular: 5512345678 (del RFC)" in texto
    assert texto.endswith("\n\nRegistros Patronales\n- EMPRESA DE DEMOSTRACION SA DE CV: A1234567890\n"
                          "- EMPRESA DE DEMOSTRACION SA DE CV PLANTA 2: B1234567890")
    assert "Particular" not in texto


def test_registros_patronales_of_one_razon_social_read_as_one_line_and_medios_say_whom_they_serve():
    rps = [{"registro_patronal": f"A12345678{i:02d}", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"}
           for i in range(20)] + [{"registro_patronal": "B1234567890", "razon_social": "OTRA RAZON SA"}]
    todos = [rp["registro_patronal"] for rp in rps]
    medios = [{"mecanismo": "correo", "valor": "ana@ejemplo.mx", "registros_patronales": []},
              {"mecanismo": "correo", "valor": "nomina@ejemplo.mx", "registros_patronales": todos},
              {"mecanismo": "correo", "valor": "planta@ejemplo.mx", "registros_patronales": ["B1234567890"]},
              {"mecanismo": "telefono", "valor": "5512345678", "registros_patronales": todos[:2]}]
    texto = textos.texto(textos.plantilla_por_defecto(), MORAL, "patron", rps, medios)
    lineas = texto.split("\n")
    assert lineas[lineas.index("Medios de contacto validados") + 1:][:4] == [
        "- Correo electrónico: ana@ejemplo.mx (del RFC)",
        "- Correo electrónico: nomina@ejemplo.mx (de todos los Registros Patronales)",
        "- Correo electrónico: planta@ejemplo.mx (del Registro Patronal B1234567890)",
        "- Teléfono celular: 5512345678 (de los Registros Patronales A1234567800, A1234567801)"]
    assert lineas[lineas.index("Registros Patronales") + 1:] == [
        "- EMPRESA DE DEMOSTRACION SA DE CV: " + ", ".join(todos[:20]),
        "- OTRA RAZON SA: B1234567890"]


def test_a_particular_states_it_has_no_registros_patronales_and_agrees_to_use_the_buzon_as_such():
    texto = _texto(FISICA, "particular", [])
    assert texto.startswith(PARRAFO + "\n")
    assert "Nombre: ANA MARIA MARTINEZ VARGAS" in texto
    assert "CURP: MAVA800101MDFRRN09" in texto
    assert "representante" not in texto
    assert ("El RFC MAVA800101RS5 no tiene asociados Registros Patronales ante el Instituto. La persona solicitante "
            "manifiesta su conformidad para usar el Buzón IMSS como Particular.") in texto


def test_the_institute_may_replace_the_paragraph_with_a_jinja2_file(tmp_path):
    archivo = tmp_path / "solicitud.txt.j2"
    archivo.write_text("Texto nuevo del Instituto para {{ nombre }} ({{ rfc }}, {{ tipo }}, "
                       "{{ registros_patronales | length }} RP).\n", encoding="utf-8")
    texto = _texto(MORAL, "patron", RPS, textos.cargar_plantilla(str(archivo)))
    assert texto.startswith("Texto nuevo del Instituto para EMPRESA DE DEMOSTRACION SA DE CV (EDE0101013A2, "
                            "patron, 2 RP).\n")
    assert "- EMPRESA DE DEMOSTRACION SA DE CV: A1234567890" in texto  # the data follow whatever the paragraph
    assert PARRAFO not in texto


def test_a_broken_or_missing_template_fails_when_loaded(tmp_path):
    roto = tmp_path / "roto.j2"
    roto.write_text("{% if %}", encoding="utf-8")
    with pytest.raises(TemplateSyntaxError):
        textos.cargar_plantilla(str(roto))
    with pytest.raises(FileNotFoundError):
        textos.cargar_plantilla(str(tmp_path / "no-existe.j2"))


def test_the_cadena_names_the_rfc_the_tramite_the_date_a_nonce_and_the_hash_of_the_text():
    texto = _texto(MORAL, "patron", RPS)
    cadena = textos.cadena_original("EDE0101013A2", "EMPRESA | DE  DEMOSTRACION", texto, ahora=AHORA)
    assert cadena.startswith("||") and cadena.endswith("||")
    campos = cadena[2:-2].split("|")
    assert campos[:5] == ["1.0", "Solicitud y manifestación de conformidad para el uso del Buzón IMSS",
                          "EDE0101013A2", "EMPRESA DE DEMOSTRACION", "2026-11-28T12:00:00-06:00"]
    assert re.fullmatch(r"[0-9a-f]{32}", campos[5])
    assert campos[6] == hashlib.sha256(texto.encode("utf-8")).hexdigest()
    assert textos.cadena_original("EDE0101013A2", "X", texto, ahora=AHORA) != \
        textos.cadena_original("EDE0101013A2", "X", texto, ahora=AHORA)  # a fresh nonce each time
