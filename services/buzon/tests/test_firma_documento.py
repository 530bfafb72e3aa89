"""The deposited document's signature (DOMINIO.md, "Deposit": a PDF signed with the Institute's key): accepted only
signed over the whole file by a certificate of a CA in BUZON_DOCUMENTOS_CA_DIR; refused unsigned, signed by an
untrusted key, with bytes or a revision appended after signing, or with a signature over another document; the
signer recorded with the notification; the CA folder read as auth reads SAT's."""
import base64
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from buzon_buzon import firma_documento, notificaciones
from buzon_buzon.models import notificaciones as tabla
from buzon_comun.errores import ReglaIncumplida
from buzon_dev.documentos import firmar_con, pdf_de_prueba


def b64(contenido: bytes) -> str:
    return base64.b64encode(contenido).decode("ascii")


def _rechazo(confianza, pdf: bytes) -> ReglaIncumplida:
    with pytest.raises(ReglaIncumplida) as exc:
        confianza.verificar(pdf)
    return exc.value


def test_a_document_signed_with_the_institutes_key_is_accepted_and_its_signer_named(confianza, documentos_dev,
                                                                                     pdf_firmado):
    firmante = confianza.verificar(pdf_firmado)
    assert firmante.serie == format(documentos_dev.firmante.serial_number, "x")
    assert firmante.sujeto == documentos_dev.firmante.subject.rfc4514_string()
    assert "IMSS NOTIFICACIONES DESARROLLO" in firmante.sujeto


def test_an_unsigned_pdf_is_refused(confianza):
    rechazo = _rechazo(confianza, pdf_de_prueba())
    assert rechazo.codigo == "documento_sin_firma" and "no está firmado" in rechazo.mensaje


def test_a_key_of_no_trusted_ca_is_refused_even_with_the_same_names(confianza, firmador_ajeno):
    rechazo = _rechazo(confianza, firmar_con(pdf_de_prueba(), firmador_ajeno))
    assert rechazo.codigo == "firma_documento_invalida"
    assert rechazo.extra["motivo"] == firma_documento.MOTIVO_NO_CONFIABLE


def test_bytes_appended_after_signing_are_refused(confianza, pdf_firmado):
    rechazo = _rechazo(confianza, pdf_firmado + b"\n%contenido agregado\n")
    assert rechazo.codigo == "firma_documento_invalida"
    assert rechazo.extra["motivo"] == firma_documento.MOTIVO_AGREGADO


def test_a_revision_added_after_signing_is_refused(confianza, pdf_firmado):
    # A well-formed incremental update (what a PDF editor writes) leaves the signed revision intact but not the file.
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    escritor = IncrementalPdfFileWriter(io.BytesIO(pdf_firmado))
    escritor.root[NameObject("/Lang")] = TextStringObject("es-MX")
    escritor.update_root()
    salida = io.BytesIO()
    escritor.write(salida)
    rechazo = _rechazo(confianza, salida.getvalue())
    assert rechazo.extra["motivo"] == firma_documento.MOTIVO_AGREGADO


def test_a_signature_over_another_document_is_refused(confianza, documentos_dev):
    # The same bytes but one word of the page: the signature is of the document before the change.
    firmado = documentos_dev.firmar_pdf(pdf_de_prueba("Multa de 1000 pesos"))
    alterado = firmado.replace(b"(Multa de 1000 pesos)", b"(Multa de 9000 pesos)")
    assert len(alterado) == len(firmado) and alterado != firmado
    rechazo = _rechazo(confianza, alterado)
    assert rechazo.codigo == "firma_documento_invalida"
    assert rechazo.extra["motivo"] == firma_documento.MOTIVO_ALTERADO


def test_a_signature_moved_onto_another_document_is_refused(confianza, documentos_dev):
    # The signature dictionary of one signed PDF grafted onto another of the same length.
    uno = documentos_dev.firmar_pdf(pdf_de_prueba("Documento uno"))
    dos = documentos_dev.firmar_pdf(pdf_de_prueba("Documento dos"))
    inicio = dos.index(b"/Contents <")
    fin = dos.index(b">", inicio + len(b"/Contents <"))
    injerto = uno[:inicio] + dos[inicio:fin] + uno[fin:]
    assert len(injerto) == len(uno)
    assert _rechazo(confianza, injerto).codigo == "firma_documento_invalida"


def test_the_deposit_records_the_signer_and_refuses_before_recording(db, depositar, cuerpo, confianza,
                                                                    documentos_dev):
    id_ = depositar()["id"]
    fila = db.execute(select(tabla.c.firmante_serie, tabla.c.firmante_sujeto).where(tabla.c.id == id_)).one()
    db.commit()
    assert fila.firmante_serie == format(documentos_dev.firmante.serial_number, "x")
    assert fila.firmante_sujeto == documentos_dev.firmante.subject.rfc4514_string()
    with pytest.raises(ReglaIncumplida) as exc:
        notificaciones.leer_deposito(cuerpo(documento=b64(pdf_de_prueba()), referencia="SIN-FIRMA"), confianza)
    assert exc.value.codigo == "documento_sin_firma"


def test_the_ca_folder_reads_der_and_pem_and_ignores_the_rest(tmp_path, documentos_dev, pdf_firmado):
    ac = documentos_dev.ac
    (tmp_path / "ac.pem").write_bytes(ac.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "basura.cer").write_bytes(b"no es un certificado")
    # A leaf certificate is no CA: ignored (it would otherwise let its holder be its own authority).
    (tmp_path / "firmante.cer").write_bytes(documentos_dev.firmante.public_bytes(serialization.Encoding.DER))
    confianza = firma_documento.Confianza.desde_carpeta(tmp_path)
    assert [x509.load_der_x509_certificate(c.dump()) for c in confianza.cas] == [ac]
    assert confianza.verificar(pdf_firmado).sujeto == documentos_dev.firmante.subject.rfc4514_string()
    # An empty folder trusts nobody; a missing one stops the start.
    (tmp_path / "vacia").mkdir()
    vacia = firma_documento.Confianza.desde_carpeta(tmp_path / "vacia")
    assert _rechazo(vacia, pdf_firmado).extra["motivo"] == firma_documento.MOTIVO_NO_CONFIABLE
    with pytest.raises(FileNotFoundError):
        firma_documento.Confianza.desde_carpeta(tmp_path / "no-existe")


def test_the_service_verifies_off_the_hub_in_a_real_thread_and_pyhanko_stays_quiet(confianza, pdf_firmado,
                                                                                    firmador_ajeno):
    import logging

    from eventlet.patcher import original

    from buzon_buzon.service import ConfianzaEnHilos

    hilo = original("threading").get_ident
    hilos = []

    class Registra:
        def verificar(self, pdf):
            hilos.append(hilo())
            return confianza.verificar(pdf)

    assert ConfianzaEnHilos(Registra()).verificar(pdf_firmado).serie
    assert len(hilos) == 1 and hilos[0] != hilo()
    # pyHanko logs an untrusted signer as a warning: silenced, no record leaves a real thread.
    firma_documento.silenciar_pyhanko()
    try:
        registros = []

        class Captura(logging.Handler):
            def emit(self, registro):
                registros.append(registro)

        captura = Captura()
        logging.getLogger().addHandler(captura)
        try:
            with pytest.raises(ReglaIncumplida):
                ConfianzaEnHilos(confianza).verificar(firmar_con(pdf_de_prueba(), firmador_ajeno))
        finally:
            logging.getLogger().removeHandler(captura)
        assert not [r for r in registros if r.name.startswith("pyhanko")]
    finally:
        for nombre in ("pyhanko", "pyhanko_certvalidator"):
            logging.getLogger(nombre).setLevel(logging.NOTSET)
