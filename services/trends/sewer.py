"""Sewer overflow and surcharge events per week.

An event is an episode: a maximal run of consecutive reporting buckets in which the condition
holds (freeboard < 0.2 m for overflow, < 0.5 m for its warning; fill ≥ 1.0 for surcharge,
≥ 0.9 for its warning). Buckets are one minute of raw readings (min freeboard, max fill) for
ranges up to `RAW_MAX_DAYS`, else hourly rollup extrema. A bucket without readings neither
starts nor ends an episode. Each episode counts in the site-local ISO week it started in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from domain.catalog import Kind
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.quoting import ident, string
from services.influx.retention import Layout
from services.trends.daily import local_day, sensor_filter
from services.trends.errors import RangeError
from services.trends.scope import sensors_in
from services.trends.source import DAY_S, NS, choose, time_range
from services.trends.standards import SEWER_EVENTS

RAW_MAX_DAYS = 35
MAX_DAYS = 3_700


@dataclass(frozen=True, slots=True)
class Episode:
    sensor: str
    event: str  # a key of standards.SEWER_EVENTS
    start_ns: int
    end_ns: int  # start of the last bucket in which the condition held
    peak: float


def episodes(sensor: str, rows: list[tuple[int, float | None, float | None]]) -> list[Episode]:
    """Episodes from (bucket time, min freeboard, max fill) rows, oldest first."""
    out: list[Episode] = []
    for name, rule in SEWER_EVENTS.items():
        open_: Episode | None = None
        for t, freeboard, fill in rows:
            v = freeboard if rule.metric == "freeboard" else fill
            if v is None:
                continue
            if rule.holds(v):
                if open_ is None:
                    open_ = Episode(sensor, name, t, t, v)
                else:
                    peak = min(open_.peak, v) if rule.below else max(open_.peak, v)
                    open_ = Episode(sensor, name, open_.start_ns, t, peak)
            elif open_ is not None:
                out.append(open_)
                open_ = None
        if open_ is not None:
            out.append(open_)
    return sorted(out, key=lambda e: (e.start_ns, e.event))


def week_of(t_ns: int, tz: ZoneInfo) -> date:
    """The Monday (site-local) of the week containing t."""
    d = local_day(t_ns, tz)
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True, slots=True)
class SewerWeek:
    sensor: str
    week: date  # Monday
    counts: dict[str, int]  # event -> episodes started that week


async def sewer_events(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
) -> tuple[list[Episode], list[SewerWeek]]:
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    span_days = (stop_ns - start_ns) / NS / DAY_S
    if span_days > MAX_DAYS:
        raise RangeError(f"an event report may span at most {MAX_DAYS} days")
    sensors = [s.id for s in sensors_in(registry, Kind.SEWER, community)]
    if not sensors:
        return [], []
    every = 60 if span_days <= RAW_MAX_DAYS else 3600
    source = choose(layout, Kind.SEWER.value, start_ns, stop_ns, every, now_ns)
    tz = registry.site.timezone
    q = (
        f"SELECT {source.expr('min', 'freeboard')} AS {ident('freeboard')}, "  # noqa: S608
        f"{source.expr('max', 'fill')} AS {ident('fill')} FROM {source.from_clause()} "
        f"WHERE {sensor_filter(sensors)} AND {time_range(start_ns, stop_ns)} "
        f'GROUP BY time({every}s), "sensor" fill(none) tz({string(tz)})'
    )
    found: list[Episode] = []
    for s in await influx.query(q):
        rows: list[tuple[int, float | None, float | None]] = []
        for r in s.rows():
            t, fb, fl = r.get("time"), r.get("freeboard"), r.get("fill")
            if isinstance(t, int):
                rows.append(
                    (
                        t,
                        float(fb) if isinstance(fb, int | float) else None,
                        float(fl) if isinstance(fl, int | float) else None,
                    )
                )
        found.extend(episodes(s.tags.get("sensor", ""), rows))
    zone = ZoneInfo(tz)
    weeks: dict[tuple[str, date], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(SEWER_EVENTS, 0)
    )
    for e in found:
        weeks[(e.sensor, week_of(e.start_ns, zone))][e.event] += 1
    table = [SewerWeek(s, w, c) for (s, w), c in sorted(weeks.items())]
    return sorted(found, key=lambda e: (e.sensor, e.start_ns, e.event)), table
