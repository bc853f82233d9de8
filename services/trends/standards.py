"""The standards' tables officers report against (domain.md §2), read from the one place the
hub keeps limits: the shipped default rules, services/rules/defaults.yaml, where every number
stands beside its source and provenance.

- Black-and-odorous grade: 城市黑臭水体整治工作指南 (MOHURD/MEE, 2015), table 1, is rule
  `pond.black_odorous`: its warning levels are the light boundaries, its critical levels the
  heavy ones; a pond takes the worst grade of its indicators.
- Voltage qualification (电压合格率): GB/T 12325-2008, 220 V supply +7 % / −10 % (198–235.4 V),
  is `power.voltage`'s critical band; supply needs at least `power.outage`'s 60 % Un.
- Free chlorine: GB 5749-2022 at the tap (0.05–2 mg/L) is the critical pair of
  `water.chlorine_low` / `water.chlorine_high`; `water.chlorine_low`'s warning (0.1 mg/L) is the
  hub's early-warning line.
- Sewer episodes: overflow and surcharge as `sewer.overflow` and `sewer.surcharge` define them
  (engineering practice).
- Minimum night flow: `water.night_leak`'s night window (02:00–05:00 site-local).
- Surface water class: GB 3838-2002 表1, classes I–V and 劣V, below. No rule holds the whole
  table; the two thresholds that quote it (`pond.low_oxygen` warning = class IV DO,
  `pond.ammonia` warning = class V NH3-N) are checked against it by the tests.

Read from the **shipped defaults**, never a site's overrides: compliance is reported against
the national numbers whatever a site tunes its alerts to. The levels are the rule book's own
objects and are compared with the rule engine's own `Limit`, so a grade boundary and the rule
that tickets it cannot disagree. A level the trends name after a standard must carry
provenance S, else loading fails: a default that stops being a national limit cannot quietly
become the compliance reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Literal, TypeVar

from services.rules import RuleBook, load_rules
from services.rules.latch import Limit
from services.rules.spec import GradeRule, Indicator, Level, NightLeakRule, ThresholdRule

Grade = Literal["none", "light", "heavy"]
"""Black-and-odorous grade: 非黑臭 / 轻度黑臭 / 重度黑臭."""

GRADE_ORDER: dict[Grade, int] = {"none": 0, "light": 1, "heavy": 2}
GRADE_LABELS: dict[Grade, tuple[str, str]] = {
    "none": ("非黑臭", "not black-odorous"),
    "light": ("轻度黑臭", "lightly black-odorous"),
    "heavy": ("重度黑臭", "heavily black-odorous"),
}
BLACK_ODOROUS_METRICS = ("transparency", "do", "orp", "nh3n")
"""The guide's four indicators, keyed by the pond metric names of domain/catalog.py."""


@dataclass(frozen=True, slots=True)
class GradeLimits:
    """One indicator of the 2015 guide, as the rule book's `pond.black_odorous` states it:
    `light` is its warning level, `heavy` its critical one, compared as the rule engine
    compares them. Boundary values belong to the better grade, as the guide writes them and
    the rule's operators say (DO < 2.0 is light, < 0.2 heavy; NH3-N > 8.0 light, > 15 heavy)."""

    indicator: Indicator
    _light: Limit
    _heavy: Limit

    @classmethod
    def of(cls, indicator: Indicator) -> GradeLimits:
        return cls(indicator, Limit(indicator.warning, None), Limit(indicator.critical, None))

    @property
    def light(self) -> float:
        return _value(self.indicator.warning)

    @property
    def heavy(self) -> float:
        return _value(self.indicator.critical)

    def grade(self, value: float) -> Grade:
        if self._heavy.violated(value):
            return "heavy"
        return "light" if self._light.violated(value) else "none"


@dataclass(frozen=True, slots=True)
class EventRule:
    """An episode on a sewer metric: while the rule's `level` is violated."""

    metric: str
    level: Level
    _limit: Limit

    @classmethod
    def of(cls, metric: str, level: Level) -> EventRule:
        return cls(metric, level, Limit(level, None))

    @property
    def limit(self) -> float:
        return _value(self.level)

    @property
    def below(self) -> bool:
        return self.level.direction() == "below"

    def holds(self, value: float) -> bool:
        return self._limit.violated(value)


@dataclass(frozen=True, slots=True)
class Standards:
    """The reference limits, taken from a rule book (`standards()`: the shipped defaults)."""

    black_odorous: dict[str, GradeLimits]
    voltage_qualified: tuple[float, float]
    outage_below_v: float
    chlorine_compliant: tuple[float, float]
    chlorine_warning_min: float
    sewer_events: dict[str, EventRule]
    night_window_hours: tuple[int, int]

    @classmethod
    def of(cls, book: RuleBook) -> Standards:
        """Read from `book`'s site-wide rules; ValueError if one is missing or reshaped."""
        grade = _rule(book, "pond.black_odorous", GradeRule)
        voltage = _levels(book, "power.voltage")
        outage = _levels(book, "power.outage")
        cl_low, cl_high = _levels(book, "water.chlorine_low"), _levels(book, "water.chlorine_high")
        overflow, surcharge = _levels(book, "sewer.overflow"), _levels(book, "sewer.surcharge")
        night = _rule(book, "water.night_leak", NightLeakRule)
        for m in BLACK_ODOROUS_METRICS:
            ind = grade.indicators.get(m)
            if ind is None:
                raise ValueError(f"pond.black_odorous has no {m} indicator")
            _standard(ind.warning, f"pond.black_odorous {m}")
            _standard(ind.critical, f"pond.black_odorous {m}")
        return cls(
            black_odorous={m: GradeLimits.of(grade.indicators[m]) for m in BLACK_ODOROUS_METRICS},
            voltage_qualified=_band(_standard(voltage.critical, "power.voltage")),
            outage_below_v=_value(_standard(outage.critical, "power.outage"), "<"),
            chlorine_compliant=(
                _value(_standard(cl_low.critical, "water.chlorine_low"), "<"),
                _value(_standard(cl_high.critical, "water.chlorine_high"), ">"),
            ),
            chlorine_warning_min=_value(_present(cl_low.warning, "water.chlorine_low"), "<"),
            sewer_events={
                "overflow": EventRule.of(overflow.metric, _present(overflow.critical, "overflow")),
                "overflow_warning": EventRule.of(
                    overflow.metric, _present(overflow.warning, "overflow")
                ),
                "surcharge": EventRule.of(
                    surcharge.metric, _present(surcharge.critical, "surcharge")
                ),
                "surcharge_warning": EventRule.of(
                    surcharge.metric, _present(surcharge.warning, "surcharge")
                ),
            },
            night_window_hours=(_hour(night.night_start), _hour(night.night_end)),
        )


@cache
def standards() -> Standards:
    """The reference limits of the shipped default rules (read once per process)."""
    return Standards.of(load_rules())


R = TypeVar("R")


def _rule(book: RuleBook, rule_id: str, kind: type[R]) -> R:
    rule = book.site.get(rule_id)
    if not isinstance(rule, kind):
        raise ValueError(f"the default rules have no {kind.__name__} {rule_id}")
    return rule


def _levels(book: RuleBook, rule_id: str) -> ThresholdRule:
    return _rule(book, rule_id, ThresholdRule)


def _present(level: Level | None, where: str) -> Level:
    if level is None:
        raise ValueError(f"{where}: the default rule lost a level the trends read")
    return level


def _standard(level: Level | None, where: str) -> Level:
    lv = _present(level, where)
    if lv.provenance != "S":
        raise ValueError(f"{where}: provenance {lv.provenance}, not a standard's limit (S)")
    return lv


def _value(level: Level, op: str | None = None) -> float:
    """A single-value level's limit; with `op`, only if it compares that way (a `<` limit
    leaves values >= it healthy, so the trends' inclusive bands keep the rule's boundary)."""
    if level.value is None or (op is not None and level.op != op):
        raise ValueError(f"expected a single {op or 'value'} limit, got {level.op}")
    return level.value


def _band(level: Level) -> tuple[float, float]:
    """The inclusive band `outside` leaves healthy (`v < low or v > high` violates it)."""
    if level.op != "outside" or level.band is None:
        raise ValueError(f"expected an 'outside' band, got {level.op}")
    return level.band


def _hour(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    if minute != "00":
        raise ValueError(f"the night window must start and end on the hour, not {hhmm}")
    return int(hour)


def black_odorous_grade(values: dict[str, float | None]) -> Grade | None:
    """The worst grade over the indicators present; None when none of them was measured."""
    table = standards().black_odorous
    grades = [
        table[m].grade(v)
        for m, v in values.items()
        if m in table and v is not None and math.isfinite(v)
    ]
    if not grades:
        return None
    return max(grades, key=GRADE_ORDER.__getitem__)


class WaterClass(IntEnum):
    """GB 3838-2002 classes; 6 is 劣V (worse than class V)."""

    I = 1  # noqa: E741 - the standard's own name for the class
    II = 2
    III = 3
    IV = 4
    V = 5
    WORSE_THAN_V = 6

    @property
    def label(self) -> str:
        return "劣V" if self is WaterClass.WORSE_THAN_V else self.name


GB3838_DO_MIN = (7.5, 6.0, 5.0, 3.0, 2.0)
"""DO ≥ limit (mg/L) for classes I..V (GB 3838-2002 表1; class I is '饱和率90%或7.5')."""
GB3838_NH3N_MAX = (0.15, 0.5, 1.0, 1.5, 2.0)
"""NH3-N ≤ limit (mg/L) for classes I..V."""
CLASS_METRICS = ("do", "nh3n")
"""What the class is judged on here; TP (lakes ≤ 0.01/0.025/0.05/0.1/0.2) is not measured."""


def water_class(do: float | None, nh3n: float | None) -> WaterClass | None:
    """The class by the worst of DO and NH3-N; None when neither was measured."""
    classes: list[int] = []
    if do is not None and math.isfinite(do):
        classes.append(next((i + 1 for i, lim in enumerate(GB3838_DO_MIN) if do >= lim), 6))
    if nh3n is not None and math.isfinite(nh3n):
        classes.append(next((i + 1 for i, lim in enumerate(GB3838_NH3N_MAX) if nh3n <= lim), 6))
    return WaterClass(max(classes)) if classes else None
