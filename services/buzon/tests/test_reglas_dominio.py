"""Rules of DOMINIO.md's Buzón section that the other files don't check on their own (docs/buzon-reglas.md maps
every rule to its tests): avisos outside the per-destination limits of validation messages, a deposit after hours
or on a día inhábil, the configured calendar and días hábiles driving the sweep, and every step kept with its time.

Plain functions on PostgreSQL with a movable clock. The tables are read directly: the views' shapes belong to
test_notificaciones.py."""
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from buzon_buzon import apertura, avisos, habiles, notificaciones
from buzon_buzon.models import avisos as tabla_avisos, notificaciones as tabla
from buzon_comun.config import Config
from buzon_comun.reloj import ZONA_MEXICO

MORAL = "EDE0101013A2"
MEDIOS = [
    {"id": "m1", "mecanismo": "correo", "valor": "ana@ejemplo.mx", "estado": "validado", "registros_patronales": []},
    {"id": "m2", "mecanismo": "telefono", "valor": "5512345678", "estado": "validado", "registros_patronales": []},
]
VERIFICACION = {"rfc": MORAL, "nombre": "EMPRESA DE DEMOSTRACION SA DE CV", "curp": None, "rfc_representante": None,
                "tipo_persona": "moral", "numero_certificado": "30001000000500003416", "ocsp": "MIIB...",
                "verificado_en": "2027-01-12T09:00:00-06:00"}


def mx(*partes) -> datetime:
    return datetime(*partes, tzinfo=ZONA_MEXICO)


def fila(db, id_):
    resultado = db.execute(select(tabla).where(tabla.c.id == id_)).mappings().one()
    db.commit()
    return resultado


def filas_avisos(db, id_) -> list:
    resultado = db.execute(select(tabla_avisos).where(tabla_avisos.c.notificacion_id == id_)
                           .order_by(tabla_avisos.c.mecanismo)).mappings().all()
    db.commit()
    return resultado


def avisar(db, id_, enviado_en, *, medios=MEDIOS, ahora=None) -> list[str]:
    """The avisos of a notification asked, and each reported sent at `enviado_en`: their ids."""
    creados = avisos.registrar_avisos(db, id_, medios, ahora=ahora or enviado_en)["avisos"]
    for aviso in creados:
        assert avisos.aviso_enviado(db, aviso["id"], enviado_en)
    return [a["id"] for a in creados]


# -- Aviso: "not through the per-destination limits of validation messages" --------------------------------------

def test_the_avisos_of_a_campaign_to_one_rfc_are_not_limited_per_destination(db, depositar, eventos, reloj):
    """contactos allows BUZON_LIMITE_MENSAJES_POR_DESTINO validation messages an hour to one address (10 by
    default); a campaign may deposit more notifications to one RFC within the hour, and each gets its aviso on
    every medio: one per medio per notification, however many go to that address."""
    limite = Config.desde_entorno({}).limite_mensajes_por_destino
    ids = [depositar(referencia=f"CAMPANA-{n}", registros_patronales=[])["id"] for n in range(limite + 3)]
    for id_ in ids:
        reloj.avanzar(seconds=10)
        assert len(avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"]) == 2
    pedidos = [m["datos"]["para"] for m in eventos() if m["tipo"] in ("correo_solicitado", "sms_solicitado")]
    assert sorted(set(pedidos)) == ["+525512345678", "ana@ejemplo.mx"]
    assert pedidos.count("ana@ejemplo.mx") == pedidos.count("+525512345678") == limite + 3


# -- Días hábiles: "a configurable working schedule decides whether a deposit after hours counts from the next día
#    hábil"; Deemed notified: "counted from the day after the aviso was sent" ----------------------------------------

def test_a_deposit_after_hours_counts_from_the_next_dia_habil(db, depositar, reloj, calendario):
    # Deposited Monday 11 January 2027 at 18:05 (after the 07:30-18:00 schedule), its aviso out a minute later:
    # counts from Tuesday, so Wednesday to Friday to open it, deemed Monday 18 at 07:30 (not Friday 15).
    reloj.avanzar(hours=8, minutes=5)
    tarde = depositar(referencia="TARDE")["id"]
    avisar(db, tarde, mx(2027, 1, 11, 18, 6))
    # The same Monday within hours, for contrast: deemed Friday 15.
    reloj.avanzar(hours=-1)
    a_tiempo = depositar(referencia="A-TIEMPO")["id"]
    avisar(db, a_tiempo, mx(2027, 1, 11, 17, 6))
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 1, 15, 7, 30)) == 1
    assert (fila(db, a_tiempo)["estado"], fila(db, a_tiempo)["notificada_en"]) == ("tacita", mx(2027, 1, 15, 7, 30))
    assert fila(db, tarde)["estado"] == "pendiente"
    # Friday 15 was its last day to open it; nothing is deemed over the weekend.
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 1, 17, 23, 59)) == 0
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 1, 18, 7, 30)) == 1
    assert fila(db, tarde)["notificada_en"] == mx(2027, 1, 18, 7, 30)


def test_a_deposit_on_a_weekend_or_a_holiday_counts_from_the_next_dia_habil(db, depositar, reloj, calendario):
    # Saturday 30 January 2027, before the long weekend of Monday 1 February (inhábil): counts from Tuesday 2, open
    # until Friday 5, deemed Monday 8.
    reloj.avanzar(days=19)
    id_ = depositar(referencia="SABADO")["id"]
    avisar(db, id_, mx(2027, 1, 30, 11, 0))
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 2, 5, 23, 59)) == 0
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 2, 8, 7, 30)) == 1
    assert fila(db, id_)["notificada_en"] == mx(2027, 2, 8, 7, 30)


# -- "every number below is configurable"; días inhábiles "the Institute declares" -----------------------------

def test_the_days_the_institute_declares_and_the_days_to_open_come_from_configuration(db, depositar, tmp_path):
    """The sweep follows the calendar the service reads from its environment (habiles.desde_entorno, as
    ProveedorCalendario does): a day the Institute declares inhábil, another number of días hábiles, another
    schedule."""
    archivo = tmp_path / "inhabiles.txt"
    archivo.write_text("# acuerdo del Instituto\n2027-01-13 Día declarado inhábil por el Instituto\n",
                       encoding="utf-8")
    configurado = habiles.desde_entorno({"BUZON_DIAS_INHABILES": str(archivo), "BUZON_DIAS_HABILES_PARA_ABRIR": "5",
                                         "BUZON_HORARIO_HABIL": "09:00-15:00"})
    oficial = habiles.desde_entorno({})
    id_ = depositar(referencia="CONFIGURADO")["id"]
    # Monday 11 January at 10:00: by default deemed Friday 15 at 07:30. Configured: Wednesday 13 skipped, five
    # días hábiles (12, 14, 15, 18, 19) to open it, deemed Wednesday 20 at the schedule's opening, 09:00.
    avisar(db, id_, mx(2027, 1, 11, 10, 0))
    assert oficial.vencida(mx(2027, 1, 11, 10, 0), mx(2027, 1, 15, 7, 30))
    assert apertura.declarar_tacitas(db, configurado, mx(2027, 1, 20, 8, 59, 59)) == 0
    assert fila(db, id_)["estado"] == "pendiente"
    assert apertura.declarar_tacitas(db, configurado, mx(2027, 1, 20, 9, 0)) == 1
    assert fila(db, id_)["notificada_en"] == mx(2027, 1, 20, 9, 0)
    assert configurado.plazo(mx(2027, 1, 11, 10, 0)).abrir_hasta == date(2027, 1, 19)


# -- Traceability: "every step (deposit, each aviso and its delivery status, opening, the deemed date) is recorded
#    with its time and kept" -----------------------------------------------------------------------------------

def _conteos(db) -> tuple[int, int]:
    resultado = (db.execute(select(func.count()).select_from(tabla)).scalar_one(),
                 db.execute(select(func.count()).select_from(tabla_avisos)).scalar_one())
    db.commit()
    return resultado


def test_every_step_of_an_opened_notification_is_kept_with_its_time(db, depositar, reloj, calendario):
    depositada_en = reloj.ahora()
    id_ = depositar()["id"]
    assert fila(db, id_)["depositada_en"] == depositada_en
    reloj.avanzar(seconds=2)
    solicitado_en = reloj.ahora()
    correo, sms = (a["id"] for a in sorted(avisos.registrar_avisos(db, id_, MEDIOS, ahora=solicitado_en)["avisos"],
                                           key=lambda a: a["mecanismo"]))
    enviado_en, fallido_en = mx(2027, 1, 11, 10, 0, 30), mx(2027, 1, 11, 10, 20)
    avisos.aviso_enviado(db, correo, enviado_en)
    avisos.aviso_fallido(db, sms, "HTTP 400 número inexistente", ahora=fallido_en)

    abierta_en = mx(2027, 1, 12, 9, 5)
    cadena = apertura.acuse_recibo(db, MORAL, id_, calendario=calendario, ahora=abierta_en - timedelta(minutes=5))
    apertura.abrir(db, MORAL, id_, cadena=cadena["cadena_original"], certificado="cer", firma="firma",
                   verificacion=VERIFICACION, calendario=calendario, ahora=abierta_en)
    # Later sweeps and repeated reports change none of it.
    assert apertura.declarar_tacitas(db, calendario, abierta_en + timedelta(days=60)) == 0
    avisos.aviso_enviado(db, correo, abierta_en + timedelta(hours=1))

    guardada = fila(db, id_)
    assert (guardada["depositada_en"], guardada["aviso_enviado_en"], guardada["notificada_en"]) == (
        depositada_en, enviado_en, abierta_en)
    assert guardada["verificado_en"] == datetime.fromisoformat(VERIFICACION["verificado_en"])
    assert guardada["cadena_recibo"] == cadena["cadena_original"] and guardada["firma_recibo"] == "firma"
    assert guardada["folio_acuse"] and guardada["codigo_verificacion"]
    por_mecanismo = {a["mecanismo"]: a for a in filas_avisos(db, id_)}
    assert {k: por_mecanismo["correo"][k] for k in ("estado", "solicitado_en", "enviado_en", "fallido_en")} == {
        "estado": "enviado", "solicitado_en": solicitado_en, "enviado_en": enviado_en, "fallido_en": None}
    assert {k: por_mecanismo["telefono"][k] for k in ("estado", "solicitado_en", "fallido_en", "error")} == {
        "estado": "fallido", "solicitado_en": solicitado_en, "fallido_en": fallido_en,
        "error": "HTTP 400 número inexistente"}
    assert _conteos(db) == (1, 2)


def test_every_step_of_a_deemed_notification_is_kept_with_its_time(db, depositar, reloj, calendario):
    id_ = depositar()["id"]
    correo, sms = (a["id"] for a in sorted(avisos.registrar_avisos(db, id_, MEDIOS, ahora=reloj.ahora())["avisos"],
                                           key=lambda a: a["mecanismo"]))
    avisos.aviso_enviado(db, correo, mx(2027, 1, 11, 10, 1))
    avisos.aviso_fallido(db, sms, "HTTP 400 número inexistente", ahora=mx(2027, 1, 11, 10, 2))
    # The timer runs a week late: the deemed date is the rule's, and the deposit and avisos stay as they were.
    assert apertura.declarar_tacitas(db, calendario, mx(2027, 1, 22, 12, 0)) == 1
    guardada = fila(db, id_)
    assert (guardada["estado"], guardada["notificada_en"], guardada["aviso_enviado_en"]) == (
        "tacita", mx(2027, 1, 15, 7, 30), mx(2027, 1, 11, 10, 1))
    assert guardada["depositada_en"] == mx(2027, 1, 11, 10, 0)
    fallido = next(a for a in filas_avisos(db, id_) if a["mecanismo"] == "telefono")
    assert (fallido["estado"], fallido["fallido_en"], fallido["error"]) == (
        "fallido", mx(2027, 1, 11, 10, 2), "HTTP 400 número inexistente")
    assert _conteos(db) == (1, 2)
    # Kept: the deemed notification stays readable, with its document intact.
    assert notificaciones.documento(db, MORAL, id_).startswith(b"%PDF-")

