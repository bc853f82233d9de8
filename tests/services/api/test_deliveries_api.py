"""GET /tickets/{id}/deliveries and GET /notify/channels over HTTP, on outbox rows and
`notified` lines written as the notifier writes them (the notifier's own tests drive them
from the robot servers: tests/notify/test_deliveries.py)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from services.notify.deliveries import attempt_note
from tests.notify.support import notified_line, outbox_row
from tests.services.api.conftest import Api


def _seed(api: Api) -> None:
    now = time.time_ns()
    tid = api.ticket_id

    def row(channel: str, status: str, attempts: int, error: str = "", age_s: float = 0) -> None:
        at = now - int(age_s * 1e9)
        s.add(outbox_row(tid, channel, status, attempts, at, error=error))

    def line(note: str) -> None:
        s.add(notified_line(tid, now, note))

    with Session(api.hub.engine) as s, s.begin():
        row("ok-wecom", "sent", 1, age_s=10)
        row("ok-wecom", "sent", 2, age_s=5)
        row("slow-dt", "pending", 2, "throttled (130101 send too fast)")
        row("slow-dt", "sent", 1, age_s=60)
        row("bad-wecom", "sent", 1, age_s=7200)  # worked once, two hours ago
        row("bad-wecom", "failed", 1, "error 93000 invalid webhook url", age_s=30)
        row("bad-wecom", "failed", 1, "error 93000 invalid webhook url", age_s=20)
        row("old", "failed", 1, "error 93000", age_s=3 * 86400)  # outside the window
        line(attempt_note("bad-wecom", "wecom", "opened", "failed", 1, 1, "error 93000 bad key"))
        line(
            attempt_note(
                "slow-dt",
                "dingtalk",
                "opened",
                "throttled, will retry",
                1,
                2,
                "throttled (130101 send too fast)",
            )
        )


async def test_channels_failing_first_with_counts(api: Api) -> None:
    _seed(api)
    r = await api.client.get("/api/v1/notify/channels", headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    got = [
        (c["channel"], c["failing"], c["sent"], c["failed"], c["pending"], c["retrying"])
        for c in body["channels"]
    ]
    assert got[:3] == [
        ("bad-wecom", True, 1, 2, 0, 0),
        ("slow-dt", True, 1, 0, 1, 1),
        ("old", True, 0, 0, 0, 0),
    ]
    assert ("ok-wecom", False, 2, 0, 0, 0) in got
    bad = body["channels"][0]
    assert bad["last_error"] == "error 93000 invalid webhook url"
    assert bad["last_success_at"] < bad["last_error_at"]
    assert bad["configured"] is False
    assert bad["last_ticket"] == api.ticket_id
    assert body["failing"] == 3
    # a longer window counts the old row too
    r = await api.client.get("/api/v1/notify/channels?hours=96", headers=api.headers("admin"))
    old = next(c for c in r.json()["channels"] if c["channel"] == "old")
    assert old["failed"] == 1
    r = await api.client.get("/api/v1/notify/channels?hours=0", headers=api.headers("admin"))
    assert r.status_code == 422


async def test_channels_are_admins_only(api: Api) -> None:
    for who, code in (("officer", 403), ("own", 403), ("other", 403), ("none", 401)):
        r = await api.client.get("/api/v1/notify/channels", headers=api.headers(who))
        assert r.status_code == code, who


async def test_a_tickets_deliveries(api: Api) -> None:
    _seed(api)
    path = f"/api/v1/tickets/{api.ticket_id}/deliveries"
    r = await api.client.get(path, headers=api.headers("own"))
    assert r.status_code == 200, r.text
    by = {c["channel"]: c for c in r.json()["channels"]}
    assert by["bad-wecom"]["state"] == "failed"
    [a] = by["bad-wecom"]["attempts"]
    assert (a["outcome"], a["attempt"], a["code"], a["message"]) == (
        "failed",
        1,
        "93000",
        "bad key",
    )
    slow = by["slow-dt"]
    assert slow["state"] == "throttled"
    assert slow["attempts"][0]["grouped"] == 2
    assert [p["attempts"] for p in slow["pending"]] == [2]
    assert (await api.client.get(path, headers=api.headers("officer"))).status_code == 200
    assert (await api.client.get(path, headers=api.headers("other"))).status_code == 404
    missing = "/api/v1/tickets/999999/deliveries"
    assert (await api.client.get(missing, headers=api.headers("admin"))).status_code == 404
