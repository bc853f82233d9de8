"""Pond grade calendars (the black-and-odorous grade of each pond on each day) and days per
GB 3838 class (by DO and NH3-N; TP is not measured)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from domain.catalog import Kind
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.retention import Layout
from services.trends.daily import daily_means
from services.trends.ponds import POND_METRICS, PondDay, grade_days
from services.trends.scope import sensors_in
from services.trends.standards import Grade, WaterClass


@dataclass(frozen=True, slots=True)
class PondCalendar:
    sensor: str
    asset: str
    days: list[PondDay]

    def grade_counts(self) -> dict[Grade, int]:
        return dict(Counter(d.grade for d in self.days if d.grade is not None))

    def class_counts(self) -> dict[WaterClass, int]:
        return dict(Counter(d.water_class for d in self.days if d.water_class is not None))


async def pond_calendars(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
) -> list[PondCalendar]:
    ponds = sensors_in(registry, Kind.POND, community)
    means = await daily_means(
        influx,
        layout,
        Kind.POND.value,
        POND_METRICS,
        [p.id for p in ponds],
        start_ns,
        stop_ns,
        registry.site.timezone,
        now_ns,
    )
    return [PondCalendar(p.id, p.asset, grade_days(means.get(p.id, {}))) for p in ponds]
