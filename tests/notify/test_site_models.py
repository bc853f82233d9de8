"""The site file's `channels:` and `escalation:` are validated on load, naming the entry."""

from __future__ import annotations

import copy
from datetime import time
from typing import Any

import pytest

from domain.site import SiteError, parse_site
from tests.services.tickets.site import SITE


def with_(**more: Any) -> dict[str, Any]:
    data = copy.deepcopy(SITE)
    data.update(more)
    return data


@pytest.mark.parametrize(
    ("channels", "words"),
    [
        ([{"id": "a-b-c", "type": "wecom", "url": "http://x/", "grids": ["nope"]}], "grid 'nope'"),
        ([{"id": "a-b-c", "type": "wecom", "url": "http://x/"}], "no grids and no communities"),
        ([{"id": "a-b-c", "type": "email", "grids": ["qp-g1"]}], "needs 'to' addresses"),
        ([{"id": "a-b-c", "type": "dingtalk", "url": "http://x/", "grids": ["qp-g1"]}], "secret"),
        ([{"id": "a-b-c", "type": "fax", "url": "http://x/", "grids": ["qp-g1"]}], "type"),
        (
            [{"id": "a-b-c", "type": "wecom", "url": "http://x/", "grids": ["qp-g1"],
              "quiet_hours": "25:00-07:00"}],
            "HH:MM-HH:MM",
        ),
        (
            [{"id": "a-b-c", "type": "wecom", "url": "http://x/", "grids": ["qp-g1"],
              "severities": ["urgent"]}],
            "urgent",
        ),
    ],
)  # fmt: skip
def test_bad_channels_are_refused_naming_them(channels: list[dict[str, Any]], words: str) -> None:
    with pytest.raises(SiteError, match="channel") as e:
        parse_site(with_(channels=channels))
    assert words in str(e.value)


def test_escalation_steps_parse_durations_and_check_people() -> None:
    site = parse_site(with_(escalation=[{"after": "30m", "notify": "supervisor"}]))
    assert site.escalation[0].after == 1800
    with pytest.raises(SiteError, match="nobody-here"):
        parse_site(with_(escalation=[{"after": "1h", "notify": "nobody-here"}]))


def test_quiet_hours_wrap_midnight() -> None:
    site = parse_site(
        with_(
            channels=[
                {
                    "id": "a-b-c",
                    "type": "wecom",
                    "url": "http://x/",
                    "grids": ["qp-g1"],
                    "quiet_hours": "22:00-07:00",
                }
            ]
        )
    )
    q = site.channels[0].quiet_hours
    assert q is not None
    assert q.holds(time(23, 30))
    assert q.holds(time(6, 59))
    assert not q.holds(time(7, 0))
    assert not q.holds(time(12, 0))
