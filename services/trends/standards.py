"""The standards' tables officers report against, in one place (domain.md §2).

- Black-and-odorous grade: 城市黑臭水体整治工作指南 (MOHURD/MEE, 2015), table 1. Each
  indicator is graded, the water body takes the worst grade.
- Surface water class: GB 3838-2002 表1, classes I–V and 劣V ("worse than V"), by the worst of
  its indicators. TP is NOT measured by GridWatch's pond sensors, so the class here is judged on
  DO and NH3-N only: it can be better than a lab's full assessment would give, never worse.
- Voltage qualification (电压合格率): GB/T 12325-2008, 220 V single-phase supply within
  +7 % / −10 %, i.e. 198–235.4 V.
- Free chlorine: GB 5749-2022, at the tap ≥ 0.05 mg/L and ≤ 2 mg/L; 0.1 mg/L is the hub's
  early-warning line (domain.md §2, rule water.chlorine_low).
- Sewer: surcharge when fill ≥ 1.0 (pipe full; warning above 0.9), overflow when freeboard
  < 0.2 m (warning below 0.5 m): engineering practice, same numbers as the default rules.
- Minimum night flow: the 02:00–05:00 site-local window (district-metered-area practice).

Kept apart from the rule engine's configurable thresholds on purpose: these are the fixed
reference tables that compliance is reported against, whatever a site tunes its alerts to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

Grade = Literal["none", "light", "heavy"]
"""Black-and-odorous grade: 非黑臭 / 轻度黑臭 / 重度黑臭."""

GRADE_ORDER: dict[Grade, int] = {"none": 0, "light": 1, "heavy": 2}
GRADE_LABELS: dict[Grade, tuple[str, str]] = {
    "none": ("非黑臭", "not black-odorous"),
    "light": ("轻度黑臭", "lightly black-odorous"),
    "heavy": ("重度黑臭", "heavily black-odorous"),
}


@dataclass(frozen=True, slots=True)
class GradeLimits:
    """One indicator of the 2015 guide: `light` and `heavy` are the boundaries; `higher_is_worse`
    says which side is bad. Boundary values belong to the better grade, as the guide writes
    them (DO 0.2–2.0 is light, ≥ 2.0 none, < 0.2 heavy; NH3-N ≤ 8.0 none, > 15 heavy)."""

    light: float
    heavy: float
    higher_is_worse: bool

    def grade(self, value: float) -> Grade:
        if self.higher_is_worse:
            if value > self.heavy:
                return "heavy"
            return "light" if value > self.light else "none"
        if value < self.heavy:
            return "heavy"
        return "light" if value < self.light else "none"


BLACK_ODOROUS: dict[str, GradeLimits] = {
    "transparency": GradeLimits(light=25.0, heavy=10.0, higher_is_worse=False),  # cm
    "do": GradeLimits(light=2.0, heavy=0.2, higher_is_worse=False),  # mg/L
    "orp": GradeLimits(light=50.0, heavy=-200.0, higher_is_worse=False),  # mV
    "nh3n": GradeLimits(light=8.0, heavy=15.0, higher_is_worse=True),  # mg/L
}
"""The guide's four indicators, keyed by the pond metric names of domain/catalog.py."""


def black_odorous_grade(values: dict[str, float | None]) -> Grade | None:
    """The worst grade over the indicators present; None when none of them was measured."""
    grades = [
        BLACK_ODOROUS[m].grade(v)
        for m, v in values.items()
        if m in BLACK_ODOROUS and v is not None and math.isfinite(v)
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


VOLTAGE_QUALIFIED = (198.0, 235.4)
"""GB/T 12325-2008: 220 V supply +7 % / −10 %; inclusive at both ends."""

CHLORINE_COMPLIANT = (0.05, 2.0)
"""GB 5749-2022 free chlorine at the tap, mg/L, inclusive."""
CHLORINE_WARNING_MIN = 0.1
"""The hub's early-warning line for free chlorine, mg/L (readings ≥ this are 'comfortable')."""


@dataclass(frozen=True, slots=True)
class EventRule:
    """An episode on a sewer metric: the metric crosses `limit` (below it when `below`)."""

    metric: str
    limit: float
    below: bool

    def holds(self, value: float) -> bool:
        return value < self.limit if self.below else value >= self.limit


SEWER_EVENTS: dict[str, EventRule] = {
    "overflow": EventRule("freeboard", 0.2, below=True),
    "overflow_warning": EventRule("freeboard", 0.5, below=True),
    "surcharge": EventRule("fill", 1.0, below=False),
    "surcharge_warning": EventRule("fill", 0.9, below=False),
}
"""Overflow: freeboard < 0.2 m (warning < 0.5 m); surcharge: fill ≥ 1.0 (warning ≥ 0.9)."""

NIGHT_WINDOW_HOURS = (2, 5)
"""Minimum night flow is the lowest flow from 02:00 up to 05:00 site-local time."""
