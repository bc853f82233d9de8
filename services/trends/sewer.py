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

from adapters.influx.quoting import ident, string
from domain.catalog import Kind
from services.trends.daily import local_day, sensor_filter
from services.trends.query import DAY_S, TrendQuery
from services.trends.scope import batches, read, sensors_in
from services.trends.source import choose, time_range
from services.trends.standards import standards
from services.trends.store import TrendStore

RAW_MAX_DAYS = 35
MAX_DAYS = 3_700


@dataclass(frozen=True, slots=True)
class Episode:
    sensor: str
    event: str  # a key of Standards.sewer_events
    start_ns: int
    end_ns: int  # start of the last bucket in which the condition held
    peak: float


def episodes(sensor: str, rows: list[tuple[int, float | None, float | None]]) -> list[Episode]:
    """Episodes from (bucket time, min freeboard, max fill) rows, oldest first."""
    out: list[Episode] = []
    for name, rule in standards().sewer_events.items():
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


async def sewer_events(store: TrendStore, q: TrendQuery) -> tuple[list[Episode], list[SewerWeek]]:
    q.limit_span(MAX_DAYS * DAY_S, f"an event report may span at most {MAX_DAYS} days")
    sensors = sensors_in(store.history, Kind.SEWER, q)
    if not sensors:
        return [], []
    every = 60 if q.span_s <= RAW_MAX_DAYS * DAY_S else 3600
    source = choose(store.layout, Kind.SEWER.value, q, every)
    tz = store.timezone
    statements = [
        (
            b,
            f"SELECT {source.expr('min', 'freeboard')} AS {ident('freeboard')}, "  # noqa: S608
            f"{source.expr('max', 'fill')} AS {ident('fill')} FROM {source.from_clause()} "
            f"WHERE {sensor_filter(b.sensors)} AND {time_range(b.start_ns, b.stop_ns)} "
            f'GROUP BY time({every}s), "sensor" fill(none) tz({string(tz)})',
        )
        for b in batches(sensors)
    ]
    found: list[Episode] = []
    for _, _, s in await read(store.influx, statements):
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
        lambda: dict.fromkeys(standards().sewer_events, 0)
    )
    for e in found:
        weeks[(e.sensor, week_of(e.start_ns, zone))][e.event] += 1
    table = [SewerWeek(s, w, c) for (s, w), c in sorted(weeks.items())]
    return sorted(found, key=lambda e: (e.sensor, e.start_ns, e.event)), table
