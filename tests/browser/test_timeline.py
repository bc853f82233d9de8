"""A ticket with a long timeline on the dashboard: the page shows the newest lines, "older
entries" pages back to the first one, and a live comment joins what is shown without losing
the older pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from domain.breach import Severity
from services.tickets.reads import RECENT
from tests.browser.conftest import Server, login

pytestmark = pytest.mark.browser

COMMENTS = 90  # the newest 20, then 50 older, then the last 21


def test_the_timeline_loads_older_entries_and_keeps_them_on_a_live_event(
    page: Page, server: Server
) -> None:
    tid = server.breach(
        "pond-01",
        "pond.nh3n_high",
        Severity.WARNING,
        metric="nh3n",
        value=9.0,
        threshold=8.0,
        comparison="above",
    )
    for i in range(COMMENTS):
        server.hub.tickets.actions.comment(tid, "crew-east", f"记录 {i}", None)
    login(page, server, "crew", f"#/ticket/{tid}")
    lines = page.locator("ol.timeline li[data-event]")
    expect(lines).to_have_count(RECENT)
    expect(lines.last).to_contain_text(f"记录 {COMMENTS - 1}")
    more = page.locator("button.more-events")
    expect(more).to_contain_text(str(COMMENTS + 1 - RECENT))

    more.click()  # 50 more: not yet the first line
    expect(lines).to_have_count(RECENT + 50)
    more.click()
    expect(lines).to_have_count(COMMENTS + 1)
    expect(more).to_have_count(0)
    expect(lines.first).to_have_attribute("data-event", "opened")

    server.hub.tickets.actions.comment(
        tid, "crew-east", "现场处理中", None
    )  # reaches the page live
    expect(lines).to_have_count(COMMENTS + 2)
    expect(lines.last).to_contain_text("现场处理中")
    expect(lines.first).to_have_attribute("data-event", "opened")
    ids = [int(x) for x in lines.evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids == sorted(set(ids))
