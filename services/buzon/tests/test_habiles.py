"""Días hábiles and the deemed-notification date (buzon_buzon.habiles): no broker, no database, no real clock."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buzon_buzon.habiles import (ARCHIVO_OFICIAL, Calendario, CalendarioInvalido, Horario, cargar_dias_inhabiles,
                                 desde_entorno, leer_dias_inhabiles)
from buzon_comun.reloj import ZONA_MEXICO, RelojFijo


def mx(anio, mes, dia, hora=0, minuto=0, segundo=0, micro=0) -> datetime:
    return datetime(anio, mes, dia, hora, minuto, segundo, micro, tzinfo=ZONA_MEXICO)


def lunes(anio: int, mes: int, cual: int) -> date:
    """The `cual`-th Monday of a month."""
    primero = date(anio, mes, 1)
    return primero + timedelta(days=(7 - primero.weekday()) % 7 + 7 * (cual - 1))


def oficiales(anio: int) -> set[date]:
    """Código Fiscal de la Federación, art. 12, computed by its rule (no transmission of the Executive in 2026-27)."""
    return {date(anio, 1, 1), lunes(anio, 2, 1), lunes(anio, 3, 3), date(anio, 5, 1), date(anio, 5, 5),
            date(anio, 9, 16), lunes(anio, 11, 3), date(anio, 12, 25)}


def calendario(dias_para_abrir=3, horario="07:30-18:00") -> Calendario:
    """The official días inhábiles of 2026 and 2027 by rule, independent of the shipped file."""
    return Calendario(inhabiles={dia: "oficial" for dia in oficiales(2026) | oficiales(2027)},
                      horario=Horario.desde_texto(horario), dias_para_abrir=dias_para_abrir)


CAL = calendario()


# --- días hábiles ---

def test_weekends_and_the_calendars_days_are_not_habiles():
    assert [CAL.es_habil(date(2027, 1, d)) for d in range(4, 11)] == [True] * 5 + [False, False]  # Mon 4 - Sun 10
    assert not CAL.es_habil(date(2027, 2, 1))  # first Monday of February
    assert CAL.es_habil(date(2027, 2, 5))  # the 5th itself is a Friday like any other
    assert not CAL.es_habil(date(2027, 9, 16)) and CAL.es_habil(date(2027, 9, 17))
    assert CAL.siguiente_habil(date(2027, 1, 29)) == date(2027, 2, 2)  # Friday → Tuesday over a long weekend
    assert CAL.anterior_habil(date(2027, 2, 2)) == date(2027, 1, 29)
    assert CAL.siguiente_habil(date(2026, 12, 24)) == date(2026, 12, 28)
    assert CAL.habiles_despues(date(2026, 12, 28), 4) == date(2027, 1, 4)  # 29, 30, 31, (1 Jan inhábil) 4


def test_the_calendar_knows_the_years_it_covers():
    assert CAL.anios == {2026, 2027}
    assert CAL.cubre(date(2027, 6, 1)) and not CAL.cubre(date(2028, 1, 3))


# --- the day an aviso counts on, and the deemed date ---

def fechas(enviado_en, cal=CAL):
    p = cal.plazo(enviado_en)
    return p.cuenta_desde, p.abrir_hasta, p.tacita_el


def test_an_aviso_on_a_monday_morning_is_deemed_on_friday():
    # Three whole días hábiles to open it (Tue, Wed, Thu), deemed on the 4th (Friday) at the schedule's opening.
    assert fechas(mx(2027, 1, 11, 10)) == (date(2027, 1, 11), date(2027, 1, 14), date(2027, 1, 15))
    assert CAL.momento_tacito(mx(2027, 1, 11, 10)) == mx(2027, 1, 15, 7, 30)
    assert CAL.dia_tacito(mx(2027, 1, 11, 10)) == date(2027, 1, 15)


def test_a_weekend_aviso_counts_from_monday():
    for enviado in (mx(2027, 1, 9, 12), mx(2027, 1, 10, 23, 59)):
        assert fechas(enviado) == (date(2027, 1, 11), date(2027, 1, 14), date(2027, 1, 15))


def test_a_monday_holiday_makes_a_long_weekend():
    # Friday 29 Jan 2027 in hours: 1 Feb (first Monday of February) doesn't count.
    assert fechas(mx(2027, 1, 29, 10)) == (date(2027, 1, 29), date(2027, 2, 4), date(2027, 2, 5))
    # Friday 12 Mar 2027 after hours: counts from Tuesday 16 (Monday 15 is the third Monday of March).
    assert fechas(mx(2027, 3, 12, 19)) == (date(2027, 3, 16), date(2027, 3, 19), date(2027, 3, 22))
    # Third Monday of November 2026 (16 Nov), aviso on the Saturday before.
    assert fechas(mx(2026, 11, 14, 9)) == (date(2026, 11, 17), date(2026, 11, 20), date(2026, 11, 23))


def test_after_hours_counts_from_the_next_dia_habil():
    assert CAL.dia_del_aviso(mx(2027, 1, 11, 17, 59, 59, 999999)) == date(2027, 1, 11)
    assert CAL.dia_del_aviso(mx(2027, 1, 11, 18)) == date(2027, 1, 12)  # exactly at closing: the next day
    assert CAL.dia_del_aviso(mx(2027, 1, 11, 23, 59)) == date(2027, 1, 12)
    assert CAL.dia_del_aviso(mx(2027, 1, 11, 6)) == date(2027, 1, 11)  # before opening: the same day
    assert fechas(mx(2027, 1, 11, 18)) == (date(2027, 1, 12), date(2027, 1, 15), date(2027, 1, 18))
    # Friday after hours: Monday.
    assert fechas(mx(2027, 1, 15, 18, 30)) == (date(2027, 1, 18), date(2027, 1, 21), date(2027, 1, 22))


def test_the_moment_is_read_in_mexico_city_whatever_its_zone():
    # 00:30 UTC on Tuesday is 18:30 of Monday in Mexico City (UTC-6): after hours, counts on Tuesday.
    assert CAL.dia_del_aviso(datetime(2027, 1, 12, 0, 30, tzinfo=timezone.utc)) == date(2027, 1, 12)
    # 23:59 UTC on Monday is 17:59 in Mexico City: Monday.
    assert CAL.dia_del_aviso(datetime(2027, 1, 11, 23, 59, tzinfo=timezone.utc)) == date(2027, 1, 11)
    # Mexico City keeps no daylight saving time since 2022: UTC-6 in July too.
    assert CAL.dia_del_aviso(datetime(2027, 7, 5, 23, 59, tzinfo=timezone.utc)) == date(2027, 7, 5)
    assert CAL.dia_del_aviso(datetime(2027, 7, 6, 0, 0, tzinfo=timezone.utc)) == date(2027, 7, 6)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="zona horaria"):
        CAL.plazo(datetime(2027, 1, 11, 10))
    with pytest.raises(ValueError, match="zona horaria"):
        CAL.vencida(mx(2027, 1, 11, 10), datetime(2027, 1, 20))


def test_a_deposit_on_a_holiday_counts_from_the_next_dia_habil():
    # 16 Sep 2027 is a Thursday: counts on Friday 17; Mon 20 - Wed 22 to open; deemed Thursday 23.
    assert fechas(mx(2027, 9, 16, 10)) == (date(2027, 9, 17), date(2027, 9, 22), date(2027, 9, 23))
    # 5 May 2026 is a Tuesday.
    assert fechas(mx(2026, 5, 5, 8)) == (date(2026, 5, 6), date(2026, 5, 11), date(2026, 5, 12))


@pytest.mark.parametrize("enviado, esperado", [
    # 31 Jan 2027 is a Sunday and 1 Feb a holiday: counts on Tuesday 2 Feb.
    (mx(2027, 1, 31, 10), (date(2027, 2, 2), date(2027, 2, 5), date(2027, 2, 8))),
    # 28 Feb 2027 (not a leap year) is a Sunday.
    (mx(2027, 2, 28, 10), (date(2027, 3, 1), date(2027, 3, 4), date(2027, 3, 5))),
    (mx(2027, 2, 26, 10), (date(2027, 2, 26), date(2027, 3, 3), date(2027, 3, 4))),
    # 29 Feb 2028, a leap day (a Tuesday), beyond the calendar's years: only weekends are inhábiles there.
    (mx(2028, 2, 29, 10), (date(2028, 2, 29), date(2028, 3, 3), date(2028, 3, 6))),
    # 30 Apr 2026 (Thursday) after hours: 1 May (Friday) and 5 May (Tuesday) are inhábiles.
    (mx(2026, 4, 30, 18, 30), (date(2026, 5, 4), date(2026, 5, 8), date(2026, 5, 11))),
    # 30 Apr 2027 (Friday): 1 May is a Saturday anyway; 5 May (Wednesday) is skipped.
    (mx(2027, 4, 30, 10), (date(2027, 4, 30), date(2027, 5, 6), date(2027, 5, 7))),
    # 30 Sep 2027 (Thursday) into October.
    (mx(2027, 9, 30, 12), (date(2027, 9, 30), date(2027, 10, 5), date(2027, 10, 6))),
])
def test_month_ends(enviado, esperado):
    assert fechas(enviado) == esperado


@pytest.mark.parametrize("enviado, esperado", [
    # Christmas Eve 2026 after hours: 25 Dec (Friday), the weekend; 1 Jan 2027 (Friday) too.
    (mx(2026, 12, 24, 20), (date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 4))),
    (mx(2026, 12, 25, 10), (date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 4))),
    (mx(2026, 12, 31, 12), (date(2026, 12, 31), date(2027, 1, 6), date(2027, 1, 7))),
    (mx(2026, 12, 31, 18), (date(2027, 1, 4), date(2027, 1, 7), date(2027, 1, 8))),
    # Christmas 2027 is a Saturday: nothing to skip but the weekend.
    (mx(2027, 12, 24, 10), (date(2027, 12, 24), date(2027, 12, 29), date(2027, 12, 30))),
    (mx(2027, 12, 29, 10), (date(2027, 12, 29), date(2028, 1, 3), date(2028, 1, 4))),
])
def test_year_end(enviado, esperado):
    assert fechas(enviado) == esperado


def test_the_days_to_open_and_the_schedule_are_configurable():
    cinco = calendario(dias_para_abrir=5)
    assert fechas(mx(2027, 1, 11, 10), cinco) == (date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 19))
    uno = calendario(dias_para_abrir=1)
    assert fechas(mx(2027, 1, 11, 10), uno) == (date(2027, 1, 11), date(2027, 1, 12), date(2027, 1, 13))
    nueve_a_dos = calendario(horario="09:00-14:00")
    assert nueve_a_dos.dia_del_aviso(mx(2027, 1, 11, 14)) == date(2027, 1, 12)
    assert nueve_a_dos.momento_tacito(mx(2027, 1, 11, 10)) == mx(2027, 1, 15, 9)
    todo_el_dia = calendario(horario="00:00-24:00")
    assert todo_el_dia.dia_del_aviso(mx(2027, 1, 11, 23, 59, 59)) == date(2027, 1, 11)
    assert todo_el_dia.cierre(date(2027, 1, 11)) == mx(2027, 1, 12)
    assert todo_el_dia.momento_tacito(mx(2027, 1, 11, 10)) == mx(2027, 1, 15)


# --- the timer's predicate, with a clock that moves ---

def test_deemed_exactly_at_the_moment_with_a_movable_clock():
    enviado = mx(2027, 1, 29, 10)  # Friday before the long weekend of February
    momento = CAL.momento_tacito(enviado)
    assert momento == mx(2027, 2, 5, 7, 30)
    reloj = RelojFijo(enviado)
    reloj.avanzar(days=3)  # Monday 1 Feb, inhábil
    assert not CAL.vencida(enviado, reloj.ahora())
    reloj.avanzar(days=4, hours=-3, minutes=30, seconds=-1)  # Friday 5 Feb, 07:29:59
    assert reloj.ahora() == momento - timedelta(seconds=1)
    assert not CAL.vencida(enviado, reloj.ahora())
    reloj.avanzar(seconds=1)
    assert CAL.vencida(enviado, reloj.ahora())
    reloj.avanzar(days=30)
    assert CAL.vencida(enviado, reloj.ahora())
    # The same moment in UTC is the same answer.
    assert CAL.vencida(enviado, momento.astimezone(timezone.utc))
    assert not CAL.vencida(enviado, (momento - timedelta(microseconds=1)).astimezone(timezone.utc))


def test_the_limit_the_timer_queries_with():
    # Friday 15 Jan 2027 from 07:30: deemed are the avisos that count on Monday 11 or before.
    assert CAL.limite_de_avisos_vencidos(mx(2027, 1, 15, 7, 30)) == mx(2027, 1, 11, 18)
    assert CAL.vencida(mx(2027, 1, 11, 17, 59, 59), mx(2027, 1, 15, 7, 30))
    assert not CAL.vencida(mx(2027, 1, 11, 18), mx(2027, 1, 15, 7, 30))
    # A second earlier, Thursday's deemed day is the last one come: up to Friday 8's avisos.
    assert CAL.limite_de_avisos_vencidos(mx(2027, 1, 15, 7, 29, 59)) == mx(2027, 1, 8, 18)
    # Over the weekend nothing new is deemed.
    assert CAL.limite_de_avisos_vencidos(mx(2027, 1, 17, 12)) == mx(2027, 1, 11, 18)
    # Friday 5 Feb 2027: Monday 1 Feb is skipped going back too.
    assert CAL.limite_de_avisos_vencidos(mx(2027, 2, 5, 8)) == mx(2027, 1, 29, 18)


# --- properties ---

DESDE, HASTA = datetime(2025, 12, 1, tzinfo=timezone.utc), datetime(2028, 1, 31, tzinfo=timezone.utc)
momentos = st.datetimes(min_value=DESDE.replace(tzinfo=None), max_value=HASTA.replace(tzinfo=None),
                        timezones=st.just(timezone.utc))


@st.composite
def calendarios(draw):
    apertura = draw(st.integers(0, 23 * 60))
    cierre = draw(st.integers(apertura + 1, 24 * 60))
    horario = "{:02d}:{:02d}-{:02d}:{:02d}".format(*divmod(apertura, 60), *divmod(cierre, 60))
    return calendario(dias_para_abrir=draw(st.integers(1, 6)), horario=horario)


@settings(max_examples=300, deadline=None)
@given(enviado=momentos)
def test_property_the_deemed_day_is_a_dia_habil_after_the_aviso_and_within_two_weeks(enviado):
    p = CAL.plazo(enviado)
    assert CAL.es_habil(p.cuenta_desde) and CAL.es_habil(p.abrir_hasta) and CAL.es_habil(p.tacita_el)
    assert p.tacita_en > enviado and p.tacita_en.date() == p.tacita_el
    # With the official calendar no run of inhábiles is longer than a long weekend; the worst case is Thursday
    # 30 Apr 2026 after hours (deemed Monday 11 May).
    assert (p.tacita_el - enviado.astimezone(ZONA_MEXICO).date()).days <= 14
    # Exactly three días hábiles to open it, then the fourth.
    entre = [p.cuenta_desde + timedelta(days=d) for d in range(1, (p.tacita_el - p.cuenta_desde).days + 1)]
    assert [d for d in entre if CAL.es_habil(d)] == [CAL.habiles_despues(p.cuenta_desde, k) for k in range(1, 5)]
    assert p.tacita_el == entre[-1]


@settings(max_examples=300, deadline=None)
@given(cal=calendarios(), enviado=momentos, despues=momentos)
def test_property_deemed_dates_never_go_back(cal, enviado, despues):
    primero, segundo = sorted((enviado, despues))
    assert cal.momento_tacito(primero) <= cal.momento_tacito(segundo)


@settings(max_examples=500, deadline=None)
@given(cal=calendarios(), enviado=momentos, ahora=momentos)
def test_property_the_timers_limit_agrees_with_the_predicate(cal, enviado, ahora):
    assert cal.vencida(enviado, ahora) == (enviado < cal.limite_de_avisos_vencidos(ahora))


@settings(max_examples=300, deadline=None)
@given(cal=calendarios(), enviado=momentos)
def test_property_false_the_instant_before_true_at_the_moment(cal, enviado):
    momento = cal.momento_tacito(enviado)
    assert not cal.vencida(enviado, momento - timedelta(microseconds=1))
    assert cal.vencida(enviado, momento)
    assert cal.es_habil(cal.dia_tacito(enviado))
    assert cal.habiles_despues(cal.dia_del_aviso(enviado), cal.dias_para_abrir + 1) == cal.dia_tacito(enviado)


# --- the calendar file ---

def test_the_parser_reads_dates_descriptions_and_comments():
    texto = ("# Días inhábiles\n\n2027-01-01 Año Nuevo\n   # indented comment\n"
             "2027-02-01\tPrimer lunes de febrero  \n2027-03-15\n  2027-05-05   5 de mayo\n")
    assert dict(leer_dias_inhabiles(texto)) == {
        date(2027, 1, 1): "Año Nuevo", date(2027, 2, 1): "Primer lunes de febrero", date(2027, 3, 15): "",
        date(2027, 5, 5): "5 de mayo"}
    assert dict(leer_dias_inhabiles("")) == {} and dict(leer_dias_inhabiles("# nada\n\n")) == {}


@pytest.mark.parametrize("linea, mensaje", [
    ("2027-1-01 Año Nuevo", "línea 3: «2027-1-01» no es una fecha AAAA-MM-DD"),
    ("01/01/2027 Año Nuevo", "línea 3: «01/01/2027» no es una fecha AAAA-MM-DD"),
    ("Año Nuevo 2027-01-01", "línea 3: «Año» no es una fecha AAAA-MM-DD"),
    ("2027-02-30 Treinta de febrero", "línea 3: la fecha 2027-02-30 no existe"),
    ("2027-13-01 Mes trece", "línea 3: la fecha 2027-13-01 no existe"),
    ("2026-12-25 Navidad otra vez", "línea 3: la fecha 2026-12-25 ya está en la línea 2"),
])
def test_the_parser_names_the_line_of_a_bad_date(linea, mensaje):
    texto = f"# calendario\n2026-12-25 Navidad\n{linea}\n2027-01-01 Año Nuevo\n"
    with pytest.raises(CalendarioInvalido) as error:
        leer_dias_inhabiles(texto, "prueba.txt")
    assert str(error.value) == f"prueba.txt, {mensaje}"


def test_a_calendar_file_that_cant_be_read_is_named(tmp_path):
    with pytest.raises(CalendarioInvalido, match=r"BUZON_DIAS_INHABILES: no existe el archivo .*no-esta\.txt"):
        cargar_dias_inhabiles(tmp_path / "no-esta.txt")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("2027-01-01 Año Nuevo\n".encode("latin-1"))
    with pytest.raises(CalendarioInvalido, match="no está en UTF-8"):
        cargar_dias_inhabiles(latin1)
    with pytest.raises(CalendarioInvalido, match="no se puede leer"):
        cargar_dias_inhabiles(tmp_path)
    malo = tmp_path / "malo.txt"
    malo.write_text("2027-01-01 Año Nuevo\n2027-01-32 Nunca\n", encoding="utf-8")
    with pytest.raises(CalendarioInvalido, match=r"^BUZON_DIAS_INHABILES \(.*malo\.txt\), línea 2: la fecha"):
        cargar_dias_inhabiles(malo)


def test_the_shipped_file_holds_the_official_days_of_2026_and_2027():
    dias = cargar_dias_inhabiles(ARCHIVO_OFICIAL)
    assert set(dias) == oficiales(2026) | oficiales(2027)
    # By the rule's arithmetic, independently of `oficiales`: 2027's movable Mondays.
    assert {date(2027, 2, 1), date(2027, 3, 15), date(2027, 11, 15)} <= set(dias)
    assert {date(2026, 2, 2), date(2026, 3, 16), date(2026, 11, 16), date(2026, 12, 25)} <= set(dias)
    assert all(dias.values()), "every shipped date has its description"
    cabecera = ARCHIVO_OFICIAL.read_text(encoding="utf-8")
    assert "artículo 12" in cabecera and "artículo 74" in cabecera and "2030" in cabecera


# --- schedule, days to open and the environment ---

def test_the_schedule_is_parsed():
    assert Horario.desde_texto("07:30-18:00") == Horario(7 * 60 + 30, 18 * 60)
    assert Horario.desde_texto(" 9:00 - 14:30 ") == Horario(9 * 60, 14 * 60 + 30)
    assert Horario.desde_texto("00:00-24:00") == Horario(0, 24 * 60)
    assert str(Horario.desde_texto("9:05-18:00")) == "09:05-18:00"


@pytest.mark.parametrize("texto", ["18:00-07:30", "09:00-09:00", "7-18", "25:00-26:00", "09:60-10:00",
                                   "24:00-24:00", "09:00-24:30", "", "de 9 a 6"])
def test_a_bad_schedule_is_refused(texto):
    with pytest.raises(CalendarioInvalido, match="BUZON_HORARIO_HABIL debe ser «HH:MM-HH:MM»"):
        Horario.desde_texto(texto)


@pytest.mark.parametrize("valor", [0, -1, True, 2.5, "3"])
def test_the_days_to_open_must_be_a_whole_number_from_one(valor):
    with pytest.raises(CalendarioInvalido, match="BUZON_DIAS_HABILES_PARA_ABRIR"):
        Calendario(dias_para_abrir=valor)


def test_the_defaults_come_from_the_shipped_file():
    cal = desde_entorno({})
    assert set(cal.inhabiles) == oficiales(2026) | oficiales(2027)
    assert cal.horario == Horario(7 * 60 + 30, 18 * 60) and cal.dias_para_abrir == 3
    assert cal.plazo(mx(2027, 1, 29, 10)) == CAL.plazo(mx(2027, 1, 29, 10))
    assert desde_entorno({"BUZON_DIAS_INHABILES": " ", "BUZON_HORARIO_HABIL": ""}) == cal


def test_the_environment_overrides_each_setting(tmp_path):
    archivo = tmp_path / "inhabiles.txt"
    archivo.write_text("# el Instituto declara su semana santa\n2027-03-25 Jueves santo\n2027-03-26 Viernes santo\n",
                       encoding="utf-8")
    cal = desde_entorno({"BUZON_DIAS_INHABILES": str(archivo), "BUZON_HORARIO_HABIL": "09:00-15:00",
                         "BUZON_DIAS_HABILES_PARA_ABRIR": "5"})
    assert set(cal.inhabiles) == {date(2027, 3, 25), date(2027, 3, 26)}
    assert cal.horario == Horario(9 * 60, 15 * 60) and cal.dias_para_abrir == 5
    # Tuesday 23 Mar 15:00 (closing): counts Wed 24; Thu 25 and Fri 26 skipped; 5 to open: 29 Mar - 2 Apr.
    p = cal.plazo(mx(2027, 3, 23, 15))
    assert (p.cuenta_desde, p.abrir_hasta, p.tacita_en) == (date(2027, 3, 24), date(2027, 4, 2), mx(2027, 4, 5, 9))


@pytest.mark.parametrize("entorno, mensaje", [
    ({"BUZON_DIAS_HABILES_PARA_ABRIR": "tres"}, "BUZON_DIAS_HABILES_PARA_ABRIR debe ser un número entero"),
    ({"BUZON_DIAS_HABILES_PARA_ABRIR": "0"}, "BUZON_DIAS_HABILES_PARA_ABRIR debe ser un número entero de 1 o más"),
    ({"BUZON_HORARIO_HABIL": "18-9"}, "BUZON_HORARIO_HABIL debe ser"),
    ({"BUZON_DIAS_INHABILES": "/no/existe.txt"}, "BUZON_DIAS_INHABILES: no existe el archivo /no/existe.txt"),
])
def test_a_bad_environment_is_refused_naming_the_variable(entorno, mensaje):
    with pytest.raises(CalendarioInvalido, match=mensaje):
        desde_entorno(entorno)
