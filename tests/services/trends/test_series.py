"""GET /series semantics: exact server-side downsampling on raw and rolled-up data, and bounds
that refuse a query before it runs."""

from __future__ import annotations

import pytest

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout, backfill_rollup, ensure_retention
from domain.site import Registry
from services.trends.errors import RangeError, UnknownSeries
from services.trends.query import TrendQuery
from services.trends.series import parse_every, plan_series, run_series
from tests.services.trends.conftest import Write, line

NS = 10**9
T0 = 1_709_481_600 * NS  # 2024-03-04 00:00 Asia/Shanghai (16:00 UTC the day before)
RAW = Layout()


def window(start: int, stop: int, now: int = T0, sensor: str = "tap-1") -> TrendQuery:
    return TrendQuery(start_ns=start, stop_ns=stop, now_ns=now, sensor=sensor)


async def _chlorine_ramp(write: Write) -> None:
    """tap-1 chlorine = i/100 mg/L at minute i, for two hours."""
    await write([line("water", "tap-1", T0 + i * 60 * NS, chlorine=i / 100) for i in range(120)])


@pytest.mark.parametrize(
    ("agg", "first", "second"),
    [
        ("mean", 0.145, 0.445),
        ("min", 0.0, 0.30),
        ("max", 0.29, 0.59),
        ("last", 0.29, 0.59),
        ("count", 30.0, 30.0),
    ],
)
async def test_raw_downsampling_is_exact(
    influx: InfluxQuery, write: Write, registry: Registry, agg: str, first: float, second: float
) -> None:
    await _chlorine_ramp(write)
    plan = plan_series(registry, RAW, window(T0, T0 + 3600 * NS), "chlorine", 1800, agg)
    result = await run_series(influx, plan)
    assert result.source == "raw"
    assert result.unit == "mg/L"
    assert [t for t, _ in result.points] == [T0, T0 + 1800 * NS]
    assert [v for _, v in result.points] == pytest.approx([first, second])


async def test_long_ranges_read_the_hourly_rollup_with_the_same_answers(
    influx: InfluxQuery, write: Write, registry: Registry
) -> None:
    layout = await ensure_retention(influx, influx.db)
    await _chlorine_ramp(write)
    await backfill_rollup(influx, influx.db, layout, T0, T0 + 2 * 3600 * NS)
    stop = T0 + 120 * 86_400 * NS
    for agg in ("mean", "min", "max", "last", "count"):
        raw = await run_series(
            influx,
            plan_series(registry, layout, window(T0, T0 + 2 * 3600 * NS), "chlorine", 3600, agg),
        )
        rolled_plan = plan_series(registry, layout, window(T0, stop), "chlorine", 3600, agg)
        rolled = await run_series(influx, rolled_plan)
        assert rolled.source == "hourly"
        assert [t for t, _ in rolled.points] == [t for t, _ in raw.points] == [T0, T0 + 3600 * NS]
        assert [v for _, v in rolled.points] == pytest.approx([v for _, v in raw.points])
        day = await run_series(
            influx, plan_series(registry, layout, window(T0, stop), "chlorine", 86_400, agg)
        )
        expected = {"mean": 0.595, "min": 0.0, "max": 1.19, "last": 1.19, "count": 120.0}[agg]
        assert [t for t, _ in day.points] == [T0]
        assert day.points[0][1] == pytest.approx(expected), agg


def test_days_are_site_local(registry: Registry) -> None:
    plan = plan_series(registry, RAW, window(T0, T0 + 86_400 * NS), "chlorine", 86_400, "mean")
    assert "tz('Asia/Shanghai')" in plan.text


@pytest.mark.parametrize(
    ("sensor", "metric", "span_s", "every", "agg", "error", "words"),
    [
        ("tap-1", "chlorine", 10 * 365 * 86_400, "1s", "mean", RangeError, "5000"),
        ("tap-1", "chlorine", 86_400, "10s", "mean", RangeError, "every=18s"),
        ("tap-1", "chlorine", 30 * 366 * 86_400, "1w", "mean", RangeError, "20 years"),
        ("tap-1", "chlorine", 3600, "1m", "median", RangeError, "agg"),
        ("tap-1", "chlorine", 0, "1m", "mean", RangeError, "after start"),
        ("nope-1", "chlorine", 3600, "1m", "mean", UnknownSeries, "nope-1"),
        ("tap-1", "do", 3600, "1m", "mean", UnknownSeries, "water"),
        ("tap-1", 'chlorine" FROM x', 3600, "1m", "mean", UnknownSeries, "metric"),
    ],
)
def test_bad_requests_are_refused_before_querying(
    registry: Registry,
    sensor: str,
    metric: str,
    span_s: int,
    every: str,
    agg: str,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=words):
        plan_series(
            registry,
            RAW,
            window(T0, T0 + span_s * NS, sensor=sensor),
            metric,
            parse_every(every),
            agg,
        )


def test_old_data_needs_whole_hour_steps(registry: Registry) -> None:
    layout = Layout(raw_duration_s=30 * 86_400)
    now = T0 + 60 * 86_400 * NS
    with pytest.raises(RangeError, match="30 days"):
        plan_series(registry, layout, window(T0, T0 + 86_400 * NS, now), "chlorine", 300, "mean")
    plan = plan_series(
        registry, layout, window(T0, T0 + 86_400 * NS, now), "chlorine", 3600, "mean"
    )
    assert plan.source.name == "hourly"


def test_health_fields_are_series_too(registry: Registry) -> None:
    plan = plan_series(registry, RAW, window(T0, T0 + 3600 * NS), "battery_v", 60, "min")
    assert plan.unit == "V"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172_800), ("1w", 604_800), ("90", 90)],
)
def test_parse_every(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "1y", "-1h", "1h;DROP", "5 m", "1.5h"])
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(RangeError):
        parse_every(text)
