"""Pond grade calendars (the black-and-odorous grade of each pond on each day) and days per
GB 3838 class (by DO and NH3-N; TP is not measured)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from domain.catalog import Kind
from services.trends.daily import daily_means
from services.trends.ponds import POND_METRICS, PondDay, grade_days
from services.trends.query import TrendQuery
from services.trends.scope import batches, sensors_in
from services.trends.standards import Grade, WaterClass
from services.trends.store import TrendStore


@dataclass(frozen=True, slots=True)
class PondCalendar:
    sensor: str
    asset: str
    days: list[PondDay]

    def grade_counts(self) -> dict[Grade, int]:
        return dict(Counter(d.grade for d in self.days if d.grade is not None))

    def class_counts(self) -> dict[WaterClass, int]:
        return dict(Counter(d.water_class for d in self.days if d.water_class is not None))


async def pond_calendars(store: TrendStore, q: TrendQuery) -> list[PondCalendar]:
    ponds = sensors_in(store.history, Kind.POND, q)
    means = await daily_means(store, Kind.POND.value, POND_METRICS, batches(ponds), q)
    return [PondCalendar(p.id, p.asset, grade_days(means.get(p.id, {}))) for p in ponds]
