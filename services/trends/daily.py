"""Per-sensor, per-day (site-local) means of some metrics: what pond grades, classes and the
calendars are judged on. Days follow the site's time zone through InfluxQL's tz() clause."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.influx.client import InfluxQuery
from services.influx.quoting import ident, string
from services.influx.retention import Layout
from services.trends.errors import RangeError
from services.trends.source import DAY_S, NS, Source, choose, time_range

MAX_DAYS = 3_700
"""About ten years of days per request."""

DailyMeans = dict[str, dict[date, dict[str, float]]]
"""sensor -> local day -> metric -> mean."""


def sensor_filter(sensors: Sequence[str]) -> str:
    """`("sensor" = 'a' OR "sensor" = 'b')`; ids are allow-listed by callers and quoted here."""
    if not sensors:
        raise ValueError("no sensors to filter on")
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
    influx: InfluxQuery,
    layout: Layout,
    kind: str,
    metrics: Sequence[str],
    sensors: Sequence[str],
    start_ns: int,
    stop_ns: int,
    tz: str,
    now_ns: int,
) -> DailyMeans:
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    if (stop_ns - start_ns) // NS > MAX_DAYS * DAY_S:
        raise RangeError(f"a daily report may span at most {MAX_DAYS} days")
    out: DailyMeans = {s: {} for s in sensors}
    if not sensors:
        return out
    source = choose(layout, kind, start_ns, stop_ns, DAY_S, now_ns)
    zone = ZoneInfo(tz)
    for s in await influx.query(daily_query(source, metrics, sensors, start_ns, stop_ns, tz)):
        days = out.setdefault(s.tags.get("sensor", ""), {})
        for row in s.rows():
            t = row.get("time")
            if not isinstance(t, int):
                continue
            values = {m: float(v) for m in metrics if isinstance(v := row.get(m), int | float)}
            if values:
                days[local_day(t, zone)] = values
    return out
