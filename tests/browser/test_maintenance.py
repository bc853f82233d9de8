"""Maintenance windows on the dashboard, in a real Chromium against the real server: a crew
member marks one of its sensors under maintenance from the map until a time with a note, sees
the window listed and the sensor ringed on the map (and the server holds it), ends it; an
officer, who may only read, is told so on a ticket's page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, login, shot

pytestmark = pytest.mark.browser

BROWSER_TZ = ZoneInfo("Asia/Shanghai")  # the browser context's timezone_id


def _current(server: Server, sensor: str) -> list[dict[str, object]]:
    r = httpx.get(
        f"{server.url}/api/v1/maintenance",
        params={"sensor": sensor, "current": "true"},
        headers={"Authorization": f"Bearer {server.tokens['admin']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    windows: list[dict[str, object]] = r.json()["windows"]
    return windows


def test_crew_marks_a_sensor_under_maintenance_from_the_map(page: Page, server: Server) -> None:
    login(page, server, "crew", "#/map")
    page.click('g.sensor[data-sensor="pond-01"]')
    panel = page.locator('aside.map-info section.maintenance[data-sensor="pond-01"]')
    expect(panel.locator("h3")).to_have_text("维护期")
    expect(panel.locator("li.none")).to_have_text("当前没有维护期。")

    until = (datetime.now(BROWSER_TZ) + timedelta(hours=3)).replace(second=0, microsecond=0)
    panel.locator("input.maint-end").fill(until.strftime("%Y-%m-%dT%H:%M"))
    panel.locator("input.maint-note").fill("更换溶解氧探头")
    panel.locator("button.maint-start").click()

    window = panel.locator("li.window")
    expect(window).to_have_count(1)
    expect(window).to_have_attribute("data-active", "yes")
    expect(window).to_contain_text("维护中")
    expect(window).to_contain_text("更换溶解氧探头")
    expect(window).to_contain_text("crew-east")
    expect(window).to_contain_text(until.strftime("%H:%M"))
    expect(panel.locator(".maint-result")).to_have_text("已标记为维护中")
    dot = page.locator('g.sensor[data-sensor="pond-01"]')
    expect(dot).to_have_attribute("data-maintenance", "yes")  # a dashed ring on the map
    expect(page.locator('g.sensor[data-sensor="water-01"]')).to_have_attribute(
        "data-maintenance", "no"
    )
    shot(page, "09-map-maintenance")

    [held] = _current(server, "pond-01")
    assert held["note"] == "更换溶解氧探头"
    assert held["created_by"] == "crew-east"
    assert datetime.fromisoformat(str(held["end"])) == until

    window.locator("button.maint-stop").click()
    expect(panel.locator("li.none")).to_have_text("当前没有维护期。")
    expect(panel.locator(".maint-result")).to_have_text("维护已结束")
    expect(dot).to_have_attribute("data-maintenance", "no")
    assert _current(server, "pond-01") == []


def test_an_officer_sees_windows_on_a_ticket_but_may_not_set_one(
    page: Page, server: Server
) -> None:
    login(page, server, "officer", f"#/ticket/{server.tickets['chlorine']}")
    panel = page.locator('section.maintenance[data-sensor="water-01"]')
    expect(panel.locator("li.none")).to_have_text("当前没有维护期。")
    page.click("button.lang")
    panel = page.locator('section.maintenance[data-sensor="water-01"]')
    expect(panel.locator("h3")).to_have_text("Maintenance")
    expect(panel.locator("form.maint-form")).to_have_count(0)  # read-only: no form (GET /me)
    expect(panel.locator("li.none")).to_have_text("No current maintenance window.")
    shot(page, "10-ticket-maintenance-officer-refused")
    assert _current(server, "water-01") == []
