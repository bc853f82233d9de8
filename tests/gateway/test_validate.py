"""gateway.validate: reading times and the judging of one reading against the catalog."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.measurement import RejectReason
from gateway.decode import Reading
from gateway.validate import TimestampError, Window, judge, timestamp_ns
from tests.gateway.ingest_site import NOW_NS, TS, registry

S = 10**9


@pytest.mark.parametrize(
    ("ts", "ns"),
    [
        (TS, TS * S),
        (TS + 0.000001, TS * S + 1_000),
        (TS * 1000, TS * S),
        (TS * 1000 + 0.5, TS * S + 500_000),
        (10**12, 10**12 * S),  # the boundary itself is still seconds
        (10**12 + 1, (10**12 + 1) * 10**6),
        (-(10**12) - 1, (-(10**12) - 1) * 10**6),
        ("2025-11-26T08:00:00Z", TS * S),
        ("2025-11-26t08:00:00z", TS * S),
        ("2025-11-26T08:00:00.123456789Z", TS * S + 123_456_000),
        ("2025-11-26T03:00:00-05:00", TS * S),
    ],
)
def test_timestamp_forms(ts: object, ns: int) -> None:
    assert timestamp_ns(ts) == ns


@pytest.mark.parametrize(
    "ts",
    [float("nan"), float("inf"), True, None, [1], "2025-11-26", "2025-11-26T08:00:00", "x" * 65],
)
def test_timestamp_refusals(ts: object) -> None:
    with pytest.raises(TimestampError):
        timestamp_ns(ts)


@given(st.integers(min_value=1_262_304_000, max_value=4_102_444_800))
def test_seconds_and_milliseconds_agree(seconds: int) -> None:
    assert timestamp_ns(seconds) == timestamp_ns(seconds * 1000) == seconds * S


def test_judge_reports_reasons_through_the_callback() -> None:
    placement = registry().get("pond-qp-01")
    assert placement is not None
    seen: list[tuple[RejectReason, str, str | None]] = []
    window = Window(oldest=0, newest=NOW_NS)
    readings = [
        Reading(TS, {"do": 5.0, "temp": 300.0}, units={"temp": "K"}),
        Reading(TS + 10**6, {"do": 5.0}),
    ]
    [m] = judge(readings, placement, NOW_NS, window, lambda r, d, n: seen.append((r, d, n)))
    assert m.fields == {"do": 5.0, "temp": pytest.approx(26.85)}
    assert [(r, n) for r, _, n in seen] == [(RejectReason.FUTURE_TS, None)]
