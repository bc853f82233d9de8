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
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.retention import Layout
from services.trends.scope import sensors_in
from services.trends.shares import Share, count_in_bands
from services.trends.standards import VOLTAGE_QUALIFIED

OUTAGE_BELOW_V = 132.0


@dataclass(frozen=True, slots=True)
class VoltageQualification:
    sensor: str
    asset: str
    qualified: Share  # readings within 198–235.4 V of readings with supply
    outage_readings: int


async def voltage_qualification(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
) -> list[VoltageQualification]:
    points = sensors_in(registry, Kind.POWER, community)
    ids = [p.id for p in points]
    total, supplied, ok = await count_in_bands(
        influx,
        layout,
        Kind.POWER.value,
        "voltage",
        ids,
        [(None, None), (OUTAGE_BELOW_V, None), VOLTAGE_QUALIFIED],
        start_ns,
        stop_ns,
        now_ns,
    )
    return [
        VoltageQualification(
            p.id, p.asset, Share(ok[p.id], supplied[p.id]), total[p.id] - supplied[p.id]
        )
        for p in points
        if total[p.id]
    ]
