"""Deliveries in Chromium: a ticket whose WeCom robot answered "wrong key" shows the failed
attempt with the robot's answer; the admin's channels page lists that channel first; an
officer has no link to the page and the API refuses it. The outbox rows and `notified` lines
are written as the notifier writes them (tests/notify/test_deliveries.py drives the notifier
against the robot servers), with the robot server's own answer text."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from domain.breach import Severity
from services.notify.deliveries import attempt_note
from tests.browser.conftest import Server, login, shot
from tests.notify.support import notified_line, outbox_row

pytestmark = pytest.mark.browser

BAD = "error 93000 invalid webhook url, hint: key is invalid"  # tests/robots WeComRobot's answer
SHOTS = os.environ.get("GRIDWATCH_SHOTS")  # also copy the screenshots here when set


def _seed(server: Server) -> int:
    tid = server.breach(
        "water-01",
        "water.pressure_low",
        Severity.CRITICAL,
        metric="pressure",
        value=0.08,
        threshold=0.14,
        comparison="below",
    )
    now = time.time_ns()
    with Session(server.hub.engine) as s, s.begin():
        for i, (channel, type_, status, word, detail) in enumerate(
            [
                (
                    "east-dingtalk",
                    "dingtalk",
                    "pending",
                    "throttled, will retry",
                    "throttled (130101 send too fast, exceed 20 times per minute)",
                ),
                ("east-wecom", "wecom", "failed", "failed", BAD),
                ("east-feishu", "feishu", "sent", "sent", "ok"),
            ]
        ):
            at = now - (3 - i) * 10**9
            error = "" if status == "sent" else detail
            s.add(outbox_row(tid, channel, status, 1, at, due_ns=at + 5 * 10**9, error=error))
            s.add(
                notified_line(tid, at, attempt_note(channel, type_, "opened", word, 1, 1, detail))
            )
    return tid


def _copy(path: Path, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / name).write_bytes(path.read_bytes())


def test_a_failed_delivery_and_the_failing_channels_page(page: Page, server: Server) -> None:
    tid = _seed(server)
    login(page, server, "admin", f"#/ticket/{tid}")
    wecom = page.locator('.delivery-channel[data-channel="east-wecom"]')
    expect(wecom).to_have_attribute("data-state", "failed")
    attempt = wecom.locator("li.attempt")
    expect(attempt).to_have_attribute("data-outcome", "failed")
    expect(attempt).to_contain_text("失败")
    expect(attempt).to_contain_text("第 1 次")
    expect(attempt).to_contain_text("93000")
    expect(attempt).to_contain_text("invalid webhook url")
    dt = page.locator('.delivery-channel[data-channel="east-dingtalk"]')
    expect(dt.locator("li.attempt")).to_contain_text("被限流")
    expect(dt.locator("li.pending-row")).to_have_count(1)
    page.locator(".deliveries").scroll_into_view_if_needed()
    _copy(shot(page, "ticket-deliveries"), "ticket-deliveries.png")
    page.click("button.lang")
    expect(attempt).to_contain_text("Failed")
    expect(attempt).to_contain_text("attempt 1")
    page.click("button.lang")

    page.click("a.nav-channels")
    rows = page.locator("tr.channel-row")
    expect(rows.first).to_have_attribute("data-channel", "east-wecom")
    expect(rows.first).to_have_attribute("data-failing", "yes")
    expect(rows.first.locator("td.failed")).to_have_text("1")
    expect(rows.first.locator("td.last-error")).to_contain_text("93000")
    ok = page.locator('tr.channel-row[data-channel="east-feishu"]')
    expect(ok).to_have_attribute("data-failing", "no")
    expect(ok.locator("td.sent")).to_have_text("1")
    _copy(shot(page, "failing-channels"), "failing-channels.png")


def test_an_officer_does_not_see_the_channels_page(page: Page, server: Server) -> None:
    login(page, server, "officer")
    expect(page.locator("a.nav-queue")).to_be_visible()
    expect(page.locator("a.nav-channels")).to_have_count(0)
    for role in ("officer", "crew"):
        r = httpx.get(
            f"{server.url}/api/v1/notify/channels",
            headers={"Authorization": f"Bearer {server.tokens[role]}"},
        )
        assert r.status_code == 403
    page.goto(f"{server.url}/#/channels")
    expect(page.locator(".channels-body .error")).to_contain_text("没有权限")
