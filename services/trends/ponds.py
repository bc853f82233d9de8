"""A pond's black-and-odorous grade now and per day, and its GB 3838-2002 class per day.

"Now" grades the latest value of each indicator reported within `NOW_WINDOW_S` (an indicator
silent for longer is left out, not taken as good). A day is graded on the day's mean of each
indicator (site-local days). The class is by DO and NH3-N only: pond sensors do not measure TP
(see services.trends.standards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.catalog import Kind
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.quoting import ident, string
from services.influx.retention import Layout
from services.trends.daily import daily_means
from services.trends.errors import UnknownSeries
from services.trends.source import NS, time_range
from services.trends.standards import (
    BLACK_ODOROUS,
    CLASS_METRICS,
    Grade,
    WaterClass,
    black_odorous_grade,
    water_class,
)

NOW_WINDOW_S = 24 * 3600
POND_METRICS = tuple(dict.fromkeys((*BLACK_ODOROUS, *CLASS_METRICS)))


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
        grade = black_odorous_grade({m: v.get(m) for m in BLACK_ODOROUS})
        cls = water_class(v.get("do"), v.get("nh3n"))
        out.append(PondDay(day, dict(v), grade, cls))
    return out


def pond_sensor(registry: Registry, sensor: str) -> str:
    p = registry.get(sensor)
    if p is None or p.sensor.kind is not Kind.POND:
        raise UnknownSeries(f"no pond sensor {sensor!r} in the registry")
    return p.sensor.id


async def pond_now(influx: InfluxQuery, layout: Layout, sensor: str, now_ns: int) -> PondNow:
    where = f'"sensor" = {string(sensor)} AND {time_range(now_ns - NOW_WINDOW_S * NS, now_ns + 1)}'
    src = f"{ident(layout.raw_rp)}.{ident(Kind.POND.value)}"
    q = "; ".join(
        f"SELECT last({ident(m)}) AS {ident(m)} FROM {src} WHERE {where}"  # noqa: S608 - quoted
        for m in BLACK_ODOROUS
    )
    values: dict[str, float] = {}
    times: dict[str, int] = {}
    for s in await influx.query(q):
        for row in s.rows():
            for m in BLACK_ODOROUS:
                v, t = row.get(m), row.get("time")
                if isinstance(v, int | float) and isinstance(t, int):
                    values[m], times[m] = float(v), t
    return PondNow(black_odorous_grade(dict(values)), values, times)


async def pond_status(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    sensor: str,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
) -> PondStatus:
    sid = pond_sensor(registry, sensor)
    now = await pond_now(influx, layout, sid, now_ns)
    means = await daily_means(
        influx,
        layout,
        Kind.POND.value,
        POND_METRICS,
        [sid],
        start_ns,
        stop_ns,
        registry.site.timezone,
        now_ns,
    )
    return PondStatus(sid, now, grade_days(means[sid]))
