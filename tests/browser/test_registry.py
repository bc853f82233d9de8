"""The registry's admin pages in a real Chromium against the real server, whose new sensors get
their broker logins from a real Mosquitto with its dynamic-security plugin: an admin places a
sensor by clicking the map and logs in to the broker with the password of the credentials
dialog, drags a sensor to a new place, moves one to another grid (its ticket follows), edits a
person, retires a sensor, rotates a login (the old password refused); a 422 and a 409 show next
to their fields; an officer reads without a write control, a crew sees its own grid; the page
in Chinese and English."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from domain.site import Sensor
from gridwatch.broker.model import BrokerOptions
from gridwatch.broker.writer import write_broker_config
from tests.browser.conftest import Server, login, serve, shot, site
from tests.harness import InfluxDB, Mosquitto, free_port
from tests.integration.mqttpeers import Connect, peers  # noqa: F401 - the fixture
from tests.integration.test_dynsec import LiveBroker, first_accepted, first_refused

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBroker]:
    out = tmp_path_factory.mktemp("dynsec")
    port = free_port()
    files = write_broker_config(site(), out, BrokerOptions.local(port, dynamic_security=True))
    creds = json.loads(files.paths.credentials.read_text(encoding="utf-8"))
    proc = Mosquitto(workdir=out / "run", config_file=files.paths.config, port=port).start()
    yield LiveBroker(proc, creds, out, site())
    proc.stop()


@pytest.fixture(scope="module")
def server(
    influxdb: InfluxDB, broker: LiveBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serve(influxdb, tmp_path_factory, logins=broker.admin()) as srv:
        yield srv


def _site(server: Server) -> dict[str, object]:
    r = httpx.get(
        f"{server.url}/api/v1/site",
        headers={"Authorization": f"Bearer {server.tokens['admin']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    doc: dict[str, object] = r.json()
    return doc


def _sensor(server: Server, sensor_id: str) -> Sensor:
    placed = server.hub.registry.get(sensor_id)
    assert placed is not None, sensor_id
    return placed.sensor


def test_admin_places_a_sensor_on_the_map_and_its_password_logs_in(
    page: Page,
    server: Server,
    broker: LiveBroker,
    peers: Connect,  # noqa: F811 - the fixture imported above
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    login(page, server, "admin", "#/registry/map")
    svg = page.locator("svg.reg-site-map")
    expect(page.locator("g.reg-sensor")).to_have_count(5)
    shot(page, "20-registry-map")
    page.click("button.place-sensor")
    box = svg.bounding_box()
    assert box is not None
    svg.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.06})

    form = page.locator("dialog.entity form.sensor-form")
    lat = float(form.locator('input[name="location.lat"]').input_value())
    lon = float(form.locator('input[name="location.lon"]').input_value())
    assert 31.14 < lat < 31.17, lat  # the site's own neighbourhood
    assert 121.10 < lon < 121.14, lon
    form.locator('input[name="id"]').fill("pond-new-01")
    form.locator('select[name="grid"]').select_option("grid-west")
    form.locator('input[name="asset"]').fill("新荷塘")
    form.locator("button.save").click()

    dialog = page.locator("dialog.credentials")
    expect(dialog.locator(".cred-username")).to_have_text("pond-new-01")
    expect(dialog.locator(".cred-warning")).to_contain_text("只显示这一次")
    password = dialog.locator(".cred-password").inner_text()
    assert len(password) >= 20
    dialog.locator("button.copy").click()
    expect(dialog.locator(".copy-result")).to_have_text("已复制到剪贴板")
    assert page.evaluate("navigator.clipboard.readText()") == password
    shot(page, "21-registry-credentials")
    first_accepted(peers, broker.port, "pond-new-01", password)  # the broker knows it

    dialog.locator("button.close").click()
    expect(page.locator("dialog.credentials")).to_have_count(0)
    assert password not in page.content()  # shown once: gone with the dialog
    expect(page.locator('g.reg-sensor[data-sensor="pond-new-01"]')).to_have_count(1)
    placed = _sensor(server, "pond-new-01")
    assert placed.location is not None
    assert (placed.grid, placed.asset) == ("grid-west", "新荷塘")
    assert (placed.location.lat, placed.location.lon) == (lat, lon)


def test_admin_drags_a_sensor_to_its_new_place(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/map")
    before = _sensor(server, "pond-02")
    assert before.location is not None
    dot = page.locator('g.reg-sensor[data-sensor="pond-02"] circle')
    b = dot.bounding_box()
    assert b is not None
    x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=4)
    page.mouse.move(x + 80, y - 30, steps=4)
    page.mouse.up()
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_contain_text("pond-02")
    confirm.locator("button.yes").click()
    expect(page.locator(".reg-status")).to_contain_text("已保存")
    after = _sensor(server, "pond-02")
    assert after.location is not None
    assert after.location.lon > before.location.lon
    assert after.location.lat > before.location.lat
    assert after.grid == before.grid


def test_admin_moves_a_sensor_to_another_grid_and_its_ticket_follows(
    page: Page, server: Server
) -> None:
    login(page, server, "admin", "#/registry/sensors")
    row = page.locator('tr.reg-row[data-id="water-01"]')
    expect(row.locator("td.grid")).to_have_attribute("data-grid", "grid-east")
    row.locator("button.edit").click()
    form = page.locator("dialog.entity form.sensor-form")
    expect(form.locator('input[name="id"]')).to_be_disabled()
    form.locator('select[name="grid"]').select_option("grid-west")
    form.locator("button.save").click()
    expect(page.locator(".reg-status")).to_contain_text("1 张工单已转给新网格")
    expect(row.locator("td.grid")).to_have_attribute("data-grid", "grid-west")
    assert _sensor(server, "water-01").grid == "grid-west"
    ticket = server.hub.tickets.reads.get(server.tickets["chlorine"])
    assert ticket.grid == "grid-west"
    shot(page, "22-registry-sensors")


def test_admin_edits_a_person(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/people")
    row = page.locator('tr.reg-row[data-id="w-wang"]')
    row.locator("button.edit").click()
    form = page.locator("dialog.entity form.person-form")
    form.locator('input[name="phone"]').fill("139-0000-0001")
    form.locator('input[name="email"]').fill("wang@example.org")
    form.locator("button.save").click()
    expect(row.locator("td.phone")).to_have_text("139-0000-0001")
    expect(row.locator("td.email")).to_have_text("wang@example.org")
    people = {p["id"]: p for p in _site(server)["people"]}  # type: ignore[attr-defined]
    assert people["w-wang"]["phone"] == "139-0000-0001"
    assert people["w-wang"]["name"] == "王师傅"  # what was not touched stays
    shot(page, "23-registry-people")


def test_admin_retires_a_sensor(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/sensors")
    row = page.locator('tr.reg-row[data-id="sewer-01"]')
    row.locator("button.retire").click()
    page.locator("dialog.confirm button.yes").click()
    expect(page.locator(".reg-status")).to_contain_text("1 张工单已随停用关闭")
    expect(row).to_have_attribute("data-status", "retired")
    expect(row.locator(".badge")).to_have_text("已停用")
    expect(row.locator("button")).to_have_count(0)
    assert server.hub.registry.is_retired("sewer-01")
    assert server.hub.tickets.reads.get(server.tickets["offline"]).status == "resolved"


def test_a_422_and_a_409_show_next_to_their_fields(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/sensors")
    page.click("button.add-sensor")
    form = page.locator("dialog.entity form.sensor-form")
    form.locator('input[name="id"]').fill("pond-bad-01")
    form.locator('input[name="interval_s"]').fill("-5")
    form.locator("button.save").click()
    err = form.locator('.field-error[data-field="interval_s"]')
    expect(err).to_contain_text("greater than or equal to 1")
    shot(page, "26-registry-422")
    expect(form.locator('.field-error[data-field="id"]')).to_have_text("")
    form.locator('input[name="interval_s"]').fill("60")
    form.locator('input[name="id"]').fill("pond-01")
    form.locator("button.save").click()
    expect(form.locator('.field-error[data-field="id"]')).to_contain_text("编号已存在")
    expect(err).to_have_text("")
    expect(page.locator("dialog.credentials")).to_have_count(0)
    assert server.hub.registry.get("pond-bad-01") is None


def test_an_officer_reads_without_write_controls_and_a_crew_sees_its_grid(
    page: Page, server: Server
) -> None:
    login(page, server, "officer", "#/registry/sensors")
    expect(page.locator("tr.reg-row").first).to_be_visible()
    expect(page.locator(".read-only")).to_contain_text("只读")
    for tab in ("sensors", "grids", "people", "communities"):
        page.click(f"a.reg-tab-{tab}")
        expect(page.locator(f"table.reg-table.{tab} tr.reg-row").first).to_be_visible()
        expect(page.locator("main button")).to_have_count(0)
    page.click("a.reg-tab-map")
    expect(page.locator('g.reg-sensor[data-draggable="no"]').first).to_be_visible()
    expect(page.locator('g.reg-sensor[data-draggable="yes"]')).to_have_count(0)
    expect(page.locator("button.place-sensor")).to_have_count(0)

    page.click("button.logout")
    login(page, server, "crew", "#/registry/sensors")
    rows = page.locator("tr.reg-row")
    expect(rows.first).to_be_visible()
    grids = {rows.nth(i).locator("td.grid").get_attribute("data-grid") for i in range(rows.count())}
    assert grids == {"grid-east"}
    expect(page.locator("main button")).to_have_count(0)


def test_the_registry_in_chinese_and_english(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/grids")
    expect(page.locator("section.registry h1")).to_contain_text("设施登记")
    expect(page.locator("a.reg-tab-grids")).to_have_text("网格")
    expect(page.locator("table.grids th").nth(3)).to_have_text("网格员")
    shot(page, "24-registry-grids-zh")
    page.click("button.lang")
    expect(page.locator("section.registry h1")).to_contain_text("Registry")
    expect(page.locator("a.reg-tab-grids")).to_have_text("Grid cells")
    expect(page.locator("table.grids th").nth(3)).to_have_text("Worker")
    page.click("a.reg-tab-sensors")
    expect(page.locator("table.sensors th").nth(4)).to_have_text("Interval (s)")
    page.click("button.add-sensor")
    expect(page.locator("dialog.entity h2")).to_have_text("Add sensor")
    shot(page, "25-registry-add-sensor-en")


def test_admin_rotates_a_login_and_only_the_new_password_works(
    page: Page,
    server: Server,
    broker: LiveBroker,
    peers: Connect,  # noqa: F811 - the fixture imported above
) -> None:
    old = broker.password("power-01")
    first_accepted(peers, broker.port, "power-01", old)
    login(page, server, "admin", "#/registry/sensors")
    page.locator('tr.reg-row[data-id="power-01"] button.rotate').click()
    page.locator("dialog.confirm button.yes").click()
    dialog = page.locator("dialog.credentials")
    expect(dialog.locator(".cred-username")).to_have_text("power-01")
    new = dialog.locator(".cred-password").inner_text()
    assert new != old
    first_refused(peers, broker.port, "power-01", old)
    first_accepted(peers, broker.port, "power-01", new)
    dialog.locator("button.close").click()
    expect(page.locator(".reg-status")).to_contain_text("power-01")


def test_admin_edits_a_grid(page: Page, server: Server) -> None:
    login(page, server, "admin", "#/registry/grids")
    row = page.locator('tr.reg-row[data-id="grid-west"]')
    expect(row.locator("td.worker")).to_contain_text("赵师傅")
    row.locator("button.edit").click()
    form = page.locator("dialog.entity form.grid-form")
    form.locator('input[name="name"]').fill("西片一号网格")
    form.locator('select[name="worker"]').select_option("w-wang")
    form.locator("button.save").click()
    expect(row.locator("td.worker")).to_contain_text("王师傅")
    expect(row).to_contain_text("西片一号网格")
    grid, _community = server.hub.registry.grids["grid-west"]
    assert (grid.name, grid.worker.id) == ("西片一号网格", "w-wang")
