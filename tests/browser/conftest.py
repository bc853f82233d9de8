"""The dashboard in a real headless Chromium against the real API server.

One server per module: uvicorn in a thread, serving `create_app` with the web dashboard mounted,
a SQLite ticket database seeded through the ticket service, and the trends routes reading a
real InfluxDB (the session fixture) that holds a few hours of readings. Each test gets a fresh
browser context (empty localStorage). Screenshots go to ./test-artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from domain.breach import Breach, Change, Severity
from domain.site import Community, Grid, Location, Person, Registry, Sensor, Site
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.events import EventHub
from services.api.hub import Hub
from services.api.web import WEB_ROOT
from services.registry.logins import DeviceLogins
from tests.harness import InfluxDB, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("test-artifacts/screenshots")
NS = 10**9


def site() -> Site:
    """Two grid cells of one community, sensors of every kind with coordinates."""

    def sensor(id_: str, kind: str, grid: str, lat: float, lon: float, asset: str) -> Sensor:
        return Sensor(
            id=id_,
            kind=kind,
            grid=grid,
            asset=asset,
            location=Location(lat=lat, lon=lon),
            interval_s=300,
        )

    return Site(
        communities=[
            Community(
                id="qingpu-demo",
                name="青浦示范社区",
                supervisor=Person(id="sup-li", name="李主任"),
                grids=[
                    Grid(
                        id="grid-east", name="东片网格", worker=Person(id="w-wang", name="王师傅")
                    ),
                    Grid(
                        id="grid-west", name="西片网格", worker=Person(id="w-zhao", name="赵师傅")
                    ),
                ],
            )
        ],
        sensors=[
            sensor("pond-01", "pond", "grid-east", 31.1520, 121.1240, "荷花塘"),
            sensor("water-01", "water", "grid-east", 31.1535, 121.1262, "3号楼水箱"),
            sensor("sewer-01", "sewer", "grid-east", 31.1508, 121.1270, "东门检查井"),
            sensor("power-01", "power", "grid-west", 31.1530, 121.1185, "1号配变"),
            sensor("pond-02", "pond", "grid-west", 31.1502, 121.1200, "西湖"),
        ],
    )


@dataclass
class Server:
    url: str
    hub: Hub
    events: EventHub
    influx_url: str
    influx_db: str
    tokens: dict[str, str]
    tickets: dict[str, int]
    now_ns: int

    def breach(self, sensor: str, rule: str, severity: Severity, **kw: Any) -> int:
        """Open a ticket through the real ticket service, as the rule engine does; open pages
        learn of it from the ticket timeline (services.api.live). Returns the ticket id."""
        at = kw.pop("at_ns", time.time_ns())
        notices = self.hub.tickets.apply(
            Breach(sensor, rule, Change.RAISED, severity, since_ns=at, at_ns=at, **kw)
        )
        return notices[0].ticket.id


def _write_readings(influx: InfluxDB, db: str, now_ns: int) -> None:
    """Eight hours of 5-minute readings: pond-01's oxygen sagging below 2 mg/L an hour ago,
    power-01's voltage drifting above 235.4 V."""
    lines = []
    for i in range(96):
        t = now_ns - (95 - i) * 300 * NS
        do = 4.0 - 2.8 * max(0, i - 70) / 25
        voltage = 226 + 12 * max(0, i - 80) / 15
        lines.append(f"pond,sensor=pond-01 do={do:.3f},nh3n=1.2,orp=80,transparency=30 {t}")
        lines.append(f"power,sensor=power-01 voltage={voltage:.1f} {t}")
    r = httpx.post(
        f"{influx.url}/write", params={"db": db}, content="\n".join(lines).encode(), timeout=10
    )
    assert r.status_code == 204, r.text


@contextmanager
def serve(
    influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory, logins: DeviceLogins | None = None
) -> Iterator[Server]:
    """The server of the module docstring; `logins` sets new sensors' broker logins."""
    if not (WEB_ROOT / "node_modules" / "uplot").is_dir():
        pytest.fail("the dashboard's libraries are missing: run dashboards/web/setup.sh")
    tmp = tmp_path_factory.mktemp("web")
    db = f"gw_web_{int(time.time())}"
    port = free_port()
    settings = load_settings(
        db_url=f"sqlite:///{tmp / 'gridwatch.db'}",
        http=f"127.0.0.1:{port}",
        influx_url=influxdb.url,
        influx_db=db,
    )
    captured: list[Hub] = []
    app = create_app(
        settings,
        registry=Registry(site()),
        tick_interval_s=0,
        live_poll_s=0.2,
        on_start=captured.append,
        logins=logins,
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the API server did not start")
        time.sleep(0.05)
    hub = captured[0]
    assert hub.events is not None
    events = hub.events
    now = time.time_ns()
    _write_readings(influxdb, db, now)
    tokens = {
        "crew": hub.tokens.create("crew-east", "crew", ("grid-east",)),
        "officer": hub.tokens.create("officer-env", "officer"),
        "admin": hub.tokens.create("admin", "admin"),
    }
    srv = Server(f"http://127.0.0.1:{port}", hub, events, influxdb.url, db, tokens, {}, now)
    hour = 3600 * NS
    srv.tickets["oxygen"] = srv.breach(
        "pond-01",
        "pond.low_oxygen",
        Severity.CRITICAL,
        at_ns=now - hour,
        metric="do",
        value=1.6,
        threshold=2.0,
        comparison="below",
        limit_zh="轻度黑臭",
        limit_en="light black-odorous",
        source="GB 3838-2002",
        provenance="S",
    )
    srv.tickets["chlorine"] = srv.breach(
        "water-01",
        "water.chlorine_low",
        Severity.WARNING,
        at_ns=now - 2 * hour,
        metric="chlorine",
        value=0.08,
        threshold=0.1,
        comparison="below",
        provenance="P",
    )
    srv.tickets["offline"] = srv.breach(
        "sewer-01", "sensor.offline", Severity.WARNING, at_ns=now - 3 * hour
    )
    srv.tickets["voltage"] = srv.breach(
        "power-01",
        "power.voltage",
        Severity.CRITICAL,
        at_ns=now - 30 * 60 * NS,
        metric="voltage",
        value=237.5,
        threshold=235.4,
        comparison="above",
        source="GB/T 12325-2008",
        provenance="S",
    )
    yield srv
    events.close()
    uv.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def server(influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(influxdb, tmp_path_factory) as srv:
        yield srv


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    """Module-scoped: sync Playwright keeps an event loop running in this thread, which
    asyncio tests in later modules must not meet."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} is missing (`make test` installs Debian's chromium)")
    b = playwright_session.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield b
    b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any uncaught script error or failed request to our server."""
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and not any(c in m.text for c in ("401", "403", "409", "422"))
            else None
        ),
    )
    yield pg
    assert not errors, errors


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Page, server: Server, role: str, hash_: str = "#/queue") -> None:
    page.goto(f"{server.url}/{hash_}")
    page.fill("#token", server.tokens[role])
    page.click("button.submit")
    page.wait_for_selector("header.top")
