"""Topic grammar and durations: small, shared, and easy to get subtly wrong."""

from __future__ import annotations

import pytest

from domain import topics
from domain.duration import parse_duration, retention_seconds


def test_device_topics_round_trip() -> None:
    t = topics.telemetry("pond", "pond-qp-01", "city/sensors")
    assert t == "city/sensors/pond/pond-qp-01/telemetry"
    parsed = topics.parse(t, "city/sensors")
    assert parsed == topics.DeviceTopic("pond", "pond-qp-01", topics.TELEMETRY)
    assert topics.tickets("qp-g1") == "gridwatch/tickets/qp-g1"


@pytest.mark.parametrize(
    "topic",
    [
        "sensors/pond/pond-qp-01",  # no channel
        "sensors/pond/pond-qp-01/telemetry/extra",
        "sensors//pond-qp-01/telemetry",
        "other/pond/pond-qp-01/telemetry",
        "sensors/pond/pond-qp-01/config",
    ],
)
def test_foreign_topics_are_not_ours(topic: str) -> None:
    assert topics.parse(topic) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15min", 900),
        ("1h30m", 5400),
        ("1d12h", 129_600),
        ("52w", 31_449_600),
        ("2.5h", 9000),
        (300, 300),
        ("300", 300),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "", "-5", "1x", True, -1, "h1"])
def test_unreadable_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_retention() -> None:
    assert retention_seconds("INF") is None
    assert retention_seconds("400d") == 400 * 86_400


@pytest.mark.parametrize("prefix", ["sensors", "city/sensors", "t0123/sensors", "a-b_c.d"])
def test_plain_prefixes_pass(prefix: str) -> None:
    assert topics.check_prefix(prefix) == prefix


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("", "empty"),
        ("a/+", "wildcard"),
        ("#", "wildcard"),
        ("/a", "empty level"),
        ("a/", "empty level"),
        ("a//b", "empty level"),
        ("a b", "space"),
        ("a\nb", "newline"),
        ("$SYS", r"\$"),
    ],
)
def test_one_prefix_check_refuses_what_the_gateway_or_the_broker_cannot_use(
    prefix: str, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        topics.check_prefix(prefix)
