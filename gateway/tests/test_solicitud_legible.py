"""The Solicitud y manifestación cut into blocks for the activation page, from the texts activacion really writes:
headings, labelled data and lists, and not one word added, dropped or moved."""
from buzon_activacion.solicitud import plantilla_por_defecto, texto
from buzon_gateway.solicitud_legible import Bloque, bloques, texto_de

MORAL = {"rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": "MAVA800101MDFRRN09",
         "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral"}
FISICA = {"rfc": "MAVA800101RS5", "nombre": "ANA MARIA MARTINEZ VARGAS", "curp": "MAVA800101MDFRRN09",
          "rfc_representante": None, "tipo_persona": "fisica"}
RPS = [{"registro_patronal": "A1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"},
       {"registro_patronal": "B1234567890", "razon_social": "EMPRESA DE DEMOSTRACION SA DE CV"}]
MEDIOS = [{"mecanismo": "correo", "valor": "ana@ejemplo.mx", "registros_patronales": []},
          {"mecanismo": "telefono", "valor": "+525512345678", "registros_patronales": ["A1234567890"]}]


def test_a_patrons_solicitud_reads_as_a_paragraph_its_data_its_medios_and_its_registros_patronales():
    escrito = texto(plantilla_por_defecto(), MORAL, "patron", RPS, MEDIOS)
    partes = bloques(escrito)
    assert texto_de(partes) == escrito
    parrafo, datos, medios, registros = partes
    assert parrafo.titulo is None and len(parrafo.parrafos) == 1
    assert parrafo.parrafos[0].startswith("Solicitud y manifestación de conformidad para el uso del Buzón IMSS.")
    assert datos == Bloque(titulo="Datos de la persona solicitante", datos=[
        ("Razón social", "EMPRESA DE DEMOSTRACION SA DE CV"), ("RFC", "EDE0101013A2"),
        ("RFC del representante legal", "MAVA800101RS5"), ("CURP del representante legal", "MAVA800101MDFRRN09")])
    assert medios == Bloque(titulo="Medios de contacto validados", elementos=[
        "Correo electrónico: ana@ejemplo.mx (del RFC)",
        "Teléfono celular: +525512345678 (del Registro Patronal A1234567890)"])
    assert registros == Bloque(titulo="Registros Patronales",
                               elementos=["EMPRESA DE DEMOSTRACION SA DE CV: A1234567890, B1234567890"])


def test_a_particulars_statement_is_a_paragraph_under_its_heading():
    escrito = texto(plantilla_por_defecto(), FISICA, "particular", [], MEDIOS[:1])
    partes = bloques(escrito)
    assert texto_de(partes) == escrito
    assert partes[1].datos == [("Nombre", "ANA MARIA MARTINEZ VARGAS"), ("RFC", "MAVA800101RS5"),
                               ("CURP", "MAVA800101MDFRRN09")]
    assert partes[-1].titulo == "Registros Patronales"
    assert partes[-1].parrafos == ["El RFC MAVA800101RS5 no tiene asociados Registros Patronales ante el Instituto. "
                                   "La persona solicitante manifiesta su conformidad para usar el Buzón IMSS como "
                                   "Particular."]


def test_an_institutes_own_paragraphs_keep_their_lines():
    """BUZON_SOLICITUD_PLANTILLA may bring several paragraphs, and lines that are neither data nor a list."""
    escrito = ("SOLICITUD Y MANIFESTACIÓN\nLa persona solicitante manifiesta:\nque acepta.\n\nSegundo párrafo.\n\n"
               "Datos de la persona solicitante\nNombre: ANA\nRFC: MAVA800101RS5")
    partes = bloques(escrito)
    assert texto_de(partes) == escrito
    assert partes[0] == Bloque(titulo="SOLICITUD Y MANIFESTACIÓN",
                               parrafos=["La persona solicitante manifiesta:", "que acepta."])
    assert partes[1] == Bloque(parrafos=["Segundo párrafo."])
    assert partes[2].datos == [("Nombre", "ANA"), ("RFC", "MAVA800101RS5")]
