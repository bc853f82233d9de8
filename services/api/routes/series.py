"""GET /series (one metric of one sensor, downsampled) and GET /ponds/{sensor}/status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from domain.instants import from_ns
from services.api.deps import HubDep
from services.api.trendquery import PondQuery, SeriesQuery, TrendsDep
from services.trends.ponds import PondDay
from services.trends.series import auto_every, parse_every
from services.trends.standards import GRADE_LABELS, Grade

router = APIRouter()


class Point(BaseModel):
    t: datetime
    v: float


class SeriesOut(BaseModel):
    sensor: str
    metric: str
    unit: str
    agg: str
    every_s: int
    source: Literal["raw", "hourly"]
    points: list[Point]


@router.get("/series", response_model=SeriesOut)
async def get_series(
    hub: HubDep,
    trends: TrendsDep,
    q: SeriesQuery,
    metric: Annotated[str, Query(max_length=64)],
    every: Annotated[str | None, Query(description="30s, 5m, 1h, 1d; default ~500 points")] = None,
    agg: Annotated[str, Query(description="mean, min, max, last or count")] = "mean",
) -> SeriesOut:
    """One metric of one sensor, downsampled by InfluxDB: one point per `every` bucket that has
    readings, aggregated with `agg`. Default range: the last 24 hours; at most 20 years. At
    most 5,000 points per request; a larger request is 422 naming the step that would fit.
    Long ranges with whole-hour steps are read from the hourly rollup (`source: hourly`)."""
    every_s = parse_every(every) if every else auto_every(q.span_s)
    r = await trends.series(hub.registry, q, metric, every_s, agg)
    tz = hub.registry.site.tz
    return SeriesOut(
        sensor=r.sensor,
        metric=r.metric,
        unit=r.unit,
        agg=r.agg,
        every_s=r.every_s,
        source=r.source,
        points=[Point(t=from_ns(t, tz), v=v) for t, v in r.points],
    )


# ---------------------------------------------------------------- ponds


class PondDayOut(BaseModel):
    day: date
    grade: Grade | None
    grade_zh: str | None
    water_class: str | None  # I, II, III, IV, V or 劣V (by DO and NH3-N; TP not measured)
    means: dict[str, float]


class PondNowOut(BaseModel):
    grade: Grade | None
    grade_zh: str | None
    values: dict[str, float]
    times: dict[str, datetime]


class PondStatusOut(BaseModel):
    sensor: str
    now: PondNowOut
    days: list[PondDayOut]
    class_basis: str = "GB 3838-2002 by DO and NH3-N only (TP is not measured)"


def day_out(d: PondDay) -> PondDayOut:
    return PondDayOut(
        day=d.day,
        grade=d.grade,
        grade_zh=GRADE_LABELS[d.grade][0] if d.grade else None,
        water_class=d.water_class.label if d.water_class else None,
        means=d.means,
    )


@router.get("/ponds/{sensor}/status", response_model=PondStatusOut)
async def get_pond_status(hub: HubDep, trends: TrendsDep, q: PondQuery) -> PondStatusOut:
    """A pond's black-and-odorous grade now (latest DO, ORP, NH3-N and transparency reported in
    the last 24 h, worst indicator wins) and per site-local day (on the day's means), with its
    GB 3838-2002 class per day. Default range: the last 30 days; at most 3,700 days."""
    s = await trends.pond(hub.registry, q)
    tz = hub.registry.site.tz
    return PondStatusOut(
        sensor=s.sensor,
        now=PondNowOut(
            grade=s.now.grade,
            grade_zh=GRADE_LABELS[s.now.grade][0] if s.now.grade else None,
            values=s.now.values,
            times={m: from_ns(t, tz) for m, t in s.now.times.items()},
        ),
        days=[day_out(d) for d in s.days],
    )
