"""Per-sensor, per-day (site-local) means of some metrics: what pond grades, classes and the
calendars are judged on. Days follow the site's time zone through InfluxQL's tz() clause."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from adapters.influx.quoting import ident, string
from domain.instants import NS
from services.trends.query import DAY_S, TrendQuery
from services.trends.scope import Batch, read
from services.trends.source import Source, choose, time_range
from services.trends.store import TrendStore

MAX_DAYS = 3_700
"""About ten years of days per request."""

DailyMeans = dict[str, dict[date, dict[str, float]]]
"""sensor -> local day -> metric -> mean."""


ENUMERATE_MAX = 200
"""Most sensor ids a query names one by one; past it, see `sensor_filter`."""


def sensor_filter(sensors: Sequence[str]) -> str:
    """`("sensor" = 'a' OR "sensor" = 'b')`; ids are allow-listed by callers and quoted here.

    Past `ENUMERATE_MAX` ids, every sensor (`"sensor" != ''`, which every point has) instead:
    InfluxDB 1.x takes time growing with the square of the terms of an OR (30,000 ids: more than
    five minutes, for a site-wide report over one kind), while reading every series of a kind is
    one pass over its index. Every query built on this groups by "sensor", and its caller keeps
    only the series of the ids it asked for, so the answer is the same either way."""
    if not sensors:
        raise ValueError("no sensors to filter on")
    if len(sensors) > ENUMERATE_MAX:
        return "\"sensor\" != ''"
    return "(" + " OR ".join(f'"sensor" = {string(s)}' for s in sensors) + ")"


def local_day(t_ns: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(t_ns / NS, tz).date()


def daily_query(
    source: Source,
    metrics: Sequence[str],
    sensors: Sequence[str],
    start_ns: int,
    stop_ns: int,
    tz: str,
) -> str:
    cols = ", ".join(f"{source.expr('mean', m)} AS {ident(m)}" for m in metrics)
    return (
        f"SELECT {cols} FROM {source.from_clause()} "  # noqa: S608 - every part quoted
        f"WHERE {sensor_filter(sensors)} AND {time_range(start_ns, stop_ns)} "
        f'GROUP BY time(1d), "sensor" fill(none) tz({string(tz)})'
    )


async def daily_means(
    store: TrendStore, kind: str, metrics: Sequence[str], batches: Sequence[Batch], q: TrendQuery
) -> DailyMeans:
    """Each batch's sensors over its own window (services.trends.scope). A day split between
    two windows of one sensor in the scope (it left and came back that day) keeps the later
    part's means."""
    q.limit_span(MAX_DAYS * DAY_S, f"a daily report may span at most {MAX_DAYS} days")
    out: DailyMeans = {s: {} for b in batches for s in b.sensors}
    if not out:
        return out
    source = choose(store.layout, kind, q, DAY_S)
    tz = store.timezone
    zone = ZoneInfo(tz)
    statements = [
        (b, daily_query(source, metrics, b.sensors, b.start_ns, b.stop_ns, tz)) for b in batches
    ]
    for _, _, s in await read(store.influx, statements):
        days = out[s.tags.get("sensor", "")]
        for row in s.rows():
            t = row.get("time")
            if not isinstance(t, int):
                continue
            values = {m: float(v) for m in metrics if isinstance(v := row.get(m), int | float)}
            if values:
                days[local_day(t, zone)] = values
    return out
