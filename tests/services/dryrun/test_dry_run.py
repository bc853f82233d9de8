"""Dry-runs against the real InfluxDB on crafted DO series whose tickets are worked out by hand.

pond-a reports every 5 minutes:
  T0 .. T0+2h      DO 3.2  (fine under the default warning `< 3.0`; low under `< 3.5`)
  T0+2h .. T0+4h   DO 5.0
  T0+4h .. T0+5.5h DO 2.5, 2.4 at T0+5h (low under both)
  T0+5.5h .. 8h    DO 5.0
Default rule (`for` 1 h, cleared past the hysteresis for 1 h): one warning opened at T0+4h
(when the condition began), cleared at T0+6.5h, peak 2.4. With warning.value=3.5 a second,
earlier ticket opens at T0, cleared at T0+3h, peak 3.2.
"""

from __future__ import annotations

import pytest

from adapters.influx.query import InfluxQuery
from domain.site import Registry
from services.dryrun import DryRun, DryRunError, Scope, dry_run, parse_sets
from tests.services.trends.conftest import Write, line

NS = 10**9
MIN = 60 * NS
HOUR = 60 * MIN
T0 = 1_750_000_000 * NS


def do_at(t: int) -> float:
    dt = t - T0
    if dt < 2 * HOUR:
        return 3.2
    if 4 * HOUR <= dt < 5.5 * HOUR:
        return 2.4 if dt == 5 * HOUR else 2.5
    return 5.0


@pytest.fixture
async def pond_data(write: Write) -> None:
    lines = [
        line("pond", "pond-a", t, do=do_at(t), orp=150.0, nh3n=0.5, transparency=60.0)
        for t in range(T0, T0 + 8 * HOUR, 5 * MIN)
    ]
    lines.append(line("pond", "pond-b", T0, do=9.0))
    await write(lines)


def req(patch: dict[str, object] | None = None, **scope: str) -> DryRun:
    return DryRun("pond.low_oxygen", Scope(**scope), T0 - HOUR, T0 + 8 * HOUR, patch=patch or {})


async def test_default_rule_opens_one_ticket_as_worked_out(
    pond_data: None, influx: InfluxQuery, registry: Registry
) -> None:
    r = await dry_run(influx, registry, req(sensor="pond-a"))
    assert r.readings == 96
    assert r.baseline is None
    [t] = r.tickets
    assert (t.sensor, t.rule, t.severity) == ("pond-a", "pond.low_oxygen", "warning")
    assert t.opened_at_ns == T0 + 4 * HOUR
    assert t.cleared_at_ns == T0 + 6 * HOUR + 30 * MIN
    assert t.peak_value == 2.4


async def test_raising_the_do_threshold_adds_the_earlier_ticket(
    pond_data: None, influx: InfluxQuery, registry: Registry
) -> None:
    r = await dry_run(influx, registry, req(parse_sets(["warning.value=3.5"]), kind="pond"))
    assert r.sensors == 2
    assert [(t.sensor, t.opened_at_ns, t.cleared_at_ns, t.peak_value) for t in r.tickets] == [
        ("pond-a", T0, T0 + 3 * HOUR, 3.2),
        ("pond-a", T0 + 4 * HOUR, T0 + 6 * HOUR + 30 * MIN, 2.4),
    ]
    assert r.baseline is not None
    assert [t.opened_at_ns for t in r.baseline] == [T0 + 4 * HOUR]


async def test_a_longer_for_drops_the_short_episode(
    pond_data: None, influx: InfluxQuery, registry: Registry
) -> None:
    r = await dry_run(influx, registry, req({"for": "2h"}, community="qingping"))
    assert r.tickets == []  # the 1.5 h episode no longer lasts long enough
    assert r.baseline is not None
    assert len(r.baseline) == 1


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (DryRun("pond.nope", Scope(sensor="pond-a"), T0, T0 + HOUR), "no rule"),
        (DryRun("sensor.offline", Scope(sensor="pond-a"), T0, T0 + HOUR), "hub's clock"),
        (DryRun("pond.low_oxygen", Scope(sensor="tap-1"), T0, T0 + HOUR), "applies to none"),
        (DryRun("pond.low_oxygen", Scope(), T0, T0 + HOUR), "exactly one"),
        (DryRun("pond.low_oxygen", Scope(sensor="pond-a"), T0, T0 - 1), "end after"),
        (
            DryRun("pond.low_oxygen", Scope(sensor="pond-a"), T0, T0 + HOUR, {"for": "soon"}),
            "pond.low_oxygen",
        ),
    ],
)
async def test_requests_that_cannot_run_say_why(
    influx: InfluxQuery, registry: Registry, request_: DryRun, message: str
) -> None:
    with pytest.raises(DryRunError, match=message):
        await dry_run(influx, registry, request_)


def test_set_options_become_a_nested_patch() -> None:
    assert parse_sets(["warning.value=2.5", "for=30min", "enabled=true"]) == {
        "warning": {"value": 2.5},
        "for": "30min",
        "enabled": True,
    }
    with pytest.raises(DryRunError):
        parse_sets(["nothing"])
