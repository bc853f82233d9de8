"""The live registry in a running hub (contract §7): a change committed by another process
reaches the gateway within 5 s — a new sensor's readings are stored, a retired one's refused
as `retired_sensor` — and a device publishing through a series of changes loses nothing.

Real Mosquitto, InfluxDB and SQLite; the "other process" is a second engine on the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.site import Registry, Site, parse_site
from gateway.cluster import Cluster
from gridwatch.hub import DbRegistryFeed, build_front, open_alarms, run_front
from services.db.engine import make_engine, open_database
from services.registry import edits
from services.registry.changes import Current
from services.registry.store import RegistryStore
from services.rules.book import load_rules
from simulators.device import Emission
from tests.harness import InfluxDB, Mosquitto
from tests.integration.tickets_support import (
    Hub,
    Services,
    publish_all,
    reading,
    running_hub,
    sqlite_url,
)
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures
from tests.services.tickets.site import SITE

PICKUP_S = 5.0


@pytest.fixture
def store_at() -> Iterator[Callable[[str], RegistryStore]]:
    """A RegistryStore on an engine of its own (the API, say, in another process), disposed
    at the end: an engine left to the garbage collector closes its PostgreSQL connection
    with a ResourceWarning in whichever later test is running then."""
    engines = []

    def store(url: str) -> RegistryStore:
        engines.append(make_engine(url))
        return RegistryStore(engines[-1])

    yield store
    for engine in engines:
        engine.dispose()


def counter(hub: Hub, name: str, **labels: str) -> float:
    value = hub.gateway.metrics.registry.get_sample_value(f"gridwatch_gateway_{name}", labels)
    return value or 0.0


async def until(check: Any, timeout_s: float = PICKUP_S) -> float:
    """Seconds until `check()` holds (AssertionError past `timeout_s`)."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def send(hub: Hub, broker: Mosquitto, *emissions: Emission) -> None:
    before = hub.gateway.committed
    await publish_all(emissions, broker, time.time())
    await hub.wait_committed(before + len(emissions), 30)


def added(sensor: dict[str, Any]) -> Any:
    return lambda cur: edits.add(_site(cur), "sensors", sensor)


def moved_to(grid: str) -> Any:
    return lambda cur: edits.patch(_site(cur), "sensors", "water-qp-01", {"grid": grid})


def _site(cur: Current) -> Site:
    assert cur.site is not None
    return cur.site


async def test_a_committed_change_reaches_the_gateway_within_5_s(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    tmp_path: Path,
    store_at: Callable[[str], RegistryStore],
) -> None:
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, sqlite_url(tmp_path))
    registry = Registry(parse_site(SITE))
    settings = services.gateway()
    other = store_at(services.db_url)  # the API, say, in another process
    new = {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g2", "interval_s": 60}
    async with running_hub(settings, registry, load_rules(registry=registry)) as hub:
        assert registry.version == 1  # seeded from the site it was given
        await send(hub, mosquitto, reading("pond", "pond-qp-09", topic_prefix, time.time(), do=6))
        assert counter(hub, "rejections_total", reason="unknown_sensor") == 1

        out = await asyncio.to_thread(other.change, added(new), "test")
        took = await until(lambda: registry.get("pond-qp-09") is not None)
        print(f"commit -> gateway pickup (new sensor): {took:.3f} s")
        assert registry.version == out.version
        stored = counter(hub, "readings_stored_total")
        await send(hub, mosquitto, reading("pond", "pond-qp-09", topic_prefix, time.time(), do=6))
        assert counter(hub, "readings_stored_total") == stored + 1
        assert counter(hub, "rejections_total", reason="unknown_sensor") == 1
        assert hub.gateway.facts().registry_version == out.version
        version = hub.gateway.metrics.registry.get_sample_value("gridwatch_registry_version")
        assert version == out.version

        await asyncio.to_thread(
            other.change, lambda cur: edits.remove(_site(cur), "sensors", "pond-qp-09"), "test"
        )
        took = await until(lambda: registry.is_retired("pond-qp-09"))
        print(f"commit -> gateway pickup (retirement): {took:.3f} s")
        await send(hub, mosquitto, reading("pond", "pond-qp-09", topic_prefix, time.time(), do=6))
        assert counter(hub, "rejections_total", reason="retired_sensor") == 1
        assert counter(hub, "readings_stored_total") == stored + 1


async def test_a_device_publishing_through_changes_loses_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    tmp_path: Path,
    store_at: Callable[[str], RegistryStore],
) -> None:
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, sqlite_url(tmp_path))
    registry = Registry(parse_site(SITE))
    settings = services.gateway()
    other = store_at(services.db_url)
    async with running_hub(settings, registry, load_rules(registry=registry)) as hub:
        t0 = time.time() - 60
        sent = 0
        for i in range(20):  # 20 changes, each with 5 readings of a device in flight
            grid = "qp-g2" if i % 2 else "qp-g1"
            change = asyncio.create_task(
                asyncio.to_thread(
                    other.change,
                    lambda cur, g=grid: edits.patch(
                        _site(cur), "sensors", "water-qp-01", {"grid": g}
                    ),
                    "test",
                )
            )
            emissions = [
                reading("water", "water-qp-01", topic_prefix, t0 + sent + k, pressure=0.3)
                for k in range(5)
            ]
            sent += len(emissions)
            await publish_all(emissions, mosquitto, t0)
            await change
        await hub.wait_committed(sent, 60)
        assert counter(hub, "readings_stored_total") == sent
        assert (
            sum(
                counter(hub, "rejections_total", reason=r)
                for r in ("unknown_sensor", "retired_sensor", "kind_mismatch")
            )
            == 0
        )
        last = await asyncio.to_thread(other.version)
        assert last == 20  # the first change moved it nowhere: no version
        await until(lambda: registry.version == last)
        assert registry.get("water-qp-01") is not None


async def test_a_worker_feed_follows_postgresql_by_notify(pg_url: str) -> None:  # noqa: F811
    """The feed a gateway worker runs: woken by LISTEN/NOTIFY, well before its 30 s poll."""
    engine = open_database(pg_url)
    store = RegistryStore(engine)
    store.seed(parse_site(SITE))
    registry = store.registry()
    feed = DbRegistryFeed(pg_url, poll_s=30.0)
    follower = asyncio.create_task(feed.follow(registry))
    try:
        await asyncio.sleep(1.0)  # connected and listening
        times = []
        for n in range(3):
            new = {"id": f"pond-qp-2{n}", "kind": "pond", "grid": "qp-g1"}
            await asyncio.to_thread(store.change, added(new), "test")
            times.append(await until(lambda n=n: registry.get(f"pond-qp-2{n}") is not None, 3.0))
        print(f"commit -> pickup over LISTEN/NOTIFY: {', '.join(f'{t:.3f}' for t in times)} s")
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        engine.dispose()


@pytest.mark.slow
async def test_each_worker_of_a_cluster_follows_postgresql_within_5_s(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    pg_url: str,  # noqa: F811 - fixture
    store_at: Callable[[str], RegistryStore],
) -> None:
    """`gateway --workers 2` on PostgreSQL: both workers judge by a new version within 5 s
    (their reported `registry_version`), the new sensor's readings are stored, the retired
    one's refused as `retired_sensor`."""
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, pg_url)
    registry = Registry(parse_site(SITE))
    settings = services.gateway(f"cl-{topic_prefix[:12]}")
    other = store_at(pg_url)
    new = {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g2", "interval_s": 60}
    async with open_alarms(settings, registry, load_rules(registry=registry)) as runtime:
        cluster = build_front(settings, registry, runtime.sinks, workers=2)
        assert isinstance(cluster, Cluster)
        task = asyncio.create_task(run_front(cluster, settings))
        try:
            async with asyncio.timeout(120):
                await cluster.wait_ready()
            await until(lambda: cluster.health().facts.registry_version == 1, 30)
            server = cluster.server
            assert server is not None
            out = await asyncio.to_thread(other.change, added(new), "test")
            took = await until(lambda: cluster.health().facts.registry_version == out.version)
            print(f"commit -> both workers (reported, 1 s reports): {took:.3f} s")
            before = server.readings
            emissions = [
                reading("pond", "pond-qp-09", topic_prefix, time.time() - 10 + k, do=6)
                for k in range(10)
            ]
            await publish_all(emissions, mosquitto, time.time())
            await until(lambda: server.readings == before + 10, 30)
            gone = await asyncio.to_thread(
                other.change, lambda cur: edits.remove(_site(cur), "sensors", "pond-qp-09"), "t"
            )
            await until(lambda: cluster.health().facts.registry_version == gone.version)
            await publish_all(emissions[:4], mosquitto, time.time())

            def retired() -> float:
                name = "gridwatch_gateway_rejections_total"
                return sum(
                    cluster.metrics_registry.get_sample_value(
                        name, {"worker": w, "reason": "retired_sensor"}
                    )
                    or 0.0
                    for w in "01"
                )

            await until(lambda: retired() == 4, 30)
            assert server.readings == before + 10
        finally:
            cluster.stop()
            async with asyncio.timeout(60):
                await task
