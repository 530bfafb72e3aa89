"""Días hábiles and the date a notification is deemed notified (notificación tácita). Plain functions, no clock.

The rule (DOMINIO.md, "Deemed notified" and "Días hábiles"; the Buzón Tributario's rule of the Código Fiscal de la
Federación, art. 134 fr. I, which the Ley del Seguro Social applies supletoriamente):

- **Días hábiles.** Every day except Saturdays, Sundays and the días inhábiles of the calendar (a file,
  `BUZON_DIAS_INHABILES`; by default `dias_inhabiles.txt` next to this module: CFF art. 12). Days are Mexico City
  days (CFF art. 13: the Buzón Tributario keeps the Zona Centro's time).
- **The day an aviso counts on.** An aviso sent on a día hábil before the schedule's closing
  (`BUZON_HORARIO_HABIL`, default 07:30-18:00, the horas hábiles of CFF art. 13) counts on that day, also before the
  opening (07:00 counts that day). One sent at or after the closing (18:00:00 exactly included), or on a día
  inhábil, counts on the next día hábil, as if sent at its opening.
- **To open it.** The person has the `BUZON_DIAS_HABILES_PARA_ABRIR` (N, default 3) días hábiles that follow that
  day, whole (until midnight of the N-th).
- **Deemed notified.** If not opened by then, it is deemed notified on the following día hábil, the (N+1)-th after
  the day the aviso counts on (with N = 3: "the 4th día hábil counted from the day after the aviso was sent"). The
  timer may act from that day's opening (07:30 Mexico City by default); that moment is `momento_tacito`.

Examples with the shipped calendar and the defaults (2027; 1 Feb is a Monday holiday):
- Aviso Monday 11 Jan 10:00: counts on Monday 11; open on Tue 12, Wed 13, Thu 14; deemed Friday 15 Jan, 07:30.
- Aviso Monday 11 Jan 18:00 (the closing): counts on Tue 12; open Wed 13 – Fri 15; deemed Monday 18 Jan.
- Aviso Friday 29 Jan 10:00: counts on Friday 29; open Tue 2 – Thu 4 Feb (Monday 1 is inhábil); deemed Friday 5 Feb.
- Aviso Thursday 24 Dec 2026 20:00: counts on Monday 28 Dec (25 Dec is inhábil); open Tue 29 – Thu 31; Friday
  1 Jan 2027 is inhábil, so deemed Monday 4 Jan 2027.

Deemed dates never go back: a later aviso is never deemed before an earlier one, so the avisos deemed by a moment
are exactly those sent before `limite_de_avisos_vencidos(ahora)` (what the timer asks the database for).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType

from buzon_comun.reloj import ZONA_MEXICO

ARCHIVO_OFICIAL = Path(__file__).with_name("dias_inhabiles.txt")
HORARIO_POR_OMISION = "07:30-18:00"
DIAS_PARA_ABRIR_POR_OMISION = 3

VARIABLE_CALENDARIO = "BUZON_DIAS_INHABILES"
VARIABLE_HORARIO = "BUZON_HORARIO_HABIL"
VARIABLE_DIAS_PARA_ABRIR = "BUZON_DIAS_HABILES_PARA_ABRIR"

_FECHA = re.compile(r"\d{4}-\d{2}-\d{2}")
_HORARIO = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_UN_DIA = timedelta(days=1)


class CalendarioInvalido(ValueError):
    """A calendar file, schedule or number of days that can't be used; the message (Spanish) says where and why."""


def leer_dias_inhabiles(texto: str, origen: str = VARIABLE_CALENDARIO) -> Mapping[date, str]:
    """The días inhábiles of a calendar's text: one `AAAA-MM-DD descripción` a line (the description optional),
    blank lines and lines starting with # ignored. A bad, impossible or repeated date names its line."""
    dias: dict[date, str] = {}
    lineas: dict[date, int] = {}
    for numero, linea in enumerate(texto.splitlines(), start=1):
        linea = linea.strip()
        if not linea or linea.startswith("#"):
            continue
        ficha, *descripcion = linea.split(None, 1)
        if not _FECHA.fullmatch(ficha):
            raise CalendarioInvalido(f"{origen}, línea {numero}: «{ficha}» no es una fecha AAAA-MM-DD")
        try:
            dia = date.fromisoformat(ficha)
        except ValueError:
            raise CalendarioInvalido(f"{origen}, línea {numero}: la fecha {ficha} no existe") from None
        if dia in dias:
            raise CalendarioInvalido(f"{origen}, línea {numero}: la fecha {ficha} ya está en la línea {lineas[dia]}")
        dias[dia], lineas[dia] = " ".join(descripcion).strip(), numero
    return MappingProxyType(dias)


def cargar_dias_inhabiles(ruta: Path, origen: str = VARIABLE_CALENDARIO) -> Mapping[date, str]:
    """The días inhábiles of a calendar file (UTF-8); an unreadable file is a CalendarioInvalido naming it."""
    try:
        texto = Path(ruta).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalendarioInvalido(f"{origen}: no existe el archivo {ruta}") from None
    except UnicodeDecodeError:
        raise CalendarioInvalido(f"{origen}: el archivo {ruta} no está en UTF-8") from None
    except OSError as error:
        raise CalendarioInvalido(f"{origen}: no se puede leer {ruta} ({error.strerror or error})") from None
    return leer_dias_inhabiles(texto, f"{origen} ({ruta})")


@dataclass(frozen=True)
class Horario:
    """The working schedule of a día hábil, Mexico City time, in minutes since midnight (closing up to 24:00)."""

    apertura: int
    cierre: int

    def __post_init__(self):
        if not 0 <= self.apertura < self.cierre <= 24 * 60:
            raise CalendarioInvalido(f"{VARIABLE_HORARIO}: la apertura debe ser antes del cierre, dentro del día")

    @classmethod
    def desde_texto(cls, texto: str, origen: str = VARIABLE_HORARIO) -> Horario:
        """`HH:MM-HH:MM`, e.g. `07:30-18:00`; the closing may be `24:00` (then no aviso counts on the next day)."""
        encontrado = _HORARIO.fullmatch(texto.strip())
        error = CalendarioInvalido(f"{origen} debe ser «HH:MM-HH:MM» (apertura y cierre, hora de la Ciudad de "
                                   f"México, la apertura antes del cierre), no {texto!r}")
        if not encontrado:
            raise error
        h1, m1, h2, m2 = (int(parte) for parte in encontrado.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise error
        apertura, cierre = h1 * 60 + m1, h2 * 60 + m2
        if apertura >= cierre:
            raise error
        return cls(apertura, cierre)

    def __str__(self) -> str:
        return "{:02d}:{:02d}-{:02d}:{:02d}".format(*divmod(self.apertura, 60), *divmod(self.cierre, 60))


@dataclass(frozen=True)
class Plazo:
    """A notification's dates, from when its aviso was sent (Mexico City days; see the module's rule)."""

    cuenta_desde: date  # the día hábil the aviso counts on
    abrir_hasta: date  # the last día hábil to open it (whole day)
    tacita_el: date  # the día hábil it is deemed notified on
    tacita_en: datetime  # the moment the timer may deem it: that day's opening, Mexico City


def _en_mexico(momento: datetime, nombre: str) -> datetime:
    if momento.tzinfo is None or momento.utcoffset() is None:
        raise ValueError(f"{nombre} necesita una fecha con zona horaria")
    return momento.astimezone(ZONA_MEXICO)


@dataclass(frozen=True)
class Calendario:
    """Which days are hábiles (weekdays not in `inhabiles`), the schedule, and the días hábiles to open."""

    inhabiles: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}))
    horario: Horario = field(default_factory=lambda: Horario.desde_texto(HORARIO_POR_OMISION))
    dias_para_abrir: int = DIAS_PARA_ABRIR_POR_OMISION

    def __post_init__(self):
        if isinstance(self.dias_para_abrir, bool) or not isinstance(self.dias_para_abrir, int) \
                or self.dias_para_abrir < 1:
            raise CalendarioInvalido(f"{VARIABLE_DIAS_PARA_ABRIR} debe ser un número entero de 1 o más, "
                                     f"no {self.dias_para_abrir!r}")

    # --- days ---

    def es_habil(self, dia: date) -> bool:
        return dia.weekday() < 5 and dia not in self.inhabiles

    def siguiente_habil(self, dia: date) -> date:
        """The first día hábil after `dia` (never `dia` itself)."""
        dia += _UN_DIA
        while not self.es_habil(dia):
            dia += _UN_DIA
        return dia

    def anterior_habil(self, dia: date) -> date:
        """The last día hábil before `dia` (never `dia` itself)."""
        dia -= _UN_DIA
        while not self.es_habil(dia):
            dia -= _UN_DIA
        return dia

    def habiles_despues(self, dia: date, cuantos: int) -> date:
        """The `cuantos`-th día hábil after `dia` (1: the next one)."""
        for _ in range(cuantos):
            dia = self.siguiente_habil(dia)
        return dia

    def apertura(self, dia: date) -> datetime:
        """When `dia`'s schedule opens, Mexico City time."""
        return datetime.combine(dia, time(), ZONA_MEXICO) + timedelta(minutes=self.horario.apertura)

    def cierre(self, dia: date) -> datetime:
        """When `dia`'s schedule closes, Mexico City time (24:00 is the next midnight)."""
        return datetime.combine(dia, time(), ZONA_MEXICO) + timedelta(minutes=self.horario.cierre)

    @property
    def anios(self) -> frozenset[int]:
        """The years the calendar lists some día inhábil of: outside them only weekends are inhábiles."""
        return frozenset(dia.year for dia in self.inhabiles)

    def cubre(self, dia: date) -> bool:
        return dia.year in self.anios

    # --- the notification's dates ---

    def dia_del_aviso(self, enviado_en: datetime) -> date:
        """The día hábil an aviso sent at `enviado_en` counts on: its own day if hábil and before the closing,
        else the next día hábil."""
        local = _en_mexico(enviado_en, "el momento del aviso")
        dia = local.date()
        if self.es_habil(dia) and local < self.cierre(dia):
            return dia
        return self.siguiente_habil(dia)

    def plazo(self, enviado_en: datetime) -> Plazo:
        """Every date of the rule for an aviso sent at `enviado_en` (an aware datetime)."""
        desde = self.dia_del_aviso(enviado_en)
        hasta = self.habiles_despues(desde, self.dias_para_abrir)
        tacita = self.siguiente_habil(hasta)
        return Plazo(cuenta_desde=desde, abrir_hasta=hasta, tacita_el=tacita, tacita_en=self.apertura(tacita))

    def dia_tacito(self, enviado_en: datetime) -> date:
        """The día hábil a notification whose aviso was sent at `enviado_en` is deemed notified on, if unopened."""
        return self.plazo(enviado_en).tacita_el

    def momento_tacito(self, enviado_en: datetime) -> datetime:
        """From when the timer may deem it notified: the opening of `dia_tacito`, Mexico City time."""
        return self.plazo(enviado_en).tacita_en

    def vencida(self, enviado_en: datetime, ahora: datetime) -> bool:
        """Is an unopened notification whose aviso was sent at `enviado_en` deemed notified by `ahora`?"""
        return _en_mexico(ahora, "ahora") >= self.momento_tacito(enviado_en)

    def limite_de_avisos_vencidos(self, ahora: datetime) -> datetime:
        """The moment L such that an unopened notification is deemed by `ahora` exactly when its aviso was sent
        before L (`vencida(t, ahora) == (t < L)`): the timer's query is `aviso_enviado_en < L`.

        The latest día hábil whose opening has come is the latest deemed day; the avisos deemed by then are those
        that count on a día hábil N+1 días hábiles earlier, or before, i.e. the ones sent before that day's closing.
        """
        local = _en_mexico(ahora, "ahora")
        dia = local.date()
        if not (self.es_habil(dia) and local >= self.apertura(dia)):
            dia = self.anterior_habil(dia)
        for _ in range(self.dias_para_abrir + 1):
            dia = self.anterior_habil(dia)
        return self.cierre(dia)


def _entero(entorno: Mapping[str, str], nombre: str, defecto: int) -> int:
    texto = (entorno.get(nombre) or "").strip()
    if not texto:
        return defecto
    try:
        return int(texto)
    except ValueError:
        raise CalendarioInvalido(f"{nombre} debe ser un número entero de 1 o más, no {texto!r}") from None


def desde_entorno(entorno: Mapping[str, str]) -> Calendario:
    """The calendar the configuration names: `BUZON_DIAS_INHABILES` (a file; unset: the shipped official one),
    `BUZON_HORARIO_HABIL` (default 07:30-18:00) and `BUZON_DIAS_HABILES_PARA_ABRIR` (default 3). Read once at start;
    any mistake is a CalendarioInvalido that names the variable (and the line, for the file)."""
    ruta = (entorno.get(VARIABLE_CALENDARIO) or "").strip()
    horario = (entorno.get(VARIABLE_HORARIO) or "").strip() or HORARIO_POR_OMISION
    return Calendario(
        inhabiles=cargar_dias_inhabiles(Path(ruta) if ruta else ARCHIVO_OFICIAL),
        horario=Horario.desde_texto(horario),
        dias_para_abrir=_entero(entorno, VARIABLE_DIAS_PARA_ABRIR, DIAS_PARA_ABRIR_POR_OMISION),
    )
