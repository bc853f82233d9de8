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

from adapters.influx.quoting import ident, string
from domain.catalog import Kind
from domain.instants import NS
from services.trends.daily import sensor_filter
from services.trends.query import DAY_S, TrendQuery
from services.trends.scope import batches, read, sensors_in
from services.trends.shares import Share, count_in_bands
from services.trends.source import choose, time_range
from services.trends.standards import standards
from services.trends.store import TrendStore

MAX_NIGHTS = 400


@dataclass(frozen=True, slots=True)
class ChlorineCompliance:
    sensor: str
    asset: str
    compliant: Share  # within 0.05–2 mg/L
    above_warning: Share  # ≥ 0.1 mg/L


async def chlorine_compliance(store: TrendStore, q: TrendQuery) -> list[ChlorineCompliance]:
    """Per water point of the query's scope; at most `shares.MAX_DAYS` per request."""
    ref = standards()
    points = sensors_in(store.history, Kind.WATER, q)
    total, ok, warn = await count_in_bands(
        store,
        Kind.WATER.value,
        "chlorine",
        batches(points),
        [(None, None), ref.chlorine_compliant, (ref.chlorine_warning_min, None)],
        q,
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
    lo, hi = standards().night_window_hours
    nights: dict[date, float] = {}
    for t, v in hourly:
        local = datetime.fromtimestamp(t / NS, tz)
        if lo <= local.hour < hi:
            d = local.date()
            nights[d] = min(v, nights.get(d, v))
    return sorted(nights.items())


async def night_flow(store: TrendStore, q: TrendQuery) -> list[NightFlow]:
    q.limit_span(MAX_NIGHTS * DAY_S, f"a night-flow trend may span at most {MAX_NIGHTS} nights")
    points = sensors_in(store.history, Kind.WATER, q)
    if not points:
        return []
    tz = store.timezone
    source = choose(store.layout, Kind.WATER.value, q, 3600)
    statements = [
        (
            b,
            f"SELECT {source.expr('min', 'flow')} AS {ident('flow')} "  # noqa: S608 - quoted
            f"FROM {source.from_clause()} "
            f"WHERE {sensor_filter(b.sensors)} AND {time_range(b.start_ns, b.stop_ns)} "
            f'GROUP BY time(1h), "sensor" fill(none) tz({string(tz)})',
        )
        for b in batches(points)
    ]
    hourly: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for _, _, s in await read(store.influx, statements):
        for t, v in zip(s.column("time"), s.column("flow"), strict=True):
            if isinstance(t, int) and isinstance(v, int | float):
                hourly[s.tags.get("sensor", "")].append((t, float(v)))
    zone = ZoneInfo(tz)
    return [
        NightFlow(p.id, p.asset, night_minima(hourly[p.id], zone))
        for p in points
        if hourly.get(p.id)
    ]
