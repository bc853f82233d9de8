"""Limit rules on event-time series: for, hysteresis, escalation, clear duration (contract §4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.breach import Change, Severity
from services.rules import RuleEngine
from tests.services.rules.conftest import HOUR, MIN, T0, feed

R, H, E, C = Change.RAISED, Change.HOLDING, Change.ESCALATED, Change.CLEARED
W, CR = Severity.WARNING, Severity.CRITICAL


def every_5min(metric: str, *runs: tuple[float, int]) -> list[tuple[int, dict[str, float]]]:
    """(value, count) runs of readings five minutes apart, starting at T0."""
    values = [v for v, n in runs for _ in range(n)]
    return [(T0 + i * 5 * MIN, {metric: v}) for i, v in enumerate(values)]


CASES = [
    # id, sensor, rule, series, expected (change, severity) without HOLDING
    (
        "shorter than for: nothing",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 12), (5.0, 3)),
        [],
    ),
    ("held for 1 h: raised", "pond-01", "pond.low_oxygen", every_5min("do", (2.5, 13)), [(R, W)]),
    (
        "flapping inside the hysteresis band: one raise, no recovery",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), *[(2.95, 1), (3.1, 1)] * 20),
        [(R, W)],
    ),
    (
        "escalation warning -> critical on the same condition",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), (1.5, 13)),
        [(R, W), (E, CR)],
    ),
    (
        "critical from the start raises critical",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (1.5, 13)),
        [(R, CR)],
    ),
    (
        "critical shorter than for while warning: no escalation",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), (1.5, 6), (2.5, 3)),
        [(R, W)],
    ),
    (
        "recovery after the clear duration",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), (3.5, 13)),
        [(R, W), (C, W)],
    ),
    (
        "critical recovers with its own severity",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (1.5, 13), (3.5, 13)),
        [(R, CR), (C, CR)],
    ),
    (
        "clear interrupted by a relapse: still active",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), (3.5, 6), (2.9, 1), (3.5, 12)),
        [(R, W)],
    ),
    (
        "after recovery a new breach raises again",
        "pond-01",
        "pond.low_oxygen",
        every_5min("do", (2.5, 13), (3.5, 13), (2.5, 13)),
        [(R, W), (C, W), (R, W)],
    ),
    (
        "for 0: at once, escalate and clear at once",
        "sewer-01",
        "sewer.overflow",
        every_5min("freeboard", (0.6, 1), (0.4, 1), (0.45, 1), (0.1, 1), (0.6, 1)),
        [(R, W), (E, CR), (C, CR)],
    ),
    (
        "inclusive limit (h2s >= 10 ppm)",
        "sewer-01",
        "sewer.h2s",
        every_5min("h2s", (9.9, 1), (10.0, 1)),
        [(R, W)],
    ),
    (
        "band: outside 209-231 V for 10 min",
        "power-01",
        "power.voltage",
        every_5min("voltage", (220, 1), (235, 3)),
        [(R, W)],
    ),
    (
        "band: inside again but within hysteresis stays active",
        "power-01",
        "power.voltage",
        every_5min("voltage", (235, 3), (230.5, 10)),
        [(R, W)],
    ),
    (
        "band: clears well inside",
        "power-01",
        "power.voltage",
        every_5min("voltage", (235, 3), (220, 3)),
        [(R, W), (C, W)],
    ),
    (
        "critical-only rule (outage < 132 V)",
        "power-01",
        "power.outage",
        every_5min("voltage", (220, 1), (0, 2), (225, 1)),
        [(R, CR), (C, CR)],
    ),
    (
        "battery < 3.4 V for 1 h",
        "water-01",
        "sensor.battery",
        every_5min("battery_v", (3.3, 13)),
        [(R, W)],
    ),
    (
        "battery < 3.2 V escalates",
        "water-01",
        "sensor.battery",
        every_5min("battery_v", (3.3, 13), (3.1, 13)),
        [(R, W), (E, CR)],
    ),
    (
        "battery sag shorter than 1 h: nothing",
        "water-01",
        "sensor.battery",
        every_5min("battery_v", (3.3, 6), (3.6, 1), (3.3, 6)),
        [],
    ),
]


@pytest.mark.parametrize(
    ("sensor", "rule", "series", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_limit_rule_series(
    make_engine: Callable[..., RuleEngine],
    sensor: str,
    rule: str,
    series: list[tuple[int, dict[str, float]]],
    expected: list[tuple[Change, Severity]],
) -> None:
    breaches = [b for b in feed(make_engine(), sensor, series) if b.rule == rule]
    got = [(b.change, b.severity) for b in breaches if b.change is not H]
    assert got == expected


def test_raise_reports_event_times_and_the_standard(make_engine: Callable[..., RuleEngine]) -> None:
    """What the ticket text needs: since (first breaching reading), the limit and its source."""
    engine = make_engine()
    series = every_5min("do", (2.5, 13), (1.5, 13))
    out = [b for b in feed(engine, "pond-01", series) if b.rule == "pond.low_oxygen"]
    raised = next(b for b in out if b.change is R)
    assert (raised.since_ns, raised.at_ns) == (T0, T0 + HOUR)
    assert (raised.comparison, raised.threshold, raised.value) == ("below", 3.0, 2.5)
    assert raised.provenance == "S"
    assert "GB 3838-2002" in raised.source
    escalated = next(b for b in out if b.change is E)
    assert escalated.since_ns == T0  # the same condition, begun at the first breach
    assert (escalated.threshold, escalated.limit_zh, escalated.limit_en) == (
        2.0,
        "轻度黑臭",
        "light black-odorous",
    )
    assert escalated.source.startswith("城市黑臭水体整治工作指南")
    assert escalated.at_ns == T0 + 13 * 5 * MIN + HOUR


def test_holding_on_every_breaching_reading_while_active(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    out = feed(engine, "sewer-01", every_5min("h2s", (12, 4), (5, 1)))
    assert [b.change for b in out if b.rule == "sewer.h2s"] == [R, H, H, H, C]
    assert [b.value for b in out if b.change is H] == [12, 12, 12]


def test_band_reports_the_bound_crossed(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    out = feed(engine, "power-01", every_5min("frequency", (49.6, 1), (49.6, 1)))
    raised = next(b for b in out if b.change is R)
    assert (raised.comparison, raised.threshold) == ("below", 49.8)
    assert raised.source.startswith("GB/T 15945-2008")


def test_fields_without_a_rule_are_ignored(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    assert feed(engine, "water-01", every_5min("rssi_dbm", (-139, 20))) == []
    assert feed(engine, "water-01", [(T0 + 999 * MIN, {"flow": 1.0})]) == []
