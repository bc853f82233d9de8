"""sensor.stuck counts consecutive observations (QARTOD flat-line): a hole in the reports ends
the run, so an outage that comes back on the same value is not a flatline; sewer levels are
watched over a day. The test site declares interval_s 60; the series say their own pace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import river  # the dev extra that ships the real series
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.noise import RIVER_RULES, RIVER_SENSOR
from domain.breach import Change
from domain.site import Registry
from services.rules import RuleBook, RuleEngine
from services.rules.book import default_rules_text
from services.rules.state import RuleStateStore
from simulators.replay import read_series
from tests.services.rules.conftest import HOUR, MIN, T0, changes, feed

R, C = Change.RAISED, Change.CLEARED
Series = list[tuple[int, dict[str, float]]]


def flat(metric: str, value: float, start: int, span_s: int, pace_s: int) -> Series:
    """Readings every `pace_s` from `start` for `span_s` (both ends included), one value."""
    return [(start + k * pace_s * 10**9, {metric: value}) for k in range(span_s // pace_s + 1)]


FIVE = 5 * 60

CASES = [
    # (what, sensor, series, the stuck changes expected)
    ("flat 7 h, no hole", "power-01", flat("voltage", 220.0, T0, 7 * 3600, FIVE), [R]),
    (
        "1 h, quiet 6.5 h, back on the same value for 1 h (the issue's power meter)",
        "power-01",
        flat("voltage", 220.0, T0, 3600, FIVE)
        + flat("voltage", 220.0, T0 + 7 * HOUR + 30 * MIN, 3600, FIVE),
        [],
    ),
    (
        "a hole of exactly 3 paces (15 min) keeps the run",
        "power-01",
        flat("voltage", 220.0, T0, 3 * 3600, FIVE)
        + flat("voltage", 220.0, T0 + 3 * HOUR + 15 * MIN, 3 * 3600, FIVE),
        [R],
    ),
    (
        "a hole of 16 min (over 3 paces) ends it: 3 h + 3 h flat is not 6 h",
        "power-01",
        flat("voltage", 220.0, T0, 3 * 3600, FIVE)
        + flat("voltage", 220.0, T0 + 3 * HOUR + 16 * MIN, 3 * 3600, FIVE),
        [],
    ),
    (
        "hourly flow with one missing hour inside a 7 h flat stretch (river's water-flow)",
        "water-01",
        [
            (T0 + h * HOUR, {"flow": 87.34})
            for h in range(8)
            if h != 3  # 2 h apart at the hole: under 3 paces
        ],
        [R],
    ),
    ("sewer level flat 23 h: a quiet day", "sewer-01", flat("fill", 0.31, T0, 23 * 3600, 900), []),
    ("sewer level flat 25 h: fouled", "sewer-01", flat("fill", 0.31, T0, 25 * 3600, 900), [R]),
    (
        "sewer freeboard flat 25 h",
        "sewer-01",
        flat("freeboard", 2.4, T0, 25 * 3600, 900),
        [R],
    ),
    (
        "sewer level flat 24 h across a 4 h dropout: two runs of 10 h",
        "sewer-01",
        flat("fill", 0.31, T0, 10 * 3600, 900) + flat("fill", 0.31, T0 + 14 * HOUR, 10 * 3600, 900),
        [],
    ),
]


@pytest.mark.parametrize(
    ("sensor", "series", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_stuck_on_consecutive_observations(
    make_engine: Callable[..., RuleEngine],
    sensor: str,
    series: Series,
    expected: list[Change],
) -> None:
    out = feed(make_engine(), sensor, series)
    assert changes(out, "sensor.stuck") == expected


def test_a_raised_flatline_survives_a_hole_and_clears_on_a_new_value(
    make_engine: Callable[..., RuleEngine],
) -> None:
    """A hole proves nothing about a flatline already raised: no clear, no second raise."""
    engine = make_engine()
    series = flat("voltage", 220.0, T0, 7 * 3600, FIVE)
    series += flat("voltage", 220.0, T0 + 12 * HOUR, 3600, FIVE)
    series += [(T0 + 14 * HOUR, {"voltage": 221.3})]
    out = [b for b in feed(engine, "power-01", series) if b.rule == "sensor.stuck"]
    assert changes(out) == [R, C]
    assert out[-1].at_ns == T0 + 14 * HOUR


def test_the_pace_survives_a_restart(
    make_engine: Callable[..., RuleEngine], new_store: Callable[[], RuleStateStore]
) -> None:
    """The hole before the first reading after a restart is judged like any other."""
    first = make_engine()
    feed(first, "power-01", flat("voltage", 220.0, T0, 3600, FIVE))
    store = new_store()
    store.save(first.changes())
    row = store.load()[("power-01", "sensor.stuck")]
    assert (row["seen"], row["pace"]) == (T0 + HOUR, FIVE * 10**9)
    second = make_engine(state=store.load())
    back = flat("voltage", 220.0, T0 + 7 * HOUR + 30 * MIN, 3600, FIVE)
    assert changes(feed(second, "power-01", back), "sensor.stuck") == []


@st.composite
def holey_flat(draw: st.DrawFn) -> tuple[Series, int]:
    """One value throughout, in segments shorter than the 6 h window, each of at least two
    readings at a steady pace, separated by holes longer than 3 paces: flat for longer than
    the window only by bridging the holes. Returns the series and its pace in seconds."""
    pace = draw(st.integers(1, 30)) * 60
    out: Series = []
    t = T0
    for _ in range(draw(st.integers(2, 6))):
        n = draw(st.integers(2, max(2, (6 * 3600 - 1) // pace)))
        for k in range(n):
            out.append((t + k * pace * 10**9, {"voltage": 220.0}))
        t = out[-1][0] + draw(st.integers(3 * pace + 1, 24 * 3600)) * 10**9
    return out, pace


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=holey_flat())
def test_a_series_with_holes_longer_than_3_intervals_never_raises_stuck(
    make_engine: Callable[..., RuleEngine], data: tuple[Series, int]
) -> None:
    series, _pace = data
    assert changes(feed(make_engine(), "power-01", series), "sensor.stuck") == []


def test_a_dry_storm_drain_is_switched_off_per_sensor(
    make_engine: Callable[..., RuleEngine], registry: Registry
) -> None:
    """The documented exception: a storm drain's level rests at the invert between storms."""
    defaults = yaml.safe_load(default_rules_text())
    dry = {"sensors": {"sewer-01": {"sensor.stuck": {"metrics": {"sewer": []}}}}}
    book = RuleBook(defaults, dry, registry=registry)
    series = flat("fill", 0.0, T0, 25 * 3600, 900)
    assert changes(feed(make_engine(book=book), "sewer-01", series), "sensor.stuck") == []
    assert changes(feed(make_engine(), "sewer-01", series), "sensor.stuck") == [R]


RIVER_FLAT = [24.27, 24.26, 24.26, 24.26, 24.26, 24.26, 24.25]  # L/s, hourly (river, 03-29)


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [(None, []), ({"flow": 0.08}, [R])],
    ids=["catalog resolution 0.01 m³/h: not flat", "the meter's own steps: flat for 6 h"],
)
def test_a_coarse_meter_gets_its_own_tolerance(
    make_engine: Callable[..., RuleEngine],
    registry: Registry,
    tolerance: dict[str, float] | None,
    expected: list[Change],
) -> None:
    """A run stays flat while its highest and lowest value differ by less than the tolerance
    (default the catalog's resolution); river's meter steps 0.01 L/s = 0.036 m³/h."""
    patch = {"sensors": {"water-01": {"sensor.stuck": {"tolerance": tolerance}}}}
    book = RuleBook(yaml.safe_load(default_rules_text()), patch if tolerance else None)
    series = [(T0 + h * HOUR, {"flow": v * 3.6}) for h, v in enumerate(RIVER_FLAT)]
    assert changes(feed(make_engine(book=book), "water-01", series), "sensor.stuck") == expected


def test_rivers_real_flow_has_one_flatline_the_7_hour_stretch(
    make_engine: Callable[..., RuleEngine], registry: Registry
) -> None:
    """river's water-flow.csv, hourly: of its three calm spells only 03-29 repeats one value
    (24.26 five hours running); the other two dither across neighbouring steps, as a live
    meter does. With the override the noise benchmark uses, that is the one stuck ticket."""
    rows = read_series(Path(river.__file__).parent / "datasets" / "water-flow.csv")
    patch = {"sensors": {"water-01": RIVER_RULES["sensors"][RIVER_SENSOR]}}
    book = RuleBook(yaml.safe_load(default_rules_text()), patch)
    series = [(int(t) * 10**9, {"flow": v * 3.6}) for t, v in rows]
    got = [b for b in feed(make_engine(book=book), "water-01", series) if b.rule == "sensor.stuck"]
    raised = [b for b in got if b.change is R]
    assert [datetime.fromtimestamp(b.since_ns / 10**9, UTC) for b in raised] == [
        datetime(2022, 3, 29, 8, tzinfo=UTC)
    ]
    assert changes(got) == [R, C]
