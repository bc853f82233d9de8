"""The voltage qualification rate (电压合格率) per transformer point: the share of supply time
its voltage stays within 198–235.4 V (GB/T 12325-2008).

Readings arrive at a fixed interval, so each reading stands for one interval of time and the
share of time is the share of readings. Readings below 132 V (60 % Un, the outage and
phase-loss rule) are outage time, not supply time: they leave the denominator, as 电压合格率
statistics exclude outages, and are reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.catalog import Kind
from services.trends.query import TrendQuery
from services.trends.scope import batches, sensors_in
from services.trends.shares import Share, count_in_bands
from services.trends.standards import standards
from services.trends.store import TrendStore


@dataclass(frozen=True, slots=True)
class VoltageQualification:
    sensor: str
    asset: str
    qualified: Share  # readings within 198–235.4 V of readings with supply
    outage_readings: int


async def voltage_qualification(store: TrendStore, q: TrendQuery) -> list[VoltageQualification]:
    """Per transformer point of the query's scope; at most `shares.MAX_DAYS` per request."""
    ref = standards()
    points = sensors_in(store.history, Kind.POWER, q)
    total, supplied, ok = await count_in_bands(
        store,
        Kind.POWER.value,
        "voltage",
        batches(points),
        [(None, None), (ref.outage_below_v, None), ref.voltage_qualified],
        q,
    )
    return [
        VoltageQualification(
            p.id, p.asset, Share(ok[p.id], supplied[p.id]), total[p.id] - supplied[p.id]
        )
        for p in points
        if total[p.id]
    ]
