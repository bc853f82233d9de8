"""The one duration parser and the retention type every reader of a retention uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.duration import Retention, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("INF", None),
        ("inf", None),
        ("90d", 90 * 86_400),
        ("15min", None),
        ("1h30m", 5400),
        ("52w", 52 * 604_800),
        ("1h", 3600),
        (7200, 7200),
        ("1d12h", 129_600),
    ],
)
def test_retention_reads_what_the_duration_parser_reads(
    text: str | int, seconds: int | None
) -> None:
    if text == "15min":  # a duration, but under InfluxDB's one-hour minimum
        with pytest.raises(ValueError, match="at least 1h"):
            Retention.parse(text)
        return
    assert Retention.parse(text).seconds == seconds


@pytest.mark.parametrize("bad", ["soon", "", "-1h", "1x", "90 days", "1.5s"])
def test_unreadable_retentions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"duration|retention"):
        Retention.parse(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (5400, "1h30m"),
        (129_600, "1d12h"),
        (604_800, "1w"),
        (694_861, "1w1d1h1m1s"),
    ],
)
def test_canonical_text(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_retention_text_is_inf_or_canonical() -> None:
    assert str(Retention.parse("INF")) == "INF"
    assert str(Retention.parse("2160h")) == "12w6d"


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_is_the_identity(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=3600, max_value=10**10))
def test_a_retention_survives_its_own_text(seconds: int) -> None:
    r = Retention(seconds)
    assert Retention.parse(str(r)) == r
