"""One conversion of request times to stored nanoseconds: the same instant, however it is
written, is the same integer; a zone-less time is the site's local time, never the server's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from domain.instants import INT64_MAX, from_ns, to_ns

SITE = ZoneInfo("Asia/Shanghai")
T0_NS = 1_709_481_600 * 10**9  # 2024-03-04 00:00 in Asia/Shanghai, 2024-03-03 16:00 UTC
AS_A_REQUEST = TypeAdapter(datetime)  # how FastAPI and pydantic bodies read a time


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-04T00:00:00",  # zone-less: site-local
        "2024-03-03T16:00:00Z",
        "2024-03-04T00:00:00+08:00",
        "2024-03-03T18:00:00+02:00",
        "1709481600",  # Unix seconds
    ],
)
def test_every_spelling_of_one_instant_is_the_same_ns(text: str) -> None:
    assert to_ns(AS_A_REQUEST.validate_python(text), SITE) == T0_NS


def test_a_zone_less_time_follows_the_site_not_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # the server's zone must not matter
    time.tzset()
    try:
        naive = datetime(2024, 3, 4, 0, 0)
        assert to_ns(naive, SITE) == T0_NS
        assert to_ns(naive, ZoneInfo("Europe/Berlin")) == T0_NS + 7 * 3600 * 10**9
        assert to_ns(naive, UTC) == T0_NS + 8 * 3600 * 10**9
    finally:
        monkeypatch.undo()
        time.tzset()


def test_exact_to_the_microsecond_and_before_1970() -> None:
    t = datetime(2024, 3, 4, 0, 0, 0, 1, tzinfo=SITE)
    assert to_ns(t, UTC) == T0_NS + 1000
    half_before = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    assert to_ns(half_before, UTC) == -500_000_000  # int(float) would say +0.5 s


def test_far_times_clamp_to_the_64_bit_range() -> None:
    assert to_ns(datetime(9999, 12, 31, tzinfo=UTC), SITE) == INT64_MAX
    assert to_ns(datetime(1, 1, 1, tzinfo=UTC), SITE) == -INT64_MAX


def test_from_ns_round_trips_in_any_zone() -> None:
    t = from_ns(T0_NS + 1000, SITE)
    assert t == datetime(2024, 3, 4, 0, 0, 0, 1, tzinfo=SITE)
    assert t.utcoffset() == timedelta(hours=8)
    assert from_ns(T0_NS) == datetime(2024, 3, 3, 16, tzinfo=UTC)
    assert to_ns(from_ns(-1_500, timezone(timedelta(hours=-5))), UTC) == -2_000  # floor to µs
