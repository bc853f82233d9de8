"""Water indicators: chlorine compliance at taps and tanks, and the minimum night flow.

Chlorine compliance is the share of readings within GB 5749-2022's 0.05–2 mg/L, and the share
at or above the 0.1 mg/L warning line, per water point with a chlorine sensor (readings, not
time: points report at a fixed interval). Minimum night flow is, per point and night, the lowest
flow between 02:00 and 05:00 site-local time; the night is named by its date at 02:00. It is
taken from hourly minima, so it is exact on raw data and on the rollup alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.catalog import Kind
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.quoting import ident, string
from services.influx.retention import Layout
from services.trends.daily import sensor_filter
from services.trends.errors import RangeError
from services.trends.scope import sensors_in
from services.trends.shares import Share, count_in_bands
from services.trends.source import DAY_S, NS, choose, time_range
from services.trends.standards import CHLORINE_COMPLIANT, CHLORINE_WARNING_MIN, NIGHT_WINDOW_HOURS

MAX_NIGHTS = 400


@dataclass(frozen=True, slots=True)
class ChlorineCompliance:
    sensor: str
    asset: str
    compliant: Share  # within 0.05–2 mg/L
    above_warning: Share  # ≥ 0.1 mg/L


async def chlorine_compliance(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
) -> list[ChlorineCompliance]:
    points = sensors_in(registry, Kind.WATER, community)
    ids = [p.id for p in points]
    total, ok, warn = await count_in_bands(
        influx,
        layout,
        Kind.WATER.value,
        "chlorine",
        ids,
        [(None, None), CHLORINE_COMPLIANT, (CHLORINE_WARNING_MIN, None)],
        start_ns,
        stop_ns,
        now_ns,
    )
    return [
        ChlorineCompliance(
            p.id, p.asset, Share(ok[p.id], total[p.id]), Share(warn[p.id], total[p.id])
        )
        for p in points
        if total[p.id]
    ]


@dataclass(frozen=True, slots=True)
class NightFlow:
    sensor: str
    asset: str
    nights: list[tuple[date, float]]  # (night, minimum flow m³/h), oldest first


def night_minima(hourly: list[tuple[int, float]], tz: ZoneInfo) -> list[tuple[date, float]]:
    """Per night, the minimum of the hourly minima whose local hour is in the night window."""
    lo, hi = NIGHT_WINDOW_HOURS
    nights: dict[date, float] = {}
    for t, v in hourly:
        local = datetime.fromtimestamp(t / NS, tz)
        if lo <= local.hour < hi:
            d = local.date()
            nights[d] = min(v, nights.get(d, v))
    return sorted(nights.items())


async def night_flow(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
) -> list[NightFlow]:
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    if (stop_ns - start_ns) / NS > MAX_NIGHTS * DAY_S:
        raise RangeError(f"a night-flow trend may span at most {MAX_NIGHTS} nights")
    points = sensors_in(registry, Kind.WATER, community)
    if not points:
        return []
    tz = registry.site.timezone
    source = choose(layout, Kind.WATER.value, start_ns, stop_ns, 3600, now_ns)
    q = (
        f"SELECT {source.expr('min', 'flow')} AS {ident('flow')} "  # noqa: S608 - quoted
        f"FROM {source.from_clause()} "
        f"WHERE {sensor_filter([p.id for p in points])} AND {time_range(start_ns, stop_ns)} "
        f'GROUP BY time(1h), "sensor" fill(none) tz({string(tz)})'
    )
    hourly: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for s in await influx.query(q):
        for t, v in zip(s.column("time"), s.column("flow"), strict=True):
            if isinstance(t, int) and isinstance(v, int | float):
                hourly[s.tags.get("sensor", "")].append((t, float(v)))
    zone = ZoneInfo(tz)
    return [
        NightFlow(p.id, p.asset, night_minima(hourly[p.id], zone))
        for p in points
        if hourly.get(p.id)
    ]
