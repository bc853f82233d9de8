"""Trends from InfluxDB: downsampled series, pond status, and the indicators officers report on.

Times are ISO 8601; a time without an offset is read in the site's time zone. Days, weeks and
nights are site-local. Errors: an unknown sensor, metric, grid or community is 404; a range,
step or aggregation the hub refuses (too many points, raw data already expired, ...) is 422
with a message saying what to change; InfluxDB down is 503. Without InfluxDB configured every
route here answers 503.

Who may read: /series and /ponds/{sensor}/status follow the sensor (a crew sees its own grid
cells' sensors only, others are 404); /indicators/* are site-wide, for officers and admins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

from domain.site import Registry
from services.api.deps import HubDep, OverseerDep, PrincipalDep
from services.auth.principal import Principal
from services.influx.errors import InfluxError, InfluxUnavailable
from services.trends.completeness import Completeness
from services.trends.errors import TrendsError, UnknownSeries
from services.trends.ponds import PondDay
from services.trends.series import parse_every
from services.trends.service import Trends
from services.trends.shares import Share
from services.trends.standards import GRADE_LABELS, Grade

router = APIRouter(tags=["trends"])

NS = 10**9


def get_trends(hub: HubDep) -> Trends:
    """The hub's trends service (`Hub.trends`, set up at start when InfluxDB is configured)."""
    trends = getattr(hub, "trends", None)
    if not isinstance(trends, Trends):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "trends need InfluxDB (GRIDWATCH_INFLUX_URL)"
        )
    return trends


TrendsDep = Annotated[Trends, Depends(get_trends)]


@contextmanager
def _translated() -> Iterator[None]:
    """Trends and InfluxDB errors as HTTP answers; the one mapping for this router."""
    try:
        yield
    except UnknownSeries as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    except TrendsError as e:
        raise HTTPException(422, str(e)) from e
    except InfluxUnavailable as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from e
    except InfluxError as e:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"InfluxDB: {e}") from e


def _ns(t: datetime, registry: Registry) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=registry.site.tz)
    return int(t.timestamp()) * NS + t.microsecond * 1000


def _window(
    registry: Registry,
    now_ns: int,
    start: datetime | None,
    stop: datetime | None,
    default: timedelta,
) -> tuple[int, int]:
    stop_ns = _ns(stop, registry) if stop else now_ns
    start_ns = _ns(start, registry) if start else stop_ns - int(default.total_seconds()) * NS
    if stop_ns <= start_ns:
        raise HTTPException(422, "stop must be after start")
    if start_ns < EARLIEST_NS or stop_ns > LATEST_NS:
        raise HTTPException(422, "times must lie between 1970 and 2200")
    return start_ns, stop_ns


EARLIEST_NS = 0
LATEST_NS = 7_258_118_400 * NS  # 2200-01-01: InfluxDB's nanosecond times end in 2262


def _at(t_ns: int, registry: Registry) -> datetime:
    return datetime.fromtimestamp(t_ns / NS, registry.site.tz)


def _visible(registry: Registry, who: Principal, sensor: str) -> None:
    p = registry.get(sensor)
    if p is None or not who.sees_grid(p.grid.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sensor {sensor} does not exist")


_NICE_STEPS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400)


def auto_every(span_s: float, target: int = 500) -> int:
    """The smallest round step giving at most `target` points."""
    for step in _NICE_STEPS:
        if span_s / step <= target:
            return step
    return int(span_s // target) + 1


Start = Annotated[datetime | None, Query(description="ISO 8601; default depends on the route")]
Stop = Annotated[datetime | None, Query(description="ISO 8601; default now")]
Community = Annotated[str | None, Query(pattern=r"^[a-z0-9-]{3,64}$")]


@dataclass(frozen=True, slots=True)
class Window:
    """What every indicator route starts from: the registry, the trends service, the time
    window (site-local defaults per route) and an optional community."""

    registry: Registry
    trends: Trends
    start_ns: int
    stop_ns: int
    community: str | None


def indicator_window(default: timedelta) -> Callable[..., Window]:
    """A dependency for an officer's indicator over `start`..`stop` (default: the last
    `default`), optionally one community."""

    def window(
        hub: HubDep,
        trends: TrendsDep,
        _: OverseerDep,
        start: Start = None,
        stop: Stop = None,
        community: Community = None,
    ) -> Window:
        reg = hub.registry
        start_ns, stop_ns = _window(reg, trends.clock(), start, stop, default)
        return Window(reg, trends, start_ns, stop_ns, community)

    return window


def _over(default: timedelta) -> Any:
    return Depends(indicator_window(default))


# ---------------------------------------------------------------- series


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
    who: PrincipalDep,
    sensor: Annotated[str, Query(max_length=64)],
    metric: Annotated[str, Query(max_length=64)],
    start: Start = None,
    stop: Stop = None,
    every: Annotated[str | None, Query(description="30s, 5m, 1h, 1d; default ~500 points")] = None,
    agg: Annotated[str, Query(description="mean, min, max, last or count")] = "mean",
) -> SeriesOut:
    """One metric of one sensor, downsampled by InfluxDB: one point per `every` bucket that has
    readings, aggregated with `agg`. Default range: the last 24 hours. At most 5,000 points per
    request; a larger request is 422 naming the step that would fit. Long ranges with whole-hour
    steps are read from the hourly rollup (`source: hourly`)."""
    reg = hub.registry
    _visible(reg, who, sensor)
    start_ns, stop_ns = _window(reg, trends.clock(), start, stop, timedelta(days=1))
    with _translated():
        every_s = parse_every(every) if every else auto_every((stop_ns - start_ns) / NS)
        r = await trends.series(reg, sensor, metric, start_ns, stop_ns, every_s, agg)
    return SeriesOut(
        sensor=r.sensor,
        metric=r.metric,
        unit=r.unit,
        agg=r.agg,
        every_s=r.every_s,
        source=r.source,
        points=[Point(t=_at(t, reg), v=v) for t, v in r.points],
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


def _day_out(d: PondDay) -> PondDayOut:
    return PondDayOut(
        day=d.day,
        grade=d.grade,
        grade_zh=GRADE_LABELS[d.grade][0] if d.grade else None,
        water_class=d.water_class.label if d.water_class else None,
        means=d.means,
    )


@router.get("/ponds/{sensor}/status", response_model=PondStatusOut)
async def get_pond_status(
    hub: HubDep,
    trends: TrendsDep,
    who: PrincipalDep,
    sensor: str,
    start: Start = None,
    stop: Stop = None,
) -> PondStatusOut:
    """A pond's black-and-odorous grade now (latest DO, ORP, NH3-N and transparency reported in
    the last 24 h, worst indicator wins) and per site-local day (on the day's means), with its
    GB 3838-2002 class per day. Default range: the last 30 days."""
    reg = hub.registry
    _visible(reg, who, sensor)
    start_ns, stop_ns = _window(reg, trends.clock(), start, stop, timedelta(days=30))
    with _translated():
        s = await trends.pond(reg, sensor, start_ns, stop_ns)
    return PondStatusOut(
        sensor=s.sensor,
        now=PondNowOut(
            grade=s.now.grade,
            grade_zh=GRADE_LABELS[s.now.grade][0] if s.now.grade else None,
            values=s.now.values,
            times={m: _at(t, reg) for m, t in s.now.times.items()},
        ),
        days=[_day_out(d) for d in s.days],
    )


# ---------------------------------------------------------------- indicators


class PondCalendarOut(BaseModel):
    sensor: str
    asset: str
    days: list[PondDayOut]
    days_per_grade: dict[str, int]
    days_per_class: dict[str, int]


class ShareOut(BaseModel):
    inside: int
    total: int
    ratio: float | None


def _share(s: Share) -> ShareOut:
    return ShareOut(inside=s.inside, total=s.total, ratio=s.ratio)


@router.get("/indicators/ponds", response_model=list[PondCalendarOut])
async def pond_grade_calendar(
    w: Annotated[Window, _over(timedelta(days=30))],
) -> list[PondCalendarOut]:
    """Pond grade calendar and days per class: for each pond, the black-and-odorous grade and
    GB 3838 class of each site-local day, and how many days fell in each. Default: 30 days."""
    with _translated():
        cals = await w.trends.pond_calendars(w.registry, w.start_ns, w.stop_ns, w.community)
    return [
        PondCalendarOut(
            sensor=c.sensor,
            asset=c.asset,
            days=[_day_out(d) for d in c.days],
            days_per_grade=dict(c.grade_counts()),
            days_per_class={k.label: n for k, n in sorted(c.class_counts().items())},
        )
        for c in cals
    ]


class EpisodeOut(BaseModel):
    sensor: str
    event: str
    start: datetime
    end: datetime
    peak: float


class SewerWeekOut(BaseModel):
    sensor: str
    week: date
    counts: dict[str, int]


class SewerEventsOut(BaseModel):
    weeks: list[SewerWeekOut]
    episodes: list[EpisodeOut]


@router.get("/indicators/sewer-events", response_model=SewerEventsOut)
async def sewer_event_weeks(
    w: Annotated[Window, _over(timedelta(weeks=8))],
) -> SewerEventsOut:
    """Overflow (freeboard < 0.2 m; warning < 0.5 m) and surcharge (fill ≥ 1.0; warning ≥ 0.9)
    episodes per manhole, counted per site-local week (Monday) they started in. Default: 8
    weeks."""
    with _translated():
        eps, weeks = await w.trends.sewer_events(w.registry, w.start_ns, w.stop_ns, w.community)
    return SewerEventsOut(
        weeks=[SewerWeekOut(sensor=k.sensor, week=k.week, counts=k.counts) for k in weeks],
        episodes=[
            EpisodeOut(
                sensor=e.sensor,
                event=e.event,
                start=_at(e.start_ns, w.registry),
                end=_at(e.end_ns, w.registry),
                peak=e.peak,
            )
            for e in eps
        ],
    )


class ChlorineOut(BaseModel):
    sensor: str
    asset: str
    compliant: ShareOut
    above_warning: ShareOut


@router.get("/indicators/chlorine", response_model=list[ChlorineOut])
async def chlorine_compliance(
    w: Annotated[Window, _over(timedelta(days=30))],
) -> list[ChlorineOut]:
    """Free-chlorine compliance per tap or tank: the share of readings within 0.05–2 mg/L
    (GB 5749-2022) and at or above the 0.1 mg/L warning line. Default: 30 days."""
    with _translated():
        rows = await w.trends.chlorine(w.registry, w.start_ns, w.stop_ns, w.community)
    return [
        ChlorineOut(
            sensor=r.sensor,
            asset=r.asset,
            compliant=_share(r.compliant),
            above_warning=_share(r.above_warning),
        )
        for r in rows
    ]


class NightOut(BaseModel):
    night: date
    min_flow: float


class NightFlowOut(BaseModel):
    sensor: str
    asset: str
    unit: str = "m³/h"
    nights: list[NightOut]


@router.get("/indicators/night-flow", response_model=list[NightFlowOut])
async def minimum_night_flow(
    w: Annotated[Window, _over(timedelta(days=30))],
) -> list[NightFlowOut]:
    """Minimum night flow per water point and night (lowest flow 02:00–05:00 site-local), the
    district-metered-area leak indicator. Default: 30 nights."""
    with _translated():
        rows = await w.trends.night_flow(w.registry, w.start_ns, w.stop_ns, w.community)
    return [
        NightFlowOut(
            sensor=r.sensor,
            asset=r.asset,
            nights=[NightOut(night=d, min_flow=v) for d, v in r.nights],
        )
        for r in rows
    ]


class VoltageOut(BaseModel):
    sensor: str
    asset: str
    qualified: ShareOut
    outage_readings: int


@router.get("/indicators/voltage", response_model=list[VoltageOut])
async def voltage_qualification_rate(
    w: Annotated[Window, _over(timedelta(days=30))],
) -> list[VoltageOut]:
    """Voltage qualification rate (电压合格率) per transformer point: the share of supply time
    within 198–235.4 V (GB/T 12325-2008); readings below 132 V count as outage, not supply.
    Default: 30 days."""
    with _translated():
        rows = await w.trends.voltage(w.registry, w.start_ns, w.stop_ns, w.community)
    return [
        VoltageOut(
            sensor=r.sensor,
            asset=r.asset,
            qualified=_share(r.qualified),
            outage_readings=r.outage_readings,
        )
        for r in rows
    ]


class CompletenessOut(BaseModel):
    key: str
    received: int
    expected: int
    ratio: float | None


class CompletenessReport(BaseModel):
    sensors: list[CompletenessOut]
    grids: list[CompletenessOut]


@router.get("/indicators/completeness", response_model=CompletenessReport)
async def data_completeness(
    w: Annotated[Window, _over(timedelta(days=7))],
    grid: Community = None,
) -> CompletenessReport:
    """Data completeness per sensor and grid cell: readings received against those expected
    from each sensor's `interval_s` (capped at 100 % per sensor). Default: 7 days."""
    with _translated():
        sensors, grids = await w.trends.completeness(
            w.registry, w.start_ns, w.stop_ns, w.community, grid
        )

    def out(c: Completeness) -> CompletenessOut:
        return CompletenessOut(key=c.key, received=c.received, expected=c.expected, ratio=c.ratio)

    return CompletenessReport(sensors=[out(c) for c in sensors], grids=[out(c) for c in grids])
