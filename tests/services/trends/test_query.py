"""TrendQuery: the one place a trend's window is checked — and what it refuses, with the
parameter to change."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.trends.errors import RangeError
from services.trends.query import TrendQuery

NS = 10**9
T0 = 1_709_481_600 * NS  # 2024-03-04 00:00 Asia/Shanghai
SITE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("start", "stop", "field", "words"),
    [
        (T0, T0, "stop", "after start"),
        (T0 + NS, T0, "stop", "after start"),
        (-NS, T0, "start", "1970"),
        (T0, 7_258_118_400 * NS + 1, "stop", "2200"),
        (T0, T0 + 21 * 366 * 86_400 * NS, "start", "20 years"),
    ],
)
def test_refused_windows_name_the_parameter(start: int, stop: int, field: str, words: str) -> None:
    with pytest.raises(RangeError, match=words) as e:
        TrendQuery(start_ns=start, stop_ns=stop, now_ns=T0)
    assert e.value.field == field


def test_defaults_and_site_local_times() -> None:
    q = TrendQuery.window(
        tz=SITE, now_ns=T0, start=None, stop=None, default=timedelta(days=30), community="qp"
    )
    assert (q.start_ns, q.stop_ns, q.now_ns, q.community) == (T0 - 30 * 86_400 * NS, T0, T0, "qp")
    q = TrendQuery.window(
        tz=SITE,
        now_ns=T0 + 86_400 * NS,
        start=datetime(2024, 3, 4),  # zone-less: site-local midnight
        stop=None,
        default=timedelta(days=1),
    )
    assert q.start_ns == T0
    assert q.span_s == 86_400


def test_limit_span_refuses_on_start() -> None:
    q = TrendQuery(start_ns=T0, stop_ns=T0 + 2 * 86_400 * NS, now_ns=T0)
    q.limit_span(2 * 86_400, "fine")
    with pytest.raises(RangeError, match="one day") as e:
        q.limit_span(86_400, "one day at most")
    assert e.value.field == "start"


def test_frozen() -> None:
    q = TrendQuery(start_ns=T0, stop_ns=T0 + NS, now_ns=T0)
    with pytest.raises(ValueError, match="frozen"):
        q.start_ns = 0  # type: ignore[misc]
