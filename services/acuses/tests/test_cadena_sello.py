"""The cadena original of each kind, the seal over it, the development key and the date printed on acuses."""
import base64
import threading
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from buzon_acuses import sello as modulo_sello
from buzon_acuses.cadena import cadena_original
from buzon_acuses.fechas import fecha_acuse
from buzon_comun.config import Config

EMITIDO = "2026-11-28T12:00:00-06:00"
RP1, RP2 = "A1234567890", "B1234567890"


def test_the_cadena_of_a_registration_names_every_printed_field(registro):
    assert cadena_original(registro) == (
        f"||1.0|registro_medio|{registro['folio']}|MAVA800101RS5|MAVA800101MDFRRN09|{EMITIDO}"
        "|correo|ana@example.mx|pendiente|||")


def test_the_cadena_of_a_validation_lists_its_registros_patronales(validacion):
    assert cadena_original(validacion) == (
        f"||1.0|validacion_medio|{validacion['folio']}|EDE0101013A2||{EMITIDO}"
        f"|telefono|+525512345678|validado|{RP1},{RP2}||")


def test_the_cadena_of_a_deletion(baja):
    assert cadena_original(baja) == (
        f"||1.0|baja_medio|{baja['folio']}|MAVA800101RS5|MAVA800101MDFRRN09|{EMITIDO}|correo|ana@example.mx|baja|||")


def test_the_cadena_of_the_activation_is_what_the_person_signed(activacion_patron, activacion_particular):
    for solicitud in (activacion_patron, activacion_particular):
        assert cadena_original(solicitud) == solicitud["datos"]["cadena_original"]


def test_a_separator_or_stray_whitespace_inside_a_value_cannot_shift_the_fields(registro):
    registro["datos"]["valor"] = " a|b  c@example.mx\n"
    assert "|a/b c@example.mx|" in cadena_original(registro)


def test_an_activation_without_its_signed_cadena_is_refused(activacion_particular):
    del activacion_particular["datos"]["cadena_original"]
    with pytest.raises(ValueError):
        cadena_original(activacion_particular)


def test_the_seal_verifies_and_any_change_breaks_it(sello_dev, registro):
    cadena = cadena_original(registro)
    sellado = sello_dev.sellar(cadena)
    assert len(base64.b64decode(sellado)) == 256
    assert sello_dev.verificar(cadena, sellado)
    assert not sello_dev.verificar(cadena.replace("pendiente", "validado"), sellado)
    alterado = base64.b64encode(bytes([base64.b64decode(sellado)[0] ^ 1]) + base64.b64decode(sellado)[1:]).decode()
    assert not sello_dev.verificar(cadena, alterado)
    assert not sello_dev.verificar(cadena, "no es base64")


def test_the_development_key_is_made_once_and_reused(tmp_path):
    config = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    primero = modulo_sello.cargar(config)
    archivo = tmp_path / "sello" / modulo_sello.ARCHIVO_DESARROLLO
    contenido = archivo.read_bytes()
    segundo = modulo_sello.cargar(config)
    assert archivo.read_bytes() == contenido
    assert segundo.certificado == primero.certificado
    assert segundo.verificar("||x||", primero.sellar("||x||"))
    [cn] = primero.certificado.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == "IMSS BUZON DESARROLLO"
    assert [p.name for p in (tmp_path / "sello").iterdir()] == [modulo_sello.ARCHIVO_DESARROLLO]


def test_processes_starting_together_end_up_with_one_development_key(tmp_path):
    carpeta = tmp_path / "sello"
    sellos = []
    hilos = [threading.Thread(target=lambda: sellos.append(modulo_sello.desarrollo(carpeta))) for _ in range(4)]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join()
    assert len({s.certificado.fingerprint(s.certificado.signature_hash_algorithm) for s in sellos}) == 1
    assert [p.name for p in carpeta.iterdir()] == [modulo_sello.ARCHIVO_DESARROLLO]


@pytest.mark.parametrize("formato", ["pem", "der"])
def test_the_institutes_key_is_read_encrypted_or_not_pem_or_der(tmp_path, sello_dev, formato):
    llave = sello_dev._llave
    codificacion = serialization.Encoding.PEM if formato == "pem" else serialization.Encoding.DER
    cer = tmp_path / "sello.cer"
    cer.write_bytes(sello_dev.certificado.public_bytes(codificacion))
    cifrada = tmp_path / "cifrada.key"
    cifrada.write_bytes(llave.private_bytes(codificacion, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"12345678a")))
    abierta = tmp_path / "abierta.key"
    abierta.write_bytes(llave.private_bytes(codificacion, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    entorno = {"BUZON_SELLO_CER": str(cer), "BUZON_DATA_DIR": str(tmp_path)}
    for key, password in ((cifrada, "12345678a"), (abierta, None), (abierta, "sobra")):
        sello = modulo_sello.cargar(Config.desde_entorno(
            {**entorno, "BUZON_SELLO_KEY": str(key), **({"BUZON_SELLO_PASSWORD": password} if password else {})}))
        assert sello_dev.verificar("||x||", sello.sellar("||x||"))
    with pytest.raises(modulo_sello.SelloNoDisponible):
        modulo_sello.cargar(Config.desde_entorno({**entorno, "BUZON_SELLO_KEY": str(cifrada)}))
    with pytest.raises(modulo_sello.SelloNoDisponible):
        modulo_sello.cargar(Config.desde_entorno(
            {**entorno, "BUZON_SELLO_KEY": str(cifrada), "BUZON_SELLO_PASSWORD": "otra"}))
    assert not (tmp_path / "sello").exists()


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path, sello_dev):
    otra = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(modulo_sello.SelloNoDisponible):
        modulo_sello.Sello(otra, sello_dev.certificado)


def test_the_seals_certificate_number_is_read_as_sat_numbers_its_certificates(sello_dev):
    """"No. de certificado del sello": the serial's 20 bytes as ASCII digits (SAT's convention, and the development
    certificate's); another serial, in hexadecimal."""
    numero = sello_dev.numero_certificado
    assert len(numero) == 20 and numero.isdigit()
    assert sello_dev.certificado.serial_number == int.from_bytes(numero.encode("ascii"), "big")
    llave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nombre = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OTRO")])
    ahora = datetime.now(timezone.utc)
    otro = (x509.CertificateBuilder().subject_name(nombre).issuer_name(nombre).public_key(llave.public_key())
            .serial_number(0x1F2E3D).not_valid_before(ahora).not_valid_after(ahora + timedelta(days=1))
            .sign(llave, hashes.SHA256()))
    assert modulo_sello.Sello(llave, otro).numero_certificado == "1f2e3d"


def test_dates_are_printed_in_mexico_city_time_with_spanish_months():
    assert fecha_acuse(datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)) == "28 de noviembre de 2026 12:00:00 hrs."
    assert fecha_acuse("2026-11-28T18:00:00Z") == "28 de noviembre de 2026 12:00:00 hrs."
    assert fecha_acuse("2027-01-05T05:59:59+00:00") == "04 de enero de 2027 23:59:59 hrs."
    with pytest.raises(ValueError):
        fecha_acuse("2026-11-28T18:00:00")
