"""Pond grades and classes and each officers' indicator on crafted data, against hand-computed
answers. Site time zone Asia/Shanghai; T0 is local midnight of Monday 2024-03-04."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout
from domain.site import Registry
from services.trends.calendar import pond_calendars
from services.trends.completeness import completeness
from services.trends.errors import RangeError, UnknownSeries
from services.trends.ponds import pond_status
from services.trends.power import voltage_qualification
from services.trends.query import TrendQuery
from services.trends.sewer import sewer_events
from services.trends.standards import WaterClass
from services.trends.store import TrendStore
from services.trends.water import chlorine_compliance, night_flow
from tests.services.trends.conftest import Write, line

NS = 10**9
H = 3600 * NS
DAY = 24 * H
T0 = 1_709_481_600 * NS
RAW = Layout()


def ask(
    influx: InfluxQuery, registry: Registry, start: int, stop: int, now: int, **scope: str
) -> tuple[TrendStore, TrendQuery]:
    """The store (raw readings only) and the query an indicator is asked with."""
    return TrendStore(influx, RAW, registry), TrendQuery(
        start_ns=start, stop_ns=stop, now_ns=now, **scope
    )


def pond(t: int, sensor: str = "pond-a", **v: float) -> str:
    return line("pond", sensor, t, **v)


async def _pond_days(write: Write) -> None:
    """pond-a: day 1 light (DO mean 1.0), day 2 clean (class II), day 3 heavy (NH3-N 16).
    Each day has a reading at 01:00 and at 23:30 local: the latter is the next UTC day, so
    UTC-aligned days would mix them."""
    days = [
        ((0.5, 1.5), (100, 100), (1.0, 1.0), (50, 50)),
        ((5.5, 6.5), (100, 120), (0.3, 0.5), (30, 30)),
        ((4.0, 4.0), (60, 60), (16.0, 16.0), (40, 40)),
    ]
    lines = []
    for d, (do, orp, nh3n, tr) in enumerate(days):
        for i, t in enumerate((T0 + d * DAY + H, T0 + d * DAY + 23 * H + H // 2)):
            lines.append(pond(t, do=do[i], orp=orp[i], nh3n=nh3n[i], transparency=tr[i]))
    lines.append(pond(T0 + H, "pond-b", do=8.0, nh3n=0.1, orp=200, transparency=60))
    await write(lines)


async def test_pond_grade_and_class_per_local_day(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    await _pond_days(write)
    now = T0 + 3 * DAY
    s = await pond_status(*ask(influx, registry, T0, T0 + 3 * DAY, now, sensor="pond-a"))
    assert [(d.day, d.grade, d.water_class) for d in s.days] == [
        (date(2024, 3, 4), "light", WaterClass.WORSE_THAN_V),
        (date(2024, 3, 5), "none", WaterClass.II),
        (date(2024, 3, 6), "heavy", WaterClass.WORSE_THAN_V),
    ]
    assert s.days[0].means["do"] == pytest.approx(1.0)
    assert s.now.grade == "heavy"
    assert s.now.values == {"transparency": 40.0, "do": 4.0, "orp": 60.0, "nh3n": 16.0}
    assert s.now.times["do"] == T0 + 2 * DAY + 23 * H + H // 2


async def test_pond_now_ignores_readings_older_than_a_day(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    await _pond_days(write)
    s = await pond_status(*ask(influx, registry, T0, T0 + DAY, T0 + 10 * DAY, sensor="pond-a"))
    assert s.now.grade is None
    assert s.now.values == {}


async def test_pond_status_refuses_other_kinds(influx: InfluxQuery, registry: Registry) -> None:
    with pytest.raises(UnknownSeries):
        await pond_status(*ask(influx, registry, T0, T0 + DAY, T0, sensor="tap-1"))


async def test_pond_calendar_and_days_per_class(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    await _pond_days(write)
    cals = {c.sensor: c for c in await pond_calendars(*ask(influx, registry, T0, T0 + 3 * DAY, T0))}
    assert cals["pond-a"].grade_counts() == {"light": 1, "none": 1, "heavy": 1}
    assert cals["pond-a"].class_counts() == {WaterClass.WORSE_THAN_V: 2, WaterClass.II: 1}
    assert [(d.day, d.grade, d.water_class) for d in cals["pond-b"].days] == [
        (date(2024, 3, 4), "none", WaterClass.I)
    ]


async def test_sewer_episodes_per_week(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    freeboard = [1.0, 0.4, 0.1, 0.1, 0.4, 1.0, 0.15, 1.0]
    fill = [0.5, 0.95, 1.1, 0.5, 0.5, 0.5, 0.5, 0.5]
    lines = [
        line("sewer", "mh-1", T0 + i * 60 * NS, freeboard=fb, fill=f)
        for i, (fb, f) in enumerate(zip(freeboard, fill, strict=True))
    ]
    # Next week (Monday 2024-03-11 10:00 local): one more overflow, with a warning around it.
    nxt = T0 + 7 * DAY + 10 * H
    lines += [
        line("sewer", "mh-1", nxt + i * 60 * NS, freeboard=v)
        for i, v in enumerate([0.3, 0.1, 0.3, 2])
    ]
    await write(lines)
    eps, weeks = await sewer_events(*ask(influx, registry, T0, T0 + 14 * DAY, T0))
    assert [(w.week, w.counts) for w in weeks] == [
        (
            date(2024, 3, 4),
            {"overflow": 2, "overflow_warning": 2, "surcharge": 1, "surcharge_warning": 1},
        ),
        (
            date(2024, 3, 11),
            {"overflow": 1, "overflow_warning": 1, "surcharge": 0, "surcharge_warning": 0},
        ),
    ]
    first = next(e for e in eps if e.event == "overflow")
    assert (first.start_ns, first.end_ns, first.peak) == (T0 + 120 * NS, T0 + 180 * NS, 0.1)


async def test_chlorine_compliance(influx: InfluxQuery, write: Write, registry: Registry) -> None:
    values = [0.01, 0.05, 0.08, 0.1, 1.0, 2.0, 2.5, 0.3]
    await write(
        [line("water", "tap-1", T0 + i * 60 * NS, chlorine=v) for i, v in enumerate(values)]
    )
    await write([line("water", "tank-1", T0, chlorine=0.5)])
    rows = {r.sensor: r for r in await chlorine_compliance(*ask(influx, registry, T0, T0 + H, T0))}
    tap = rows["tap-1"]
    assert (tap.compliant.inside, tap.compliant.total) == (6, 8)
    assert (tap.above_warning.inside, tap.above_warning.total) == (5, 8)
    assert rows["tank-1"].compliant.ratio == 1.0


async def test_compliance_needs_raw_data(influx: InfluxQuery, registry: Registry) -> None:
    with pytest.raises(RangeError, match="raw readings"):
        await chlorine_compliance(
            TrendStore(influx, Layout(raw_duration_s=86_400), registry),
            TrendQuery(start_ns=T0, stop_ns=T0 + H, now_ns=T0 + 5 * DAY),
        )


async def test_minimum_night_flow(influx: InfluxQuery, write: Write, registry: Registry) -> None:
    lines = []
    for night in range(2):
        for hour in range(24):
            lines.append(line("water", "tap-1", T0 + night * DAY + hour * H, flow=10.0 + hour))
    special = {  # local time offset -> flow; only 02:00-05:00 counts
        1 * H: 0.5,
        3 * H + 60 * NS: 2.0,
        DAY + 4 * H + 30 * 60 * NS: 3.0,
        DAY + 5 * H + 60 * NS: 0.1,
    }
    lines += [line("water", "tap-1", T0 + dt, flow=v) for dt, v in special.items()]
    await write(lines)
    (row,) = await night_flow(*ask(influx, registry, T0, T0 + 2 * DAY, T0))
    assert row.sensor == "tap-1"
    assert row.nights == [(date(2024, 3, 4), 2.0), (date(2024, 3, 5), 3.0)]


async def test_voltage_qualification_rate(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    values = [220, 197.9, 198, 235.4, 235.5, 0, 100, 230]
    await write([line("power", "tx-1", T0 + i * 60 * NS, voltage=v) for i, v in enumerate(values)])
    (row,) = await voltage_qualification(*ask(influx, registry, T0, T0 + H, T0))
    assert (row.qualified.inside, row.qualified.total, row.outage_readings) == (4, 6, 2)
    assert row.qualified.ratio == pytest.approx(4 / 6)


async def test_data_completeness_per_sensor_and_grid(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    lines = [line("water", "tap-1", T0 + i * 60 * NS, chlorine=0.3, flow=1) for i in range(45)]
    lines += [line("water", "tap-1", T0 + i * 60 * NS + NS, flow=1) for i in range(5)]
    lines += [line("pond", "pond-a", T0 + i * 240 * NS, do=6) for i in range(15)]
    lines += [line("pond", "pond-b", T0 + i * 300 * NS, do=6) for i in range(6)]
    await write(lines)
    sensors, grids = await completeness(*ask(influx, registry, T0, T0 + H, T0))
    got = {c.key: (c.received, c.expected, c.ratio) for c in sensors}
    assert got["tap-1"][:2] == (50, 60)
    assert got["tap-1"][2] == pytest.approx(50 / 60)
    assert got["pond-a"] == (15, 12, 1.0)
    assert got["pond-b"] == (6, 12, 0.5)
    assert got["mh-1"] == (0, 60, 0.0)
    by_grid = {c.key: (c.received, c.expected) for c in grids}
    # qp-g1: tap-1 50/60, pond-a 12/12 (capped), tx-1 0/60
    # qp-g2: pond-b 6/12, tank-1 0/60, mh-1 0/60
    assert by_grid == {"qp-g1": (62, 132), "qp-g2": (6, 132)}
