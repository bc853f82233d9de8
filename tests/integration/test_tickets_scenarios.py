"""Every demo scenario, published through a real Mosquitto into a real hub process (gateway,
rule engine with the default rules, tickets in SQLite), opens exactly the tickets the scenario
expects — sensor, rule, severity, opened within the expected window — and no others.

Readings carry simulated time and are published as fast as the broker takes them: durations
are judged on event time, so a week of data replayed in seconds opens the same tickets as the
live week would. Offline detection runs on the hub clock, so the scenarios' dropouts (hours of
simulated time, a moment of real time) open no offline ticket here, as the scenarios say.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import pytest

from domain.site import Registry
from services.rules.book import load_rules
from simulators import demo
from simulators.device import Emission
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.harness import InfluxDB, Mosquitto
from tests.integration import tickets_support
from tests.integration.tickets_support import (
    Hub,
    Services,
    broker_dropped,
    compare,
    explain,
    publish_paced,
    reading,
    report,
    running_hub,
    sqlite_url,
    tickets,
)

FAST = ["storm-night", "outage"]
SLOW = ["black-odorous-pond", "faulty-sensor-week", "leak"]  # 100–150k messages each


async def run_scenario(name: str, services: Services) -> None:
    path = demo.scenario_path(name)
    sc, site = load_scenario(path)
    registry = Registry(site)
    start = sc.start.timestamp()
    sim = Simulation(
        site,
        start=start,
        seed=sc.seed,
        scenario=sc,
        prefix=services.topic_prefix,
        base_dir=path.parent,
    )
    began = time.monotonic()
    async with running_hub(services.gateway(), registry, load_rules(registry=registry)) as hub:
        sent = await publish_paced(
            sim.emissions(start + sc.duration), services.mosquitto, start, hub
        )
        try:
            await hub.wait_committed(sent, timeout_s=120)
        except TimeoutError:
            dropped = " (the broker dropped messages)" if broker_dropped(services.mosquitto) else ""
            raise AssertionError(
                f"{name}: {hub.gateway.committed} of {sent} messages committed{dropped}"
            ) from None
    got = tickets(services.db_url, registry)
    print(report(name, got, start, time.monotonic() - began))
    diff = compare(sc.expect, got, start)
    assert diff.missing == [], explain(diff, start)
    assert diff.wrong == [], explain(diff, start)
    assert diff.unexpected == [], explain(diff, start)


@pytest.fixture
def services(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> Services:
    return Services(mosquitto, influxdb, topic_prefix, influx_db, sqlite_url(tmp_path))


@pytest.mark.parametrize("name", FAST)
async def test_a_scenario_opens_exactly_its_expected_tickets(name: str, services: Services) -> None:
    await run_scenario(name, services)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
async def test_a_long_scenario_opens_exactly_its_expected_tickets(
    name: str, services: Services
) -> None:
    await run_scenario(name, services)


def test_every_shipped_scenario_is_covered() -> None:
    assert sorted(FAST + SLOW) == demo.scenario_names()


async def test_a_scenario_is_published_no_further_ahead_of_the_hub_than_the_lead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Published all at once, a long scenario outran the hub by more than the broker queues
    for it; the broker dropped the rest and the test timed out (it was blamed on the engine)."""
    published: list[float] = []
    ahead: list[int] = []

    class LaggingHub:
        committed = 0

        async def wait_committed(self, messages: int, timeout_s: float = 60.0) -> None:
            self.committed = max(self.committed, messages)  # catches up only as far as awaited

    hub = LaggingHub()

    async def publish_all(emissions: Iterable[Emission], broker: object, start: float) -> int:
        part = list(emissions)
        published.extend(e.due for e in part)
        ahead.append(len(published) - hub.committed)
        return len(part)

    monkeypatch.setattr(tickets_support, "publish_all", publish_all)
    series = [reading("water", "w-1", "p", float(t), flow=1.0) for t in range(1_000)]
    sent = await publish_paced(series, Mosquitto(workdir=tmp_path), 0.0, cast(Hub, hub), lead=100)
    assert sent == 1_000
    assert published == [float(t) for t in range(1_000)]
    assert max(ahead) <= 100
