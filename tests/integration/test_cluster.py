"""Two gateway worker processes on one `$share` stream, rules in the parent, tickets in
PostgreSQL: every reading stored once, every expected ticket opened once, both workers used."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from domain.site import Registry
from gateway.cluster import Cluster
from gridwatch.hub import build_front, open_alarms, run_front
from services.rules.book import load_rules
from simulators import demo
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.harness import InfluxDB, Mosquitto
from tests.integration.tickets_support import (
    Services,
    compare,
    explain,
    publish_all,
    report,
    tickets,
)
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures

SENSORS = ["sewer-cy-mh-03", "sewer-cy-pw-01", "pond-cy-01", "water-cy-net-01", "power-cy-tx-01"]
HOURS = 12


async def stored_points(influx: InfluxDB, db: str) -> int:
    """Points in InfluxDB over every measurement (one per stored reading)."""
    total = 0
    async with httpx.AsyncClient(base_url=influx.url) as http:
        r = await http.get("/query", params={"db": db, "q": "SHOW MEASUREMENTS"})
        series = r.json()["results"][0].get("series") or []
        names = [v[0] for v in series[0]["values"]] if series else []
        for name in names:
            r = await http.get("/query", params={"db": db, "q": f'SELECT * FROM "{name}"'})  # noqa: S608 - names from SHOW
            found = r.json()["results"][0].get("series") or []
            total += sum(len(s["values"]) for s in found)
    return total


async def test_two_workers_on_one_share_store_every_reading_once_and_tickets_once(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    pg_url: str,  # noqa: F811 - fixture
) -> None:
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, pg_url)
    sc, site = load_scenario(demo.scenario_path("storm-night"))
    registry = Registry(site)
    start = sc.start.timestamp()
    sim = Simulation(
        site, start=start, seed=sc.seed, scenario=sc, sensors=SENSORS, prefix=topic_prefix
    )
    emissions = list(sim.emissions(start + HOURS * 3600))
    readings = sum(e.readings for e in emissions if e.topic.endswith("/telemetry"))
    settings = services.gateway(f"cl-{topic_prefix[:12]}")
    rules = load_rules(registry=registry)
    began = time.monotonic()
    async with open_alarms(settings, registry, rules) as runtime:
        cluster = build_front(settings, registry, runtime.sinks, workers=2)
        assert isinstance(cluster, Cluster)
        task = asyncio.create_task(run_front(cluster, settings))
        try:
            async with asyncio.timeout(60):
                await cluster.wait_ready()
            await publish_all(emissions, mosquitto, start)
            server = cluster.server
            assert server is not None
            async with asyncio.timeout(90):
                while server.readings < readings:
                    assert not task.done(), "the cluster stopped early"
                    await asyncio.sleep(0.1)
        finally:
            cluster.stop()
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(60):
                    await task

    assert server.readings == readings, "no reading evaluated twice (no redelivery here)"
    assert len([n for n in server.by_worker.values() if n > 0]) == 2, server.by_worker
    assert await stored_points(influxdb, influx_db) == readings
    got = tickets(pg_url, registry)
    print(report("storm-night on a 2-worker cluster", got, start, time.monotonic() - began))
    print(f"readings per worker: {server.by_worker}")
    diff = compare(sc.expect, got, start)
    expected_here = [e for e in sc.expect if e.sensor in SENSORS]
    assert diff.wrong == [], explain(diff, start)  # a second ticket for a key shows up here
    assert diff.unexpected == [], explain(diff, start)
    assert len(got) == len(expected_here), explain(diff, start)
    for t in got:
        assert [e.kind for e in t.events].count("opened") == 1, t.events
