"""A ticket's deliveries and the channels' health, read back from what the real notifier wrote
while it talked to the local robot servers (a good key, a wrong key, a throttling robot)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from services.notify.deliveries import (
    attempt_note,
    channel_health,
    parse_answer,
    parse_note,
    ticket_deliveries,
)
from services.notify.directory import SiteDirectory
from services.tickets.errors import TicketNotFound
from tests.notify.conftest import SECRET_DT
from tests.notify.support import running, settle, site, until
from tests.robots.server import DingTalkRobot, WeComRobot


@pytest.mark.parametrize(
    ("word", "group", "detail", "outcome", "code", "message"),
    [
        ("sent", 1, "ok", "sent", "0", "ok"),
        ("failed", 1, "error 93000 invalid webhook url", "failed", "93000", "invalid webhook url"),
        (
            "throttled, will retry",
            3,
            "throttled (45009 api freq)",
            "throttled",
            "45009",
            "api freq",
        ),
        ("will retry", 1, "HTTP 503", "retrying", "HTTP 503", ""),
        ("will retry", 1, "ConnectTimeout", "retrying", None, "ConnectTimeout"),
    ],
)
def test_a_note_reads_back_as_written(
    word: str, group: int, detail: str, outcome: str, code: str | None, message: str
) -> None:
    note = attempt_note("qp-wecom", "wecom", "opened", word, 2, group, detail)
    parsed = parse_note(7, 10**18, note)
    assert parsed is not None
    channel, type_, a = parsed
    assert (channel, type_, a.event, a.attempt) == ("qp-wecom", "wecom", "opened", 2)
    assert (a.outcome, a.code, a.message) == (outcome, code, message)
    assert a.grouped == (group if group > 1 else None)
    assert parse_answer("error 310000 sign not match") == ("310000", "sign not match")
    assert parse_note(1, 0, "not a delivery") is None


async def test_deliveries_and_health_from_the_robots(
    engine: Engine, wecom: WeComRobot, dingtalk: DingTalkRobot
) -> None:
    bad = wecom.url.replace("wecom-key-1", "wrong-key")
    reg = site(
        [
            {"id": "qp-wecom", "type": "wecom", "url": wecom.url, "grids": ["qp-g1"]},
            {"id": "qp-wecom-old", "type": "wecom", "url": bad, "grids": ["qp-g1"]},
            {
                "id": "qp-dt",
                "type": "dingtalk",
                "url": dingtalk.url,
                "secret": SECRET_DT,
                "grids": ["qp-g1"],
            },
        ]
    )
    async with running(engine, reg, window_s=0, retry_base_s=0.15) as hub:
        # the DingTalk robot already took its 20 messages of this minute; the oldest is 59 s old
        now = time.monotonic()
        dingtalk._sends.extend([now - 59.0] + [now - 1] * 19)
        n = hub.open()
        await until(lambda: all(r.status != "pending" for r in hub.rows()), what="all done")
        await settle(0.2)
    tid = n.ticket.id
    types = {c.id: c.type.value for c in SiteDirectory(reg).channels()}
    d = ticket_deliveries(engine, tid, None, types)
    by = {c.channel: c for c in d.channels}
    assert sorted(by) == ["qp-dt", "qp-wecom", "qp-wecom-old"]

    old = by["qp-wecom-old"]
    assert old.state == "failed"
    assert old.type == "wecom"
    [a] = old.attempts
    assert (a.outcome, a.attempt, a.code, a.event) == ("failed", 1, "93000", "opened")
    assert "invalid webhook url" in a.message

    assert [x.outcome for x in by["qp-wecom"].attempts] == ["sent"]
    dt = by["qp-dt"].attempts
    assert dt[0].outcome == "throttled"
    assert dt[0].code == "130101"
    assert dt[-1].outcome == "sent"
    assert dt[-1].attempt == len(dt) >= 2
    assert all(not c.pending for c in d.channels)

    assert ticket_deliveries(engine, tid, frozenset({"qp-g1"}), types).ticket == tid
    with pytest.raises(TicketNotFound):
        ticket_deliveries(engine, tid, frozenset({"hx-g1"}), types)

    health = channel_health(engine, SiteDirectory(reg).channels(), 0)
    first = health.channels[0]
    assert first.channel == "qp-wecom-old"
    assert first.failing
    assert (first.sent, first.failed, first.pending) == (0, 1, 0)
    assert "93000" in first.last_error
    assert first.last_error_at is not None
    assert first.last_success_at is None
    assert first.last_ticket == tid
    rest = {h.channel: h for h in health.channels[1:]}
    assert not rest["qp-wecom"].failing
    assert rest["qp-wecom"].sent == 1
    assert not rest["qp-dt"].failing
    assert rest["qp-dt"].last_success_at is not None
    assert health.failing == 1
    # the window: rows created before it are not counted
    later = channel_health(engine, SiteDirectory(reg).channels(), time.time_ns())
    assert all(h.sent + h.failed + h.pending == 0 for h in later.channels)
