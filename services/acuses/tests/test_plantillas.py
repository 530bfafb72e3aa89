"""Template versions: an acuse is rendered, maybe years after it was issued, with the template version it was
issued with, so a released template's bytes never change. A change is a new version in `documento.PLANTILLAS`, a
file of its own with its digest, and `PLANTILLA_VIGENTE` names it for the acuses issued from then on."""
import hashlib
import shutil
from pathlib import Path

from buzon_acuses import documento

CARPETA = Path(documento.__file__).parent / "plantillas"
MENSAJE = ("Una plantilla publicada no se edita: los acuses ya emitidos con ella se generarían distintos. Deja el "
           "archivo como estaba y publica el cambio como una versión nueva en documento.PLANTILLAS (un archivo "
           "nuevo con su propio sha256) y hazla la PLANTILLA_VIGENTE.")


def alteradas(plantillas: dict, carpeta: Path) -> list[str]:
    """One line per file of a version (its main file and those of kinds added to it) that is missing in `carpeta`
    or is not the file it was released with."""
    problemas = []
    for version, plantilla in sorted(plantillas.items()):
        for nombre, sha256 in plantilla.archivos():
            archivo = carpeta / nombre
            if not archivo.is_file():
                problemas.append(f"versión {version}: falta {nombre}")
                continue
            actual = hashlib.sha256(archivo.read_bytes()).hexdigest()
            if actual != sha256:
                problemas.append(f"versión {version}: {nombre} tiene sha256 {actual}, se publicó con {sha256}")
    return problemas


def test_every_released_template_is_still_the_file_it_was_released_with():
    problemas = alteradas(documento.PLANTILLAS, CARPETA)
    assert not problemas, MENSAJE + "\n" + "\n".join(problemas)


def test_new_acuses_get_a_released_version_and_each_version_has_a_file_of_its_own():
    assert documento.PLANTILLA_VIGENTE in documento.PLANTILLAS
    archivos = [nombre for p in documento.PLANTILLAS.values() for nombre, _ in p.archivos()]
    assert len(set(archivos)) == len(archivos), "dos versiones comparten archivo: " + MENSAJE
    # Each version is what the renderer loads by that name.
    for nombre in archivos:
        assert documento._entorno().get_template(nombre).filename == str(CARPETA / nombre)


def test_a_template_edited_in_place_or_removed_is_caught(tmp_path):
    copia = tmp_path / "plantillas"
    shutil.copytree(CARPETA, copia)
    assert alteradas(documento.PLANTILLAS, copia) == []
    [(version, plantilla)] = [(v, p) for v, p in documento.PLANTILLAS.items() if v == documento.PLANTILLA_VIGENTE]
    archivo = copia / plantilla.archivo
    archivo.write_bytes(archivo.read_bytes().replace(b"</body>", b" </body>", 1))
    [problema] = alteradas(documento.PLANTILLAS, copia)
    assert problema.startswith(f"versión {version}: {plantilla.archivo} tiene sha256 ")
    archivo.unlink()
    assert alteradas(documento.PLANTILLAS, copia) == [f"versión {version}: falta {plantilla.archivo}"]


def test_the_file_of_a_kind_added_to_a_version_is_held_to_its_digest_too(tmp_path):
    copia = tmp_path / "plantillas"
    shutil.copytree(CARPETA, copia)
    [(version, plantilla)] = [(v, p) for v, p in documento.PLANTILLAS.items() if p.por_tipo]
    [(_, nombre, _)] = plantilla.por_tipo
    archivo = copia / nombre
    archivo.write_bytes(archivo.read_bytes().replace(b"</body>", b" </body>", 1))
    [problema] = alteradas(documento.PLANTILLAS, copia)
    assert problema.startswith(f"versión {version}: {nombre} tiene sha256 ")
