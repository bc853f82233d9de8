"""GET /indicators/*: the site-wide figures officers report on (pond grade calendars, sewer
events, chlorine compliance, minimum night flow, voltage qualification, data completeness),
each over one `TrendQuery` with its own default range and bound.

A `community` or `grid` selects the sensors that were there during the range, each for its
time there only (the registry's placement intervals, services.trends.scope): a sensor moved,
added or retired within the range counts where it was when it was, never in two places; the
community or grid may be one that is gone from the registry now but held sensors then."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from domain.instants import from_ns
from services.api.deps import HubDep
from services.api.routes.series import PondDayOut, day_out
from services.api.trendquery import Last7Days, Last8Weeks, Last30Days, TrendsDep
from services.trends.completeness import Completeness
from services.trends.shares import Share

router = APIRouter()


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
    hub: HubDep, trends: TrendsDep, q: Last30Days
) -> list[PondCalendarOut]:
    """Pond grade calendar and days per class: for each pond, the black-and-odorous grade and
    GB 3838 class of each site-local day, and how many days fell in each. Default: 30 days;
    at most 3,700."""
    cals = await trends.pond_calendars(hub.registry, q)
    return [
        PondCalendarOut(
            sensor=c.sensor,
            asset=c.asset,
            days=[day_out(d) for d in c.days],
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
async def sewer_event_weeks(hub: HubDep, trends: TrendsDep, q: Last8Weeks) -> SewerEventsOut:
    """Overflow (freeboard < 0.2 m; warning < 0.5 m) and surcharge (fill ≥ 1.0; warning ≥ 0.9)
    episodes per manhole, counted per site-local week (Monday) they started in. Default: 8
    weeks; at most 3,700 days."""
    eps, weeks = await trends.sewer_events(hub.registry, q)
    tz = hub.registry.site.tz
    return SewerEventsOut(
        weeks=[SewerWeekOut(sensor=k.sensor, week=k.week, counts=k.counts) for k in weeks],
        episodes=[
            EpisodeOut(
                sensor=e.sensor,
                event=e.event,
                start=from_ns(e.start_ns, tz),
                end=from_ns(e.end_ns, tz),
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
async def chlorine_compliance(hub: HubDep, trends: TrendsDep, q: Last30Days) -> list[ChlorineOut]:
    """Free-chlorine compliance per tap or tank: the share of readings within 0.05–2 mg/L
    (GB 5749-2022) and at or above the 0.1 mg/L warning line, counted on raw readings.
    Default: 30 days; at most 366 (a longer range is 422 naming `start`)."""
    rows = await trends.chlorine(hub.registry, q)
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
async def minimum_night_flow(hub: HubDep, trends: TrendsDep, q: Last30Days) -> list[NightFlowOut]:
    """Minimum night flow per water point and night (lowest flow 02:00–05:00 site-local), the
    district-metered-area leak indicator. Default: 30 nights; at most 400."""
    rows = await trends.night_flow(hub.registry, q)
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
    hub: HubDep, trends: TrendsDep, q: Last30Days
) -> list[VoltageOut]:
    """Voltage qualification rate (电压合格率) per transformer point: the share of supply time
    within 198–235.4 V (GB/T 12325-2008); readings below 132 V count as outage, not supply.
    Counted on raw readings. Default: 30 days; at most 366 (a longer range is 422 naming
    `start`)."""
    rows = await trends.voltage(hub.registry, q)
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
async def data_completeness(hub: HubDep, trends: TrendsDep, q: Last7Days) -> CompletenessReport:
    """Data completeness per sensor and grid cell: readings received against those expected
    from each sensor's `interval_s` over its time in the scope during the range (a sensor
    added, moved or retired meanwhile is not missing while it was elsewhere; capped at 100 %
    per sensor), optionally of one grid cell. Default: 7 days; at most 3,700 (a longer range
    is 422 naming `start`)."""
    sensors, grids = await trends.completeness(hub.registry, q)

    def out(c: Completeness) -> CompletenessOut:
        return CompletenessOut(key=c.key, received=c.received, expected=c.expected, ratio=c.ratio)

    return CompletenessReport(sensors=[out(c) for c in sensors], grids=[out(c) for c in grids])
