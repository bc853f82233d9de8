"""What a crew member and an officer do on the dashboard, in a real Chromium against the real
server: log in, work the queue, acknowledge, read a chart, switch language, look at the map,
see a new ticket arrive live, export CSV."""

from __future__ import annotations

import csv
import io
import time

import pytest
from playwright.sync_api import Page, expect

from domain.breach import Severity
from services.db.rule_state import SqlRuleStateStore
from services.rules.silence import HUB_ROW
from tests.browser.conftest import Server, login, shot

pytestmark = pytest.mark.browser


def test_a_wrong_token_is_refused_and_the_login_stays(page: Page, server: Server) -> None:
    page.goto(server.url)
    expect(page.locator("form.login h2")).to_have_text("登录")
    page.fill("#token", "gw_not-a-real-token")
    page.click("button.submit")
    expect(page.locator(".login-error")).to_have_text("令牌无效或已过期。")
    expect(page.locator("header.top")).to_have_count(0)
    shot(page, "01-login-refused")


def test_crew_sees_only_its_grid_queue_in_chinese(page: Page, server: Server) -> None:
    login(page, server, "crew")
    rows = page.locator("tr.ticket-row")
    expect(rows).to_have_count(3)  # grid-east: oxygen, chlorine, offline; not power-01 (west)
    expect(page.locator("h1")).to_have_text("工单队列")
    expect(page.locator("tbody")).to_contain_text("pond-01")
    expect(page.locator("tbody")).not_to_contain_text("power-01")
    expect(page.locator(f'tr[data-ticket="{server.tickets["oxygen"]}"]')).to_contain_text("严重")
    shot(page, "02-queue-crew-zh")

    page.select_option('select[name="severity"]', "critical")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("pond-01")


def test_crew_acknowledges_a_ticket_and_sees_its_status_change(page: Page, server: Server) -> None:
    tid = server.tickets["chlorine"]
    login(page, server, "crew")
    page.click(f'tr[data-ticket="{tid}"]')
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "open")
    page.click("button.ack")
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "acknowledged")
    expect(page.locator(".ticket-status")).to_have_text("已确认")
    expect(page.locator('ol.timeline li[data-event="acknowledged"]')).to_contain_text("crew-east")

    page.fill("input.comment-text", "已到现场，正在排查")
    page.click("button.comment")
    expect(page.locator('ol.timeline li[data-event="commented"]')).to_contain_text("正在排查")
    shot(page, "03-ticket-acknowledged")
    assert server.hub.tickets.reads.get(tid).status == "acknowledged"

    page.click("a.back")
    expect(page.locator(f'tr[data-ticket="{tid}"]')).to_have_attribute(
        "data-status", "acknowledged"
    )


def test_ticket_shows_a_chart_of_the_metric_around_the_breach(page: Page, server: Server) -> None:
    login(page, server, "crew", f"#/ticket/{server.tickets['oxygen']}")
    expect(page.locator(".ticket h2").first).to_have_text("处理记录")
    expect(page.locator(".chart canvas")).to_have_count(1)
    expect(page.locator(".chart .u-legend")).to_contain_text("do")
    # uPlot's legend shows the value under the cursor: hover the last hour, where DO < 2.
    box = page.locator(".chart .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.97, box["y"] + box["height"] / 2)
    value = page.locator(".chart .u-legend .u-series:nth-child(2) .u-value").inner_text()
    assert float(value) < 2.0
    shot(page, "04-ticket-chart")


def test_language_switch_turns_the_page_english_and_back(page: Page, server: Server) -> None:
    login(page, server, "crew")
    expect(page.locator("nav a.nav-queue")).to_have_text("工单队列")
    page.click("button.lang")
    expect(page.locator("nav a.nav-queue")).to_have_text("Ticket queue")
    expect(page.locator("h1")).to_have_text("Ticket queue")
    expect(page.locator("th").first).to_have_text("No.")
    expect(page.locator("tbody")).to_contain_text("Critical")
    shot(page, "05-queue-english")
    page.reload()
    expect(page.locator("h1")).to_have_text("Ticket queue")  # remembered
    page.click("button.lang")
    expect(page.locator("h1")).to_have_text("工单队列")


def test_map_draws_every_sensor_coloured_by_state(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/map")
    expect(page.locator("svg.site-map g.sensor")).to_have_count(5)
    expect(page.locator("svg.site-map g.grid-cell")).to_have_count(2)
    states = {
        s: page.locator(f'g.sensor[data-sensor="{s}"]').get_attribute("data-state")
        for s in ("pond-01", "water-01", "sewer-01", "power-01", "pond-02")
    }
    assert states == {
        "pond-01": "critical",
        "water-01": "warning",
        "sewer-01": "offline",
        "power-01": "critical",
        "pond-02": "ok",
    }
    page.click('g.sensor[data-sensor="pond-01"]')
    expect(page.locator("aside.map-info")).to_contain_text("荷花塘")
    shot(page, "06-map")


def test_a_sensor_the_hub_has_not_heard_since_it_started_is_waiting_on_the_map(
    page: Page, server: Server
) -> None:
    """The hub records its start and when it last heard each sensor; the map shows a sensor
    without a verdict as "waiting" (its own legend entry and colour), not ok."""
    store = SqlRuleStateStore(server.hub.engine)
    now = time.time_ns()
    heard = {(s, "sensor.offline"): {"last_ts": now, "seen": now} for s in ("sewer-01", "pond-01")}
    store.save({HUB_ROW: {"started": now - 60 * 10**9, "intervals": 3.0}, **heard})
    try:
        login(page, server, "admin", "#/map")
        expect(page.locator('g.sensor[data-sensor="pond-02"]')).to_have_attribute(
            "data-state", "waiting"
        )
        assert page.locator('g.sensor[data-sensor="pond-01"]').get_attribute("data-state") == (
            "critical"  # a ticket's state wins over waiting
        )
        expect(page.locator("ul.legend")).to_contain_text("等待数据")
        fill = page.eval_on_selector(
            'g.sensor[data-sensor="pond-02"] circle', "c => getComputedStyle(c).fill"
        )
        ok_fill = page.eval_on_selector(
            "ul.legend .dot.state-ok", "d => getComputedStyle(d).backgroundColor"
        )
        assert fill != ok_fill
        page.click('g.sensor[data-sensor="pond-02"]')
        expect(page.locator("aside.map-info .badge")).to_have_attribute("data-state", "waiting")
        shot(page, "06b-map-waiting")
    finally:
        store.save(dict.fromkeys([HUB_ROW, *heard]))


def test_a_new_ticket_appears_live_without_reload(page: Page, server: Server) -> None:
    login(page, server, "crew")
    expect(page.locator("tr.ticket-row")).to_have_count(3)
    expect(page.locator(".live")).to_have_attribute("data-live", "up")
    page.evaluate("window.__marker = 'same page'")
    tid = server.breach(
        "pond-01",
        "pond.murky",
        Severity.WARNING,
        metric="transparency",
        value=20.0,
        threshold=25.0,
        comparison="below",
    )
    expect(page.locator(f'tr[data-ticket="{tid}"]')).to_be_visible()
    expect(page.locator(".toast")).to_contain_text(f"#{tid}")
    assert page.evaluate("window.__marker") == "same page"
    shot(page, "07-live-new-ticket")


def test_officer_trend_with_voltage_bands_and_csv_export(page: Page, server: Server) -> None:
    login(page, server, "officer", "#/trends?sensor=power-01&metric=voltage&range=24h")
    expect(page.locator(".trends .chart canvas")).to_have_count(1)
    expect(page.locator(".series-info")).to_contain_text("个数据点")
    expect(page.locator('[data-indicator="voltage"] table')).to_contain_text("power-01")
    shot(page, "08-trends-voltage")

    with page.expect_download() as dl:
        page.click("button.csv")
    text = dl.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "power-01.voltage (V)"]
    values = [float(r[1]) for r in rows[1:]]
    assert len(values) >= 50
    assert max(values) > 235.4  # the drift above the qualified range is in the export


def test_officer_sees_a_pond_grade_calendar(page: Page, server: Server) -> None:
    login(page, server, "officer", "#/trends?sensor=pond-01&metric=do&range=24h")
    expect(page.locator(".pond .calendar .day")).not_to_have_count(0)
    expect(page.locator(".pond")).to_contain_text("黑臭等级日历")
    shot(page, "09-trends-pond")


def test_officer_cannot_acknowledge(page: Page, server: Server) -> None:
    """The page offers an officer no button (GET /me says read-only) and the server refuses
    the request all the same."""
    login(page, server, "officer", f"#/ticket/{server.tickets['voltage']}")
    expect(page.locator(".read-only")).to_have_text("只读：您的角色可以查看，不能处理工单。")
    expect(page.locator("button.ack")).to_have_count(0)
    status = page.evaluate(
        """async (id) => (await fetch(`/api/v1/tickets/${id}/ack`, {method: "POST", headers:
             {Authorization: `Bearer ${localStorage.getItem("gridwatch.token")}`}})).status""",
        server.tickets["voltage"],
    )
    assert status == 403
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "open")
