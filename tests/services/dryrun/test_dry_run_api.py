"""POST /api/v1/rules/dry-run on the real app with the real InfluxDB, and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from domain.site import Registry
from gridwatch.cli import app as cli
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from tests.harness import InfluxDB
from tests.services.api.conftest import _WithState
from tests.services.trends.conftest import SITE


@pytest.fixture
async def client(
    influxdb: InfluxDB, influx_db: str, pond_data: None, registry: Registry, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    hubs: list[Hub] = []
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'gw.db'}",
        site="",
        influx_url=influxdb.url,
        influx_db=influx_db,
    )
    app = create_app(settings, registry=registry, on_start=hubs.append, tick_interval_s=0)
    async with (
        app.router.lifespan_context(app) as state,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_WithState(app, dict(state or {}))),
            base_url="http://gridwatch.test",
        ) as c,
    ):
        tokens = {
            "officer": hubs[0].tokens.create("zhou", "officer"),
            "crew": hubs[0].tokens.create("li-ming", "crew", ("qp-g1",)),
        }
        yield c, tokens


def body(**extra: Any) -> dict[str, Any]:
    return {
        "rule": "pond.low_oxygen",
        "sensor": "pond-a",
        "start": "2025-06-15T14:06:40Z",  # T0 - 1 h
        "end": "2025-06-15T23:06:40Z",  # T0 + 8 h
        **extra,
    }


async def test_officer_dry_runs_a_lower_threshold_crew_may_not(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    c, tokens = client
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    r = await c.post(
        "/api/v1/rules/dry-run", json=body(patch={"warning": {"value": 3.5}}), headers=officer
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["count"], out["baseline_count"], out["readings"]) == (2, 1, 96)
    assert [t["opened_at"] for t in out["tickets"]] == [
        "2025-06-15T15:06:40Z",
        "2025-06-15T19:06:40Z",
    ]
    assert out["tickets"][0]["peak_value"] == 3.2
    crew = {"Authorization": f"Bearer {tokens['crew']}"}
    assert (await c.post("/api/v1/rules/dry-run", json=body(), headers=crew)).status_code == 403
    r = await c.post("/api/v1/rules/dry-run", json=body(rule="sensor.offline"), headers=officer)
    assert r.status_code == 422


def test_cli_dry_run_prints_the_tickets(
    influxdb: InfluxDB, influx_db: str, pond_data: None, tmp_path: Path
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    args = ["rules", "dry-run", "--rule", "pond.low_oxygen", "--set", "warning.value=3.5"]
    args += ["--sensor", "pond-a", "--from", "2025-06-15T22:00", "--to", "2025-06-16T07:10"]
    args += ["--site", str(site), "--influx-url", influxdb.url, "--influx-db", influx_db]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "2 ticket(s) would have opened" in r.output
    assert "1 ticket(s) under the rule as it is now" in r.output
    assert "pond-a\tpond.low_oxygen\twarning\t2025-06-15T23:06:40+08:00" in r.output
