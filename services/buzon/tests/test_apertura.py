"""Opening with a signed acuse de recibo, and deemed notification, on PostgreSQL with a movable clock: the
cadena, the opening and its events, ya_notificada, the sweep at the deemed moment, and the races between openings
and sweeps (other sessions stand for other workers or replicas)."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from buzon_buzon import apertura, avisos, habiles, notificaciones
from buzon_buzon.models import notificaciones as tabla
from buzon_comun.errores import Conflicto, NoEncontrado, Prohibido, ReglaIncumplida, SolicitudInvalida
from buzon_comun.reloj import ZONA_MEXICO

MORAL = "EDE0101013A2"
OTRO_RFC = "MAVA800101RS5"
MEDIOS = [{"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado"}]
# The aviso of the fixture's deposit, sent Monday 11 January 2027 at 10:00: deemed Friday 15 January at 07:30.
ENVIADO = datetime(2027, 1, 11, 10, 0, tzinfo=ZONA_MEXICO)
TACITA = datetime(2027, 1, 15, 7, 30, tzinfo=ZONA_MEXICO)
VERIFICACION = {"rfc": MORAL, "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
                "rfc_representante": "MAVA800101RS5", "tipo_persona": "moral", "numero_certificado": "30001000000500003416",
                "ocsp": "MIIB...", "verificado_en": "2027-01-12T09:00:00-06:00"}


@pytest.fixture
def avisada(db, depositar, reloj):
    """A deposit whose aviso was sent at ENVIADO: its id."""

    def hacer(referencia: str = "REQ-42", enviado: datetime = ENVIADO) -> str:
        id_ = depositar(referencia=referencia)["id"]
        [aviso] = avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]
        avisos.aviso_enviado(db, aviso["id"], enviado)
        return id_

    return hacer


def abrir(db, id_, calendario, ahora, cadena=None, verificacion=VERIFICACION, rfc=MORAL):
    cadena = cadena if cadena is not None else apertura.por_firmar(db, rfc, id_, ahora=ahora)
    return apertura.abrir(db, rfc, id_, cadena=cadena, certificado="cer", firma="firma", verificacion=verificacion,
                          calendario=calendario, ahora=ahora)


def fila(db, id_):
    resultado = db.execute(select(tabla).where(tabla.c.id == id_)).mappings().one()
    db.commit()
    return resultado


# -- the acuse de recibo ----------------------------------------------------------------------------------------

def test_la_cadena_nombra_la_notificacion_el_rfc_el_momento_y_el_documento(db, avisada, calendario):
    id_ = avisada()
    ahora = datetime(2027, 1, 12, 9, 0, tzinfo=ZONA_MEXICO)
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora)["cadena_original"]
    sha = fila(db, id_)["documento_sha256"]
    assert cadena == (f"||1.0|ACUSE DE RECIBO DE NOTIFICACION BUZON IMSS|{id_}|{MORAL}|2027-01-12T09:00:00-06:00|"
                      f"{sha}||")
    # The same while it lives; a new one after it lapses.
    despues = ahora + apertura.VIGENCIA_RECIBO - timedelta(seconds=1)
    assert apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=despues)["cadena_original"] == cadena
    nueva = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora + apertura.VIGENCIA_RECIBO)
    assert nueva["cadena_original"] != cadena and "2027-01-12T09:30:00-06:00" in nueva["cadena_original"]
    assert apertura.por_firmar(db, MORAL, id_, ahora=ahora + apertura.VIGENCIA_RECIBO) == nueva["cadena_original"]


def test_otro_rfc_no_ve_ni_abre(db, avisada, calendario):
    id_ = avisada()
    ahora = datetime(2027, 1, 12, 9, 0, tzinfo=ZONA_MEXICO)
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora)["cadena_original"]
    for llamada in (lambda: apertura.acuse_recibo(db, OTRO_RFC, id_, calendario=calendario, ahora=ahora),
                    lambda: apertura.por_firmar(db, OTRO_RFC, id_, ahora=ahora),
                    lambda: abrir(db, id_, calendario, ahora, cadena=cadena, rfc=OTRO_RFC,
                                  verificacion={**VERIFICACION, "rfc": OTRO_RFC}),
                    lambda: apertura.por_firmar(db, MORAL, "no-es-uuid", ahora=ahora)):
        with pytest.raises(NoEncontrado):
            llamada()


# -- opening ----------------------------------------------------------------------------------------------------

def test_abrir_la_notifica_en_ese_momento_con_sus_eventos(db, avisada, calendario, eventos):
    id_ = avisada()
    ahora = datetime(2027, 1, 14, 23, 59, tzinfo=ZONA_MEXICO)  # the last día to open it, late at night
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora)["cadena_original"]
    respuesta = abrir(db, id_, calendario, ahora)
    codigo = respuesta.pop("codigo_verificacion")
    assert respuesta == {"estado": "abierta", "notificada_en": "2027-01-14T23:59:00-06:00",
                         "folio_acuse": "NOT-2027-00000001"}
    # The acuse's código de verificación is minted here, with the acuse's request: answered at once, kept, and in
    # both lists (acuses keeps the one the request carries).
    assert re.fullmatch(r"[A-Z2-7]{16}", codigo)
    guardada = fila(db, id_)
    assert guardada["codigo_verificacion"] == codigo
    assert guardada["estado"] == "abierta" and guardada["cadena_recibo"] == cadena
    assert guardada["firma_recibo"] == "firma" and guardada["numero_certificado"] == "30001000000500003416"
    assert guardada["ocsp_recibo"] == "MIIB..." and guardada["verificado_en"].isoformat() == "2027-01-12T15:00:00+00:00"
    [abierta] = eventos("notificacion_abierta")
    assert abierta["datos"] == {"id": id_, "sistema": "cobranza", "referencia": "REQ-42", "rfc": MORAL,
                                "notificada_en": "2027-01-14T23:59:00-06:00", "folio_acuse": "NOT-2027-00000001"}
    [acuse] = eventos("acuse_solicitado")
    assert acuse["datos"]["tipo"] == "notificacion" and acuse["datos"]["folio"] == "NOT-2027-00000001"
    assert acuse["datos"]["titular"]["nombre"] == "EMPRESA DE DEMOSTRACION SA DE CV"
    assert acuse["datos"]["codigo_verificacion"] == codigo
    assert notificaciones.listar(db, MORAL, calendario=calendario)["notificaciones"][0]["codigo_verificacion"] == codigo
    assert notificaciones.obtener(db, MORAL, id_, calendario=calendario)["codigo_verificacion"] == codigo
    datos = acuse["datos"]["datos"]
    assert datos["forma"] == "apertura" and datos["cadena_original"] == cadena and datos["firma"] == "firma"
    assert datos["asunto"] == "Requerimiento de información 42" and datos["aviso_enviado_en"] == \
        "2027-01-11T10:00:00-06:00"
    assert notificaciones.documento(db, MORAL, id_).startswith(b"%PDF-")
    assert notificaciones.consultar(db, "cobranza", id_, calendario=calendario)["estado"] == "abierta"
    assert notificaciones.consultar(db, "cobranza", id_, calendario=calendario)["codigo_verificacion"] == codigo
    # Made: neither opened again, nor a new acuse de recibo, nor deemed later.
    for llamada in (lambda: abrir(db, id_, calendario, ahora, cadena=cadena),
                    lambda: apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora),
                    lambda: apertura.por_firmar(db, MORAL, id_, ahora=ahora)):
        with pytest.raises(Conflicto) as exc:
            llamada()
        assert exc.value.codigo == "ya_notificada"
    assert apertura.declarar_tacitas(db, calendario, TACITA + timedelta(days=30)) == 0
    assert len(eventos("acuse_solicitado")) == 1


def test_sin_acuse_de_recibo_vigente_o_con_otra_cadena(db, avisada, calendario, eventos):
    id_ = avisada()
    ahora = datetime(2027, 1, 12, 9, 0, tzinfo=ZONA_MEXICO)
    with pytest.raises(ReglaIncumplida) as exc:
        apertura.por_firmar(db, MORAL, id_, ahora=ahora)
    assert exc.value.codigo == "firma_invalida"
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora)["cadena_original"]
    with pytest.raises(ReglaIncumplida):
        abrir(db, id_, calendario, ahora, cadena=cadena.replace("09:00", "08:00"))
    with pytest.raises(ReglaIncumplida):
        abrir(db, id_, calendario, ahora + apertura.VIGENCIA_RECIBO, cadena=cadena)
    with pytest.raises(Prohibido):
        abrir(db, id_, calendario, ahora, cadena=cadena, verificacion={**VERIFICACION, "rfc": OTRO_RFC})
    with pytest.raises(SolicitudInvalida):
        apertura.abrir(db, MORAL, id_, cadena=cadena, certificado="", firma="f", verificacion=VERIFICACION,
                       calendario=calendario, ahora=ahora)
    assert fila(db, id_)["estado"] == "pendiente" and eventos("notificacion_abierta") == []


def test_abrir_antes_de_que_salga_el_aviso(db, depositar, calendario):
    # No aviso reported yet: no deadline runs, and the person may open it.
    id_ = depositar()["id"]
    ahora = datetime(2027, 3, 1, 9, 0, tzinfo=ZONA_MEXICO)
    apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=ahora)
    assert abrir(db, id_, calendario, ahora)["estado"] == "abierta"


def test_abrir_una_ya_vencida_la_tiene_por_notificada_en_su_fecha(db, avisada, calendario, eventos):
    id_ = avisada()
    antes = TACITA - timedelta(minutes=10)
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=antes)["cadena_original"]
    # Signed in time, but it arrives at the deemed moment, before the timer ran: deemed, not opened (nor re-dated).
    with pytest.raises(Conflicto) as exc:
        abrir(db, id_, calendario, TACITA, cadena=cadena)
    assert exc.value.codigo == "ya_notificada"
    guardada = fila(db, id_)
    assert guardada["estado"] == "tacita" and guardada["notificada_en"] == TACITA
    assert guardada["cadena_recibo"] is None
    assert [e["datos"]["notificada_en"] for e in eventos("notificacion_tacita")] == ["2027-01-15T07:30:00-06:00"]
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 0
    assert len(eventos("acuse_solicitado")) == 1
    # Deemed, the document is readable.
    assert notificaciones.documento(db, MORAL, id_).startswith(b"%PDF-")


def test_pedir_el_acuse_de_recibo_de_una_vencida(db, avisada, calendario, eventos):
    id_ = avisada()
    with pytest.raises(Conflicto):
        apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=TACITA + timedelta(hours=3))
    assert fila(db, id_)["notificada_en"] == TACITA and len(eventos("notificacion_tacita")) == 1


# -- the deadline in the views ----------------------------------------------------------------------------------

def vistas(db, id_, calendario) -> list[dict]:
    """The notification as the person's list, the person's notification and the depositing system's query show it."""
    [en_lista] = [n for n in notificaciones.listar(db, MORAL, calendario=calendario)["notificaciones"] if n["id"] == id_]
    return [en_lista, notificaciones.obtener(db, MORAL, id_, calendario=calendario),
            notificaciones.consultar(db, "cobranza", id_, calendario=calendario)]


def plazo_de(vista: dict) -> tuple:
    return vista["aviso_enviado_en"], vista["abrir_hasta"], vista["tacita_el"]


@pytest.mark.parametrize(("enviado", "abrir_hasta", "tacita_el"), [
    # services/buzon/README.md, "The rule": the table's rows, with the shipped calendar and schedule.
    (ENVIADO, "2027-01-14T23:59:59-06:00", "2027-01-15"),
    (datetime(2027, 1, 11, 18, 0, tzinfo=ZONA_MEXICO), "2027-01-15T23:59:59-06:00", "2027-01-18"),
    (datetime(2027, 1, 29, 10, 0, tzinfo=ZONA_MEXICO), "2027-02-04T23:59:59-06:00", "2027-02-05"),
    (datetime(2026, 12, 24, 20, 0, tzinfo=ZONA_MEXICO), "2026-12-31T23:59:59-06:00", "2027-01-04"),
])
def test_una_pendiente_avisada_dice_hasta_cuando_abrirla(db, avisada, calendario, enviado, abrir_hasta, tacita_el):
    id_ = avisada(enviado=enviado)
    for vista in vistas(db, id_, calendario):
        assert plazo_de(vista) == (enviado.isoformat(), abrir_hasta, tacita_el)


def test_sin_aviso_no_hay_plazo_y_con_otro_calendario_otro_plazo(db, depositar, avisada, calendario):
    # Its días hábiles haven't started: no deadline to show.
    sin_aviso = depositar(referencia="sin-aviso")["id"]
    for vista in vistas(db, sin_aviso, calendario):
        assert plazo_de(vista) == (None, None, None)
    # The views use the calendar the service was given (BUZON_DIAS_HABILES_PARA_ABRIR=1, another schedule).
    id_ = avisada()
    otro = habiles.Calendario(inhabiles=calendario.inhabiles, horario=habiles.Horario.desde_texto("07:30-09:00"),
                              dias_para_abrir=1)
    for vista in vistas(db, id_, otro):
        assert plazo_de(vista) == ("2027-01-11T10:00:00-06:00", "2027-01-13T23:59:59-06:00", "2027-01-14")


def test_el_plazo_que_muestra_se_cumple_y_desaparece_al_abrirla(db, avisada, calendario):
    id_ = avisada()
    abrir_hasta = datetime.fromisoformat(notificaciones.obtener(db, MORAL, id_, calendario=calendario)["abrir_hasta"])
    # The last second the views promise, it still opens.
    apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=abrir_hasta)
    assert abrir(db, id_, calendario, abrir_hasta)["notificada_en"] == "2027-01-14T23:59:59-06:00"
    # Made: no deadline left; when its aviso was sent stays.
    for vista in vistas(db, id_, calendario):
        assert plazo_de(vista) == ("2027-01-11T10:00:00-06:00", None, None)


def test_una_tacita_ya_no_tiene_plazo(db, avisada, calendario):
    id_ = avisada()
    tacita_el = notificaciones.obtener(db, MORAL, id_, calendario=calendario)["tacita_el"]
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 1
    for vista in vistas(db, id_, calendario):
        assert vista["estado"] == "tacita" and vista["notificada_en"].startswith(tacita_el)
        assert plazo_de(vista) == ("2027-01-11T10:00:00-06:00", None, None)


# -- the timer --------------------------------------------------------------------------------------------------

def test_barrido_con_reloj_movible(db, avisada, depositar, calendario, eventos):
    id_ = avisada()
    sin_aviso = depositar(referencia="sin-aviso")["id"]
    assert apertura.declarar_tacitas(db, calendario, TACITA - timedelta(seconds=1)) == 0
    assert fila(db, id_)["estado"] == "pendiente"
    # The timer runs late (Friday afternoon): the deemed date is still Friday 07:30.
    assert apertura.declarar_tacitas(db, calendario, TACITA + timedelta(hours=8)) == 1
    guardada = fila(db, id_)
    assert guardada["estado"] == "tacita" and guardada["notificada_en"] == TACITA
    assert guardada["folio_acuse"] == "NOT-2027-00000001"
    [tacita] = eventos("notificacion_tacita")
    assert tacita["datos"] == {"id": id_, "sistema": "cobranza", "referencia": "REQ-42", "rfc": MORAL,
                               "aviso_enviado_en": "2027-01-11T10:00:00-06:00",
                               "notificada_en": "2027-01-15T07:30:00-06:00", "folio_acuse": "NOT-2027-00000001"}
    [acuse] = eventos("acuse_solicitado")
    assert acuse["datos"]["tipo"] == "notificacion" and acuse["datos"]["emitido_en"] == "2027-01-15T07:30:00-06:00"
    assert acuse["datos"]["datos"]["forma"] == "tacita"
    # Nobody signed it: the acuse names the addressee as activacion named them at the deposit (a persona moral by
    # its razón social; its representative's CURP and RFC are not of this act), with the code kept here.
    assert acuse["datos"]["titular"] == {"rfc": MORAL, "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None,
                                         "rfc_representante": None, "tipo_persona": "moral"}
    assert re.fullmatch(r"[A-Z2-7]{16}", acuse["datos"]["codigo_verificacion"])
    assert guardada["codigo_verificacion"] == acuse["datos"]["codigo_verificacion"]
    assert acuse["datos"]["datos"]["notificada_en"] == "2027-01-15T07:30:00-06:00"
    consulta = notificaciones.consultar(db, "cobranza", id_, calendario=calendario)
    assert consulta["notificada_en"] == "2027-01-15T07:30:00-06:00"
    # Again: nothing more. Without an aviso sent, never.
    assert apertura.declarar_tacitas(db, calendario, TACITA + timedelta(days=60)) == 0
    assert fila(db, sin_aviso)["estado"] == "pendiente"


def test_barrido_por_lotes_en_orden_de_aviso(db, avisada, calendario, eventos):
    ids = [avisada(referencia=str(i), enviado=ENVIADO - timedelta(minutes=i)) for i in range(5)]
    hechas = []
    for esperadas in (2, 2, 1, 0):
        assert apertura.declarar_tacitas(db, calendario, TACITA, lote=2) == esperadas
        hechas.append({i for i in ids if fila(db, i)["estado"] == "tacita"})
    # The oldest avisos first.
    assert hechas == [set(ids[3:]), set(ids[1:]), set(ids), set(ids)]
    assert len(eventos("notificacion_tacita")) == 5


def test_dos_barridos_a_la_vez_no_toman_la_misma(db, otra_db, avisada, calendario, eventos):
    ids = {avisada(referencia=str(i), enviado=ENVIADO + timedelta(minutes=i)) for i in range(5)}
    # A sweep in another replica has taken the two oldest and not committed yet.
    tomadas = apertura.elegir_vencidas(otra_db, calendario, TACITA, 2)
    assert len(tomadas) == 2
    # This one skips them instead of waiting (otra_db's lock_timeout would fail it), and deems the rest.
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 3
    for tomada in tomadas:
        apertura._tener_por_notificada(otra_db, tomada, calendario, ahora=TACITA)
    otra_db.commit()
    declaradas = eventos("notificacion_tacita")
    assert sorted(e["datos"]["id"] for e in declaradas) == sorted(ids)
    assert len({e["datos"]["folio_acuse"] for e in declaradas}) == 5
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 0


def test_una_apertura_en_curso_no_la_toma_el_barrido(db, otra_db, avisada, calendario, eventos):
    id_ = avisada()
    antes = TACITA - timedelta(seconds=1)
    apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=antes - timedelta(minutes=5))
    # An opening signed at 07:29:59 holds the row (it is inside its transaction) when the 07:30 sweep runs.
    otra_db.execute(text("SELECT id FROM notificaciones WHERE id = :i FOR UPDATE"), {"i": id_})
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 0
    otra_db.rollback()
    assert abrir(db, id_, calendario, antes)["notificada_en"] == "2027-01-15T07:29:59-06:00"
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 0
    assert fila(db, id_)["estado"] == "abierta" and eventos("notificacion_tacita") == []


def test_abierta_en_el_mismo_momento_que_el_barrido(db, avisada, calendario, eventos):
    # The sweep got there first: the opening at that same moment finds it deemed.
    primera = avisada(referencia="1")
    apertura.acuse_recibo(db, MORAL, primera, calendario=calendario, ahora=TACITA - timedelta(minutes=1))
    cadena = apertura.por_firmar(db, MORAL, primera, ahora=TACITA - timedelta(minutes=1))
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 1
    with pytest.raises(Conflicto):
        abrir(db, primera, calendario, TACITA, cadena=cadena)
    # The opening got there first, at the same moment: it deems it itself, and the sweep finds nothing.
    segunda = avisada(referencia="2")
    apertura.acuse_recibo(db, MORAL, segunda, calendario=calendario, ahora=TACITA - timedelta(minutes=1))
    cadena = apertura.por_firmar(db, MORAL, segunda, ahora=TACITA - timedelta(minutes=1))
    with pytest.raises(Conflicto):
        abrir(db, segunda, calendario, TACITA, cadena=cadena)
    assert apertura.declarar_tacitas(db, calendario, TACITA) == 0
    for id_ in (primera, segunda):
        assert fila(db, id_)["estado"] == "tacita" and fila(db, id_)["notificada_en"] == TACITA
    assert len(eventos("notificacion_tacita")) == 2 and len(eventos("acuse_solicitado")) == 2
    assert eventos("notificacion_abierta") == []
