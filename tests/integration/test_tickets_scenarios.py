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
from pathlib import Path

import pytest

from domain.site import Registry
from gridwatch.processes import InfluxDB, Mosquitto
from services.rules.book import load_rules
from simulators import demo
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.integration.tickets_support import (
    Services,
    compare,
    explain,
    publish_all,
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
    async with running_hub(
        services.gateway(), services.ticketing(), registry, load_rules(registry=registry)
    ) as hub:
        sent = await publish_all(sim.emissions(start + sc.duration), services.mosquitto, start)
        await hub.wait_committed(sent, timeout_s=120)
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
