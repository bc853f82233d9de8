"""A pond's black-and-odorous grade now and per day, and its GB 3838-2002 class per day.

"Now" grades the latest value of each indicator reported within `NOW_WINDOW_S` (an indicator
silent for longer is left out, not taken as good). A day is graded on the day's mean of each
indicator (site-local days). The class is by DO and NH3-N only: pond sensors do not measure TP
(see services.trends.standards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import ident, string
from adapters.influx.retention import Layout
from domain.catalog import Kind
from domain.instants import NS
from domain.site import Registry
from services.trends.daily import daily_means
from services.trends.errors import UnknownSeries
from services.trends.query import TrendQuery
from services.trends.scope import Batch
from services.trends.source import time_range
from services.trends.standards import (
    BLACK_ODOROUS_METRICS,
    CLASS_METRICS,
    Grade,
    WaterClass,
    black_odorous_grade,
    water_class,
)
from services.trends.store import TrendStore

NOW_WINDOW_S = 24 * 3600
POND_METRICS = tuple(dict.fromkeys((*BLACK_ODOROUS_METRICS, *CLASS_METRICS)))


@dataclass(frozen=True, slots=True)
class PondDay:
    day: date
    means: dict[str, float]
    grade: Grade | None
    water_class: WaterClass | None


@dataclass(frozen=True, slots=True)
class PondNow:
    grade: Grade | None
    values: dict[str, float]
    times: dict[str, int]  # metric -> ns of the reading graded


@dataclass(frozen=True, slots=True)
class PondStatus:
    sensor: str
    now: PondNow
    days: list[PondDay]


def grade_days(means: dict[date, dict[str, float]]) -> list[PondDay]:
    """Grade and class each day from its means; oldest day first."""
    out: list[PondDay] = []
    for day in sorted(means):
        v = means[day]
        grade = black_odorous_grade({m: v.get(m) for m in BLACK_ODOROUS_METRICS})
        cls = water_class(v.get("do"), v.get("nh3n"))
        out.append(PondDay(day, dict(v), grade, cls))
    return out


def pond_sensor(registry: Registry, sensor: str | None) -> str:
    p = registry.get(sensor) if sensor is not None else None
    if p is None or p.sensor.kind is not Kind.POND:
        raise UnknownSeries(f"no pond sensor {sensor!r} in the registry", field="sensor")
    return p.sensor.id


async def pond_now(influx: InfluxQuery, layout: Layout, sensor: str, now_ns: int) -> PondNow:
    where = f'"sensor" = {string(sensor)} AND {time_range(now_ns - NOW_WINDOW_S * NS, now_ns + 1)}'
    src = f"{ident(layout.raw_rp)}.{ident(Kind.POND.value)}"
    q = "; ".join(
        f"SELECT last({ident(m)}) AS {ident(m)} FROM {src} WHERE {where}"  # noqa: S608 - quoted
        for m in BLACK_ODOROUS_METRICS
    )
    values: dict[str, float] = {}
    times: dict[str, int] = {}
    for s in await influx.query(q):
        for row in s.rows():
            for m in BLACK_ODOROUS_METRICS:
                v, t = row.get(m), row.get("time")
                if isinstance(v, int | float) and isinstance(t, int):
                    values[m], times[m] = float(v), t
    return PondNow(black_odorous_grade(dict(values)), values, times)


async def pond_status(store: TrendStore, q: TrendQuery) -> PondStatus:
    """The pond `q.sensor` now and per day of the query's window."""
    sid = pond_sensor(store.registry, q.sensor)
    now = await pond_now(store.influx, store.layout, sid, q.now_ns)
    whole = [Batch(q.start_ns, q.stop_ns, (sid,))]
    means = await daily_means(store, Kind.POND.value, POND_METRICS, whole, q)
    return PondStatus(sid, now, grade_days(means[sid]))
