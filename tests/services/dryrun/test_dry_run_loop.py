"""A big dry-run does not freeze the API: a real uvicorn server keeps answering /healthz while
an officer's dry-run replays a hundred thousand readings, and a run past its time limit
is stopped with a reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.influx.query import InfluxQuery
from domain.site import Registry
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.dryrun import DryRun, DryRunBusy, DryRunError, DryRunTooLong, Scope, dry_run_isolated
from tests.harness import InfluxDB
from tests.services.api.server import serve
from tests.services.trends.conftest import Write, line

NS = 10**9
T0 = 1_750_000_000 * NS
READINGS = 100_000
BODY = {
    "rule": "pond.low_oxygen",
    "sensor": "pond-a",
    "start": "2025-06-15T00:00:00Z",
    "end": "2026-06-15T00:00:00Z",
}


@pytest.fixture
async def many_readings(write: Write) -> None:
    """pond-a every 30 s for ~35 days, its oxygen swinging across the warning level."""
    await write(
        [
            line("pond", "pond-a", T0 + i * 30 * NS, do=2.0 + (i // 500) % 4, orp=150.0)
            for i in range(READINGS)
        ]
    )


@pytest.fixture
def server(
    influxdb: InfluxDB, influx_db: str, registry: Registry, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """The API on a real port in its own thread; yields its URL and an officer's token."""
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'gw.db'}",
        influx_url=influxdb.url,
        influx_db=influx_db,
    )
    hubs: list[Hub] = []
    app = create_app(
        settings, registry=registry, on_start=hubs.append, tick_interval_s=0, web=False
    )
    with serve(app) as url:
        yield url, hubs[0].tokens.create("zhou", "officer")


async def test_the_api_answers_while_a_big_dry_run_replays(
    many_readings: None, server: tuple[str, str]
) -> None:
    url, token = server
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        started = time.monotonic()
        run = asyncio.create_task(
            c.post("/api/v1/rules/dry-run", json=BODY, headers={"Authorization": f"Bearer {token}"})
        )
        await asyncio.sleep(0.3)
        waits: list[float] = []
        while not run.done():
            t = time.monotonic()
            r = await c.get("/api/v1/healthz", timeout=5)
            waits.append(time.monotonic() - t)
            assert r.status_code == 200
            await asyncio.sleep(0.1)
        r = await run
        took = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.json()["readings"] == READINGS
    assert took > 1, f"the dry-run took only {took:.1f} s: too small to show anything"
    assert len(waits) >= 5
    assert max(waits) < 0.5, f"/healthz waited up to {max(waits):.2f} s during the dry-run"


async def test_a_dry_run_past_its_time_limit_is_stopped_and_one_runs_at_a_time(
    many_readings: None, influx: InfluxQuery, registry: Registry
) -> None:
    req = DryRun("pond.low_oxygen", Scope(sensor="pond-a"), T0, T0 + 40 * 86_400 * NS)
    first = asyncio.create_task(dry_run_isolated(influx.target, registry, req, time_limit_s=1.0))
    await asyncio.sleep(0.1)
    with pytest.raises(DryRunBusy, match="another rule dry-run is running"):
        await dry_run_isolated(influx.target, registry, req)
    started = time.monotonic()
    with pytest.raises(DryRunTooLong, match=r"longer than 1 s.*narrow the range"):
        await first
    assert time.monotonic() - started < 3  # stopped at its limit, not at the end of the data

    small = DryRun("pond.low_oxygen", Scope(sensor="pond-a"), T0, T0 + 86_400 * NS)
    result = await dry_run_isolated(influx.target, registry, small)  # the lock is free again
    assert result.readings == 2880
    bad = DryRun("pond.low_oxygen", Scope(sensor="pond-zz"), T0, T0 + 86_400 * NS)
    with pytest.raises(DryRunError, match="no sensor 'pond-zz'"):  # raised in the child
        await dry_run_isolated(influx.target, registry, bad)
