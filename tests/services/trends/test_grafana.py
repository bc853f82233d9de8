"""Every Grafana panel query, with Grafana's macros and template variables substituted the way
Grafana does, runs against a real InfluxDB filled by the simulators and returns data: the demo
site through the storm-night scenario for the last simulated day, decoded by the gateway's own
ingest and line-protocol encoder, with the hub's retention and hourly rollups set up. Also: the
JSON is what build.py generates, and the datasource the panels name is provisioned."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from adapters.influx.lineprotocol import encode_lines
from adapters.influx.query import InfluxQuery
from adapters.influx.retention import backfill_rollup, ensure_retention
from domain import topics
from domain.catalog import Kind
from domain.site import Registry, Site, load_site
from gateway.ingest import ingest
from simulators import demo
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.harness import InfluxDB

GRAFANA = Path(__file__).parents[3] / "dashboards" / "grafana"
BOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
NS = 10**9
SIMULATED_S = 26 * 3600
"""A little more than the boards' default range (now-24h), so daily buckets are full."""
RANGE_S = 24 * 3600


def _board(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True, slots=True)
class Simulated:
    """The demo site's last simulated day as the gateway would write it."""

    site: Site
    now_ns: int
    lines: list[str]
    readings: int


@pytest.fixture(scope="module")
def simulated() -> Simulated:
    """Storm-night over the demo site, started a day ago and run to now without a broker: each
    telemetry message goes through gateway.ingest and adapters.influx.lineprotocol (pure, ~1 s)."""
    site = load_site(demo.SITE)
    scenario, _ = load_scenario(demo.scenario_path("storm-night"), site)
    registry = Registry(site)
    now = time.time()
    now_ns = int(now * NS)
    sim = Simulation(site, start=now - SIMULATED_S, seed=scenario.seed, scenario=scenario)
    lines: list[str] = []
    readings = 0
    for e in sim.emissions(now):
        if not e.topic.endswith(f"/{topics.TELEMETRY}"):
            continue  # status messages carry no readings
        outcome = ingest(e.topic, e.payload, registry, now_ns)
        readings += len(outcome.measurements)
        lines.extend(encode_lines(outcome.measurements))
    return Simulated(site, now_ns, lines, readings)


@dataclass(frozen=True, slots=True)
class Filled:
    """A database of this module's own holding the simulated day, raw and rolled up."""

    url: str
    db: str
    sim: Simulated


async def _fill(url: str, db: str, sim: Simulated) -> None:
    """Set the database up as the hub does, write the day, and roll it up by hour (the CQs only
    run when an hour ends, so backfill what they would have written)."""
    async with InfluxQuery(url, db) as influx:
        layout = await ensure_retention(influx, db)
        async with httpx.AsyncClient(base_url=url) as http:
            for i in range(0, len(sim.lines), 10_000):
                r = await http.post(
                    "/write",
                    params={"db": db, "precision": "ns"},
                    content="\n".join(sim.lines[i : i + 10_000]).encode(),
                )
                assert r.status_code == 204, r.text
        since = sim.now_ns - (SIMULATED_S + 3600) * NS
        written = await backfill_rollup(influx, db, layout, since, sim.now_ns + NS)
        assert written > 0, "the hourly rollup wrote nothing"


async def _drop(url: str, db: str) -> None:
    async with InfluxQuery(url, db) as influx:
        await influx.query(f'DROP DATABASE "{db}"', db="")


@pytest.fixture(scope="module")
def filled(influxdb: InfluxDB, simulated: Simulated) -> Iterator[Filled]:
    """Filled once for the module (a few seconds), outside the tests' event loops."""
    db = f"gw_grafana_{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(influxdb.url, db, simulated))
    yield Filled(influxdb.url, db, simulated)
    asyncio.run(_drop(influxdb.url, db))


@pytest.fixture
async def influx(filled: Filled) -> AsyncIterator[InfluxQuery]:
    async with InfluxQuery(filled.url, filled.db) as q:
        yield q


def _grafana_regex(values: list[str]) -> str:
    """How Grafana renders a multi-value variable inside /^$var$/: escaped, joined with |."""
    return "(" + "|".join(re.sub(r"([\\^$.|?*+()\[\]{}-])", r"\\\1", v) for v in values) + ")"


async def _variables(influx: InfluxQuery, board: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for var in board["templating"]["list"]:
        if var["type"] == "constant":
            out[var["name"]] = var["query"]
            continue
        assert var["type"] == "query", var
        series = await influx.query(var["query"])
        values = sorted({str(v) for s in series for v in s.column("value")})
        assert values, f"variable {var['name']} of {board['uid']} has no values"
        out[var["name"]] = _grafana_regex(values)
    return out


def _substitute(query: str, variables: dict[str, str], start_ns: int, stop_ns: int) -> str:
    q = query.replace(
        "$timeFilter", f"time >= {start_ns // 10**6}ms and time <= {stop_ns // 10**6}ms"
    )
    q = q.replace("$__interval_ms", "60000").replace("$__interval", "1m")
    for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        q = q.replace(f"${{{name}}}", value).replace(f"${name}", value)
    leftover = re.findall(r"\$\w+", q)
    assert not leftover, f"unsubstituted Grafana variables {leftover} in {query}"
    return q


def _targets(board: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p['id']}:{p['title']}", t) for p in board["panels"] for t in p["targets"]]


def test_there_is_a_dashboard_per_kind_and_for_officers() -> None:
    assert {p.stem for p in BOARDS} == {"pond", "water", "power", "sewer", "officers"}


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.stem)
async def test_every_panel_query_returns_data(
    influx: InfluxQuery, filled: Filled, path: Path
) -> None:
    board = _board(path)
    assert board["time"] == {"from": "now-24h", "to": "now"}
    variables = await _variables(influx, board)
    targets = _targets(board)
    assert targets
    now = filled.sim.now_ns
    for panel, t in targets:
        assert t["datasource"]["uid"] == "gridwatch-influx"
        q = _substitute(t["query"], variables, now - RANGE_S * NS, now)
        series = await influx.query(q)
        values = [v for s in series for row in s.values for v in row[1:] if v is not None]
        assert values, f"{path.stem} panel {panel} returned no data for: {q}"


async def test_every_simulated_sensor_is_offered_by_its_kind_board(
    influx: InfluxQuery, filled: Filled
) -> None:
    """Each kind board's $sensor picker lists every sensor of that kind the simulators ran: the
    data reached InfluxDB under the tags the boards filter on, for the whole site."""
    assert filled.sim.readings > 0
    for kind in Kind:
        board = _board(GRAFANA / "dashboards" / f"{kind.value}.json")
        (var,) = [v for v in board["templating"]["list"] if v["name"] == "sensor"]
        series = await influx.query(var["query"])
        offered = {str(v) for s in series for v in s.column("value")}
        expected = {s.id for s in filled.sim.site.sensors if s.kind is kind}
        assert offered == expected, kind


def test_dashboards_are_what_build_py_generates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    build.__dict__["OUT"] = tmp_path
    build.main()
    for path in BOARDS:
        assert (tmp_path / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"{path.name} is stale: run dashboards/grafana/build.py"


def test_datasource_is_provisioned_from_the_environment() -> None:
    conf = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "gridwatch.yaml").read_text(encoding="utf-8")
    )
    (ds,) = conf["datasources"]
    assert ds["uid"] == "gridwatch-influx"
    assert ds["type"] == "influxdb"
    assert ds["url"] == "${GRIDWATCH_INFLUX_URL}"
    assert ds["jsonData"]["dbName"] == "${GRIDWATCH_INFLUX_DB}"
