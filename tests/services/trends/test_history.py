"""Indicators and reports of a past period count each sensor where it was THEN: the registry's
placement intervals (sensor_placements, written by real registry changes on SQLite) decide,
against a real InfluxDB holding what the gateway would have written (each point tagged with
its grid at the time).

Twenty site-local days from Monday 2024-03-04 (Asia/Shanghai); every sensor reports hourly
(interval 1 h), so each figure below is counted by hand:
- pond-a moves from qp-g1 (qingping) to hx-g1 (hexi) at noon of day 10 (2024-03-13): DO 1.0
  before, 6.0 after; tx-1 moves from qp-g1 to qp-g2 at the same time (220 V before, 240 V
  after), mh-1 from qp-g2 to qp-g1 (one overflow reading on day 3, one on day 16);
- tap-1 (qp-g1) is retired at the end of day 5 (chlorine 0.3, flow 1.0 until then);
- tank-2 (qp-g2) is added at the start of day 11 (chlorine 0.03, flow 2.0 from then);
- pond-b (qp-g2) never moves and reports only the first ten days.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout
from domain.site import Registry, Site, parse_site
from gridwatch.commands.report import write_report
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.db.engine import open_database
from services.registry import edits
from services.registry.changes import Current
from services.registry.store import RegistryStore
from services.reports import collect
from services.trends.calendar import pond_calendars
from services.trends.completeness import completeness
from services.trends.errors import UnknownSeries
from services.trends.power import voltage_qualification
from services.trends.query import TrendQuery
from services.trends.scope import load_history
from services.trends.service import Trends
from services.trends.sewer import sewer_events
from services.trends.store import TrendStore
from services.trends.water import chlorine_compliance, night_flow
from tests.harness import InfluxDB
from tests.services.api.conftest import _WithState
from tests.services.tickets import site as tickets_site
from tests.services.trends.conftest import Write

NS = 10**9
H = 3600 * NS
DAY = 24 * H
T0 = 1_709_481_600 * NS  # 2024-03-04 00:00 Asia/Shanghai
STOP = T0 + 20 * DAY
NOW = T0 + 30 * DAY
RETIRE = T0 + 5 * DAY
MOVE = T0 + 9 * DAY + 12 * H
ADD = T0 + 10 * DAY
D1 = date(2024, 3, 4)

SITE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "communities": [
        {
            "id": "qingping",
            "name": "清平社区",
            "supervisor": {"id": "s-003", "name": "周红"},
            "grids": [
                {"id": "qp-g1", "name": "清平1号网格", "worker": {"id": "w-017", "name": "李明"}},
                {"id": "qp-g2", "name": "清平2号网格", "worker": {"id": "w-018", "name": "王芳"}},
            ],
        },
        {
            "id": "hexi",
            "name": "河西社区",
            "supervisor": {"id": "s-009", "name": "陈刚"},
            "grids": [
                {"id": "hx-g1", "name": "河西1号网格", "worker": {"id": "w-031", "name": "张伟"}}
            ],
        },
    ],
    "sensors": [
        {"id": "pond-a", "kind": "pond", "grid": "qp-g1", "asset": "堰塘A", "interval_s": 3600},
        {"id": "pond-b", "kind": "pond", "grid": "qp-g2", "asset": "堰塘B", "interval_s": 3600},
        {"id": "tap-1", "kind": "water", "grid": "qp-g1", "asset": "水龙头", "interval_s": 3600},
        {"id": "tx-1", "kind": "power", "grid": "qp-g1", "asset": "1号箱变", "interval_s": 3600},
        {"id": "mh-1", "kind": "sewer", "grid": "qp-g2", "asset": "1号检查井", "interval_s": 3600},
    ],
}
COMMUNITY = {"qp-g1": "qingping", "qp-g2": "qingping", "hx-g1": "hexi"}


def point(kind: str, sensor: str, grid: str, t: int, **fields: float) -> str:
    body = ",".join(f"{k}={float(v)!r}" for k, v in fields.items())
    return f"{kind},sensor={sensor},grid={grid},community={COMMUNITY[grid]} {body} {t}"


def hours(start: int, stop: int) -> range:
    return range(start, stop, H)


def readings() -> list[str]:
    out = []
    for t in hours(T0, STOP):
        before = t < MOVE
        g_pond, g_tx, g_mh = ("qp-g1", "qp-g1", "qp-g2") if before else ("hx-g1", "qp-g2", "qp-g1")
        pond = {"do": 1.0 if before else 6.0, "nh3n": 0.4, "orp": 150.0, "transparency": 60.0}
        out.append(point("pond", "pond-a", g_pond, t, **pond))
        out.append(point("power", "tx-1", g_tx, t, voltage=220.0 if before else 240.0))
        overflow = t in (T0 + 2 * DAY + 3 * H, T0 + 15 * DAY + 3 * H)
        out.append(point("sewer", "mh-1", g_mh, t, freeboard=0.1 if overflow else 1.0, fill=0.3))
        if t < T0 + 10 * DAY:
            out.append(
                point("pond", "pond-b", "qp-g2", t, do=5.5, nh3n=0.4, orp=150, transparency=60)
            )
        if t < RETIRE:
            out.append(point("water", "tap-1", "qp-g1", t, chlorine=0.3, flow=1.0))
        if t >= ADD:
            out.append(point("water", "tank-2", "qp-g2", t, chlorine=0.03, flow=2.0))
    return out


@dataclass
class Clock:
    now: int = 0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def registry_db(tmp_path: Path) -> Iterator[tuple[Engine, RegistryStore, Registry]]:
    """The registry on SQLite, changed at the scenario's hub times; the registry as it stands
    at the end (pond-a in hx-g1, tx-1 in qp-g2, mh-1 in qp-g1, tap-1 retired, tank-2 added)."""
    engine = open_database(f"sqlite:///{tmp_path / 'gw.db'}")
    clock = Clock(T0 - DAY)
    store = RegistryStore(engine, clock=clock)
    store.seed(parse_site(SITE))

    def at(t: int, make: Any) -> None:
        clock.now = t
        store.change(lambda cur: make(_site(cur)), "test")

    at(RETIRE, lambda s: edits.remove(s, "sensors", "tap-1"))
    at(MOVE, lambda s: edits.patch(s, "sensors", "pond-a", {"grid": "hx-g1"}))
    at(MOVE, lambda s: edits.patch(s, "sensors", "tx-1", {"grid": "qp-g2"}))
    at(MOVE, lambda s: edits.patch(s, "sensors", "mh-1", {"grid": "qp-g1"}))
    tank = {
        "id": "tank-2",
        "kind": "water",
        "grid": "qp-g2",
        "asset": "屋顶水箱",
        "interval_s": 3600,
    }
    at(ADD, lambda s: edits.add(s, "sensors", tank))
    yield engine, store, store.registry()
    engine.dispose()


def _site(cur: Current) -> Site:
    assert cur.site is not None
    return cur.site


@pytest.fixture
async def period(
    write: Write, influx: InfluxQuery, registry_db: tuple[Engine, RegistryStore, Registry]
) -> Trends:
    """The readings written, and a trends service reading placements from the registry."""
    await write(readings())
    return Trends(influx, Layout(), registry_store=registry_db[1])


def q(start: int = T0, stop: int = STOP, **scope: str) -> TrendQuery:
    return TrendQuery(start_ns=start, stop_ns=stop, now_ns=NOW, **scope)


async def store_for(trends: Trends, registry: Registry, query: TrendQuery) -> TrendStore:
    return await trends.period(registry, query)


async def test_a_moved_pond_counts_in_each_grid_for_its_time_there(
    period: Trends, registry_db: tuple[Engine, RegistryStore, Registry]
) -> None:
    registry = registry_db[2]

    async def calendars(**scope: str) -> dict[str, list[tuple[date, float]]]:
        query = q(**scope)
        cals = await pond_calendars(await store_for(period, registry, query), query)
        return {c.sensor: [(d.day, d.means["do"]) for d in c.days] for c in cals}

    day10 = D1 + timedelta(days=9)
    old = await calendars(grid="qp-g1")
    assert list(old) == ["pond-a"]
    assert old["pond-a"] == [(D1 + timedelta(days=i), 1.0) for i in range(10)]  # to day 10 noon
    new = await calendars(grid="hx-g1")
    assert list(new) == ["pond-a"]
    assert new["pond-a"] == [(day10 + timedelta(days=i), 6.0) for i in range(11)]  # from noon
    assert list(await calendars(grid="qp-g2")) == ["pond-b"]  # where it never was
    assert (await calendars(community="hexi"))["pond-a"] == new["pond-a"]
    qingping = await calendars(community="qingping")
    assert qingping["pond-a"] == old["pond-a"]
    assert len(qingping["pond-b"]) == 10
    # Site-wide the mover is one sensor over the whole period, as before placements existed.
    site = await calendars()
    assert [d for d, _ in site["pond-a"]] == [D1 + timedelta(days=i) for i in range(20)]
    assert dict(site["pond-a"])[day10] == 3.5  # 12 h at 1.0 and 12 h at 6.0


async def test_power_and_sewer_follow_the_move_within_and_across_grids(
    period: Trends, registry_db: tuple[Engine, RegistryStore, Registry]
) -> None:
    registry = registry_db[2]

    async def voltage(**scope: str) -> dict[str, tuple[int, int]]:
        query = q(**scope)
        rows = await voltage_qualification(await store_for(period, registry, query), query)
        return {r.sensor: (r.qualified.inside, r.qualified.total) for r in rows}

    assert await voltage(grid="qp-g1") == {"tx-1": (228, 228)}  # 9.5 days at 220 V
    assert await voltage(grid="qp-g2") == {"tx-1": (0, 252)}  # 10.5 days at 240 V
    assert await voltage(community="qingping") == {"tx-1": (228, 480)}
    assert await voltage(community="hexi") == {}

    async def overflows(**scope: str) -> list[tuple[str, int]]:
        query = q(**scope)
        eps, _ = await sewer_events(await store_for(period, registry, query), query)
        return [(e.sensor, e.start_ns) for e in eps if e.event == "overflow"]

    assert await overflows(grid="qp-g2") == [("mh-1", T0 + 2 * DAY + 3 * H)]
    assert await overflows(grid="qp-g1") == [("mh-1", T0 + 15 * DAY + 3 * H)]
    assert len(await overflows(community="qingping")) == 2


async def test_retired_and_added_sensors_count_only_while_they_were_live(
    period: Trends, registry_db: tuple[Engine, RegistryStore, Registry]
) -> None:
    registry = registry_db[2]
    assert registry.is_retired("tap-1")

    async def chlorine(**scope: str) -> dict[str, tuple[int, int]]:
        query = q(**scope)
        rows = await chlorine_compliance(await store_for(period, registry, query), query)
        return {r.sensor: (r.compliant.inside, r.compliant.total) for r in rows}

    assert await chlorine(grid="qp-g1") == {"tap-1": (120, 120)}  # retired: its past stays
    assert await chlorine(grid="qp-g2") == {"tank-2": (0, 240)}  # 0.03 mg/L is too little

    query = q(grid="qp-g1")
    nights = await night_flow(await store_for(period, registry, query), query)
    assert [(n.sensor, len(n.nights)) for n in nights] == [("tap-1", 5)]

    async def complete(
        **scope: str,
    ) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
        query = q(**scope)
        per_sensor, per_grid = await completeness(await store_for(period, registry, query), query)
        return (
            {c.key: (c.received, c.expected) for c in per_sensor},
            {c.key: (c.received, c.expected) for c in per_grid},
        )

    sensors, grids = await complete(community="qingping")
    assert sensors == {
        "pond-a": (228, 228),  # its qingping part only
        "pond-b": (240, 480),  # never moved: silent for the last ten days, as before
        "tap-1": (120, 120),  # not missing after its retirement
        "tx-1": (480, 480),  # two grids of one community: all of it
        "mh-1": (480, 480),
        "tank-2": (240, 240),  # not missing before it was added
    }
    assert grids == {
        "qp-g1": (228 + 120 + 228 + 252, 228 + 120 + 228 + 252),
        "qp-g2": (240 + 252 + 228 + 240, 480 + 252 + 228 + 240),
    }
    sensors, grids = await complete()
    assert sensors["pond-a"] == (480, 480)
    assert grids["hx-g1"] == (252, 252)
    # After the retirement, tap-1 is not part of the grid at all.
    query = q(start=RETIRE, stop=RETIRE + DAY, grid="qp-g1")
    per_sensor, _ = await completeness(await store_for(period, registry, query), query)
    assert [c.key for c in per_sensor] == ["pond-a", "tx-1"]


async def test_the_report_of_a_past_period(
    period: Trends, registry_db: tuple[Engine, RegistryStore, Registry]
) -> None:
    engine, _, registry = registry_db
    plain = Trends(period.influx, Layout())  # as `gridwatch report` builds it: no registry_store
    d = await collect(plain, engine, registry, T0, STOP, "qingping", now_ns=NOW)
    assert d.problems == {}
    assert {p.sensor: len(p.days) for p in d.ponds} == {"pond-a": 10, "pond-b": 10}
    assert {c.sensor: c.compliant.total for c in d.chlorine} == {"tap-1": 120, "tank-2": 240}
    assert [(v.sensor, v.qualified.inside, v.qualified.total) for v in d.voltage] == [
        ("tx-1", 228, 480)
    ]
    assert {c.key: c.expected for c in d.completeness_sensors}["tap-1"] == 120
    hexi = await collect(plain, engine, registry, T0, STOP, "hexi", now_ns=NOW)
    assert [(p.sensor, p.days[0].day, len(p.days)) for p in hexi.ponds] == [
        ("pond-a", D1 + timedelta(days=9), 11)
    ]
    assert hexi.voltage == []
    assert hexi.chlorine == []
    assert [c.key for c in hexi.completeness_grids] == ["hx-g1"]


async def test_a_community_gone_from_the_registry_keeps_its_past(
    period: Trends, registry_db: tuple[Engine, RegistryStore, Registry]
) -> None:
    engine, store, _ = registry_db
    store.clock = lambda: NOW - DAY
    store.change(lambda cur: edits.remove(_site(cur), "sensors", "pond-a"), "test")
    store.change(lambda cur: edits.remove(_site(cur), "communities", "hexi"), "test")
    registry = store.registry()
    assert "hexi" not in registry.communities
    d = await collect(period, engine, registry, T0, STOP, "hexi", now_ns=NOW)
    assert d.community_name == "hexi"  # its name went with it; the id stays
    assert [(p.sensor, len(p.days)) for p in d.ponds] == [("pond-a", 11)]
    # A period after it was gone knows no such community.
    query = q(start=NOW - DAY + H, stop=NOW, community="hexi")
    with pytest.raises(UnknownSeries):
        await pond_calendars(await store_for(period, registry, query), query)


async def test_without_a_database_registry_the_current_one_decides(
    period: Trends, tmp_path: Path
) -> None:
    """A test or embedder that builds a Registry only (or a database that holds none): the
    current membership is the history, as the trends always had it."""
    engine = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        registry = Registry(parse_site(SITE))
        history = await load_history(RegistryStore(engine), registry, T0, STOP)
        assert [(t.sensor, t.grid, t.valid_from_ns, t.valid_to_ns) for t in history.tenures] == [
            (s["id"], s["grid"], 0, None) for s in SITE["sensors"]
        ]
        query = q(grid="qp-g1")
        store = TrendStore(period.influx, Layout(), registry, history)
        cals = await pond_calendars(store, query)
        assert [(c.sensor, len(c.days)) for c in cals] == [("pond-a", 20)]  # all of it, as before
    finally:
        engine.dispose()


async def test_the_indicator_route_counts_a_sensor_moved_through_the_api(
    tmp_path: Path, influxdb: InfluxDB, influx_db: str, influx: InfluxQuery, write: Write
) -> None:
    """The whole app (SQLite, InfluxDB): readings before a `PATCH {"grid": ...}` count for the
    old grid's chlorine compliance, those after it for the new grid's, none for both."""
    hubs: list[Hub] = []
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'gw.db'}",
        site="",
        influx_url=influxdb.url,
        influx_db=influx_db,
    )
    app = create_app(settings, registry=tickets_site.registry(), on_start=hubs.append)
    async with (
        app.router.lifespan_context(app) as state,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_WithState(app, dict(state or {}))),
            base_url="http://gridwatch.test",
        ) as client,
    ):
        hub = hubs[0]
        admin = {"Authorization": f"Bearer {hub.tokens.create('root', 'admin')}"}
        officer = {"Authorization": f"Bearer {hub.tokens.create('zhou', 'officer')}"}
        now = time.time_ns()
        minute = 60 * NS
        await write(
            [
                point("water", "water-qp-01", "qp-g1", now - i * minute, chlorine=0.3)
                for i in range(1, 61)
            ]
        )
        r = await client.patch("/api/v1/sensors/water-qp-01", json={"grid": "hx-g1"}, headers=admin)
        assert r.status_code == 200, r.text
        assert hub.store is not None
        [(_, _, _, moved), _] = hub.store.placements("water-qp-01")
        assert moved is not None
        await write(
            [
                point("water", "water-qp-01", "hx-g1", moved + i * minute, chlorine=0.3)
                for i in range(1, 31)
            ]
        )
        start_s, stop_s = (moved - 2 * H) // NS, (moved + H) // NS
        window = {"start": str(start_s), "stop": str(stop_s)}

        async def totals(grid: str) -> dict[str, int]:
            r = await client.get(
                "/api/v1/indicators/chlorine", params={**window, "grid": grid}, headers=officer
            )
            assert r.status_code == 200, r.text
            return {row["sensor"]: row["compliant"]["total"] for row in r.json()}

        assert await totals("qp-g1") == {"water-qp-01": 60}
        assert await totals("hx-g1") == {"water-qp-01": 30}

        async def expected(grid: str) -> int:
            r = await client.get(
                "/api/v1/indicators/completeness", params={**window, "grid": grid}, headers=officer
            )
            assert r.status_code == 200, r.text
            return {c["key"]: c["expected"] for c in r.json()["sensors"]}["water-qp-01"]

        # interval 300 s: expected only for its time in each grid, not the whole window
        assert await expected("qp-g1") == (moved - start_s * NS) // NS // 300
        assert await expected("hx-g1") == (stop_s * NS - moved) // NS // 300

        # retired, its data stays queryable: by officers, and by the crew of its last grid only
        r = await client.delete("/api/v1/sensors/water-qp-01", headers=admin)
        assert r.status_code == 200, r.text
        series = {**window, "sensor": "water-qp-01", "metric": "chlorine", "every": "1m"}
        r = await client.get("/api/v1/series", params=series, headers=officer)
        assert r.status_code == 200, r.text
        assert len(r.json()["points"]) == 90
        hx = {"Authorization": f"Bearer {hub.tokens.create('hx', 'crew', ('hx-g1',))}"}
        qp = {"Authorization": f"Bearer {hub.tokens.create('qp', 'crew', ('qp-g1',))}"}
        assert (await client.get("/api/v1/series", params=series, headers=hx)).status_code == 200
        assert (await client.get("/api/v1/series", params=series, headers=qp)).status_code == 404
        unknown = {**series, "sensor": "water-qp-77"}
        assert (
            await client.get("/api/v1/series", params=unknown, headers=officer)
        ).status_code == 404


async def test_the_report_command_names_what_the_database_registry_says(
    period: Trends,
    registry_db: tuple[Engine, RegistryStore, Registry],
    influxdb: InfluxDB,
    influx_db: str,
    tmp_path: Path,
) -> None:
    """`gridwatch report` on a hub's database: the file's registry (pond-a still in qp-g1,
    the community's old name) is not what the report shows."""
    _, store, _ = registry_db
    store.clock = lambda: NOW - DAY
    store.change(
        lambda cur: edits.patch(_site(cur), "communities", "hexi", {"name": "河西新社区"}), "test"
    )
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'gw.db'}", influx_url=influxdb.url, influx_db=influx_db
    )
    out = tmp_path / "hexi.html"
    first, last = date(2024, 3, 4), date(2024, 3, 23)
    await write_report(settings, Registry(parse_site(SITE)), first, last, "hexi", out, now_ns=NOW)
    html = out.read_text(encoding="utf-8")
    assert "河西新社区" in html
    assert "堰塘A" in html  # pond-a, from its move on
