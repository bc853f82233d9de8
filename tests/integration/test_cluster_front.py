"""`gridwatch gateway --workers 2` as deployed, on a real Mosquitto: the parent's
`--metrics-port` shows what the workers count, and the cluster starts and takes readings
while InfluxDB is down (spooled, acknowledged, written when InfluxDB returns), as the single
process does (issue 11)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from domain.site import Registry, parse_site
from gateway.cluster import Cluster
from gateway.health import Status
from gridwatch.hub import build_front, open_alarms, run_front
from gridwatch.settings import load_settings
from services.rules.book import load_rules
from tests.harness import InfluxDB, Mosquitto, free_port, stop_all
from tests.integration.faults import SITE, count, publish, readings

N = 600
START_S = 60.0


def scrape(text: str, name: str, **labels: str) -> dict[str, float]:
    """Samples of `name` in Prometheus text carrying `labels`, by their `worker` label."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if m is None:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if all(got.get(k) == v for k, v in labels.items()):
            out[got.get("worker", "")] = float(m.group(2))
    return out


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


async def until(what: str, check: Callable[[], bool], limit_s: float = START_S) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not check():  # noqa: ASYNC110 - polling what a user would look at
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_the_parents_metrics_endpoint_shows_what_the_workers_count(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE), encoding="utf-8")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")},
        "GRIDWATCH_SITE": str(site),
        "GRIDWATCH_MQTT_URL": mosquitto.url,
        "GRIDWATCH_INFLUX_URL": influxdb.url,
        "GRIDWATCH_INFLUX_DB": influx_db,
        "GRIDWATCH_TOPIC_PREFIX": topic_prefix,
        "GRIDWATCH_MQTT_CLIENT_ID": f"gw-m-{uuid.uuid4().hex[:8]}",
        "GRIDWATCH_DB_URL": f"sqlite:///{tmp_path / 'tickets.db'}",
        "GRIDWATCH_SPOOL_DIR": str(tmp_path / "spool"),
        "GRIDWATCH_BATCH_INTERVAL_S": "0.1",
    }
    argv = [sys.executable, "-m", "gridwatch.cli", "gateway", "--workers", "2",
            "--metrics-port", str(port), "--log-level", "warning"]  # fmt: skip
    log = tmp_path / "gateway.log"
    proc = spawn(argv, env, log)
    metrics = ""
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def scrape_now() -> str:
                nonlocal metrics
                assert proc.poll() is None, log.read_text()
                try:
                    metrics = (await http.get("/metrics")).text
                except httpx.TransportError:
                    metrics = ""
                return metrics

            async def workers_connected() -> bool:
                got = scrape(await scrape_now(), "gridwatch_gateway_broker_connected")
                return got == {"0": 1.0, "1": 1.0}

            try:
                async with asyncio.timeout(2 * START_S):  # three processes import everything
                    while not await workers_connected():  # noqa: ASYNC110 - polling the endpoint
                        await asyncio.sleep(0.2)
            except TimeoutError:
                raise AssertionError(
                    f"the workers did not connect:\n{metrics[-2000:]}\n{log.read_text()}"
                ) from None
            await publish(mosquitto, readings(0, N, topic_prefix))

            async def stored() -> float:
                got = scrape(await scrape_now(), "gridwatch_gateway_readings_stored_total")
                return sum(got.values())

            async with asyncio.timeout(START_S):
                while await stored() < N:  # noqa: ASYNC110 - polling the endpoint
                    await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # a later report must not count more
            per_worker = scrape(await scrape_now(), "gridwatch_gateway_readings_stored_total")
            received = scrape(metrics, "gridwatch_gateway_messages_total", channel="telemetry")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    print(f"readings stored per worker, from the parent's endpoint: {per_worker}")
    assert sum(per_worker.values()) == N
    assert set(per_worker) == {"0", "1"}
    assert all(v > 0 for v in per_worker.values()), "both workers took part"
    assert sum(received.values()) == N
    assert await count(influxdb, influx_db) == N
    assert code == 0, log.read_text()


async def test_a_cluster_starts_without_influxdb_spools_acks_and_writes_when_it_returns(
    mosquitto: Mosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    influx = InfluxDB(workdir=tmp_path / "influxdb", port=free_port())  # not started yet
    registry = Registry(parse_site(SITE))
    settings = load_settings(
        mqtt_url=mosquitto.url,
        influx_url=influx.url,
        influx_db="late",
        topic_prefix=topic_prefix,
        mqtt_client_id=f"gw-late-{uuid.uuid4().hex[:8]}",
        spool_dir=tmp_path / "spool",
        batch_interval_s=0.1,
        influx_timeout_s=2.0,
        influx_retry_budget_s=0.5,
        db_url=f"sqlite:///{tmp_path / 'tickets.db'}",
    )
    began = time.monotonic()
    try:
        async with open_alarms(settings, registry, load_rules(registry=registry)) as a:
            cluster = build_front(settings, registry, a.sinks, workers=2)
            assert isinstance(cluster, Cluster)
            task = asyncio.create_task(run_front(cluster, settings))
            try:
                async with asyncio.timeout(START_S):
                    await cluster.wait_ready()  # the start does not wait for InfluxDB
                await publish(mosquitto, readings(0, N, topic_prefix))
                server = cluster.server
                assert server is not None
                # A worker hands a batch to the rules only after its commit (here: the spool).
                await until("every reading committed", lambda: server.readings == N)

                def total(name: str) -> float:
                    return sum(
                        cluster.metrics_registry.get_sample_value(name, {"worker": w}) or 0.0
                        for w in "01"
                    )

                await until(
                    "the spooled counts reported",
                    lambda: total("gridwatch_gateway_spooled_readings_total") == N,
                )
                await until(
                    "nothing unacknowledged", lambda: total("gridwatch_gateway_queue_depth") == 0
                )
                health = cluster.health()
                assert health.status is Status.DEGRADED
                assert health.facts.spool_depth == N
                assert any("InfluxDB is not taking writes" in p for p in health.problems)
                assert all(v > 0 for v in server.by_worker.values())
                assert len(server.by_worker) == 2

                influx.start()
                returned = time.monotonic()
                await until("spool drained", lambda: cluster.health().facts.spool_depth == 0)
                stored = await count(influx, "late")
                took = time.monotonic() - returned
                await until("InfluxDB seen back", lambda: cluster.health().facts.influx_up)
            finally:
                cluster.stop()
                async with asyncio.timeout(60):
                    await task
    finally:
        stop_all(influx)
    print(
        f"cluster without InfluxDB: {N} readings spooled and acked, "
        f"{stored} stored {took:.1f} s after InfluxDB started "
        f"({time.monotonic() - began:.1f} s in all)"
    )
    assert stored == N
    assert server.readings == N, "each reading reached the rules once"
