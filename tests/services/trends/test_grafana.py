"""Every Grafana panel query, with Grafana's macros and template variables substituted the way
Grafana does, runs against a real InfluxDB filled with data for every kind and returns data.
Also: the JSON is what build.py generates, and the datasource the panels name is provisioned."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.catalog import CATALOG, HEALTH, Kind
from domain.site import Registry
from services.influx.client import InfluxQuery
from tests.services.trends.conftest import Write, line

GRAFANA = Path(__file__).parents[3] / "dashboards" / "grafana"
BOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
NS = 10**9


def _board(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _value(kind: Kind, name: str) -> float:
    if name == "voltage":
        return 220.0  # inside 198-235.4, so the qualified-readings query has rows too
    m = CATALOG[kind].get(name) or HEALTH[name]
    hi = min(m.hi, 1000.0)
    return round(m.lo + (hi - m.lo) * 0.3, 3)


async def _fill(write: Write, registry: Registry, now_ns: int) -> None:
    lines = []
    for p in registry.placements.values():
        kind = p.sensor.kind
        fields = {n: _value(kind, n) for n in (*CATALOG[kind], *HEALTH)}
        for ago_min in (150, 90, 60, 30, 5):
            lines.append(line(kind.value, p.sensor.id, now_ns - ago_min * 60 * NS, **fields))
    await write(lines)


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
    influx: InfluxQuery, write: Write, registry: Registry, path: Path
) -> None:
    now = time.time_ns()
    await _fill(write, registry, now)
    board = _board(path)
    variables = await _variables(influx, board)
    targets = _targets(board)
    assert targets
    for panel, t in targets:
        assert t["datasource"]["uid"] == "gridwatch-influx"
        q = _substitute(t["query"], variables, now - 6 * 3600 * NS, now)
        series = await influx.query(q)
        values = [v for s in series for row in s.values for v in row[1:] if v is not None]
        assert values, f"{path.stem} panel {panel} returned no data for: {q}"


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
