"""Two hub processes evaluating the same stream on ONE PostgreSQL: every expected ticket exists
once. Both gateways subscribe to the same topics with their own client ids, so each receives
every reading and each rule engine raises every breach; the database's one-active-ticket index
decides who opens it, and the loser's breach lands on the winner's ticket."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import AsyncExitStack

import pytest

from domain.site import Registry
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
    running_hub,
    tickets,
)
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures

# the storm's sensors with expected tickets, and quiet neighbours of every kind
SENSORS = [
    "sewer-cy-mh-03",
    "sewer-cy-pw-01",
    "pond-cy-01",
    "sewer-cy-mh-04",
    "water-cy-net-01",
    "water-cy-tank-01",
    "power-cy-tx-01",
    "power-cy-room-01",
]
HOURS = 12  # every expected ticket of storm-night opens within 8 h


async def test_two_hubs_on_one_postgresql_open_each_ticket_once(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    pg_url: str,  # noqa: F811 - fixture
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, pg_url)
    sc, site = load_scenario(demo.scenario_path("storm-night"))
    registry = Registry(site)
    rules = load_rules(registry=registry)
    start = sc.start.timestamp()
    sim = Simulation(
        site, start=start, seed=sc.seed, scenario=sc, sensors=SENSORS, prefix=topic_prefix
    )
    began = time.monotonic()
    caplog.set_level(logging.WARNING)
    async with AsyncExitStack() as stack:
        settings = [services.gateway(f"hub{n}-{uuid.uuid4().hex[:8]}") for n in (1, 2)]
        hubs = await asyncio.gather(  # both start at once: their migrations race too
            *(stack.enter_async_context(running_hub(s, registry, rules)) for s in settings)
        )
        sent = await publish_all(sim.emissions(start + HOURS * 3600), mosquitto, start)
        await asyncio.gather(*(h.wait_committed(sent) for h in hubs))
        races = [h.alarms.tickets.counters.races_lost for h in hubs]
        opened = [h.alarms.tickets.counters.opened for h in hubs]
    got = tickets(pg_url, registry)
    print(report("storm-night on two hubs", got, start, time.monotonic() - began))
    print(f"tickets opened per hub: {opened}, races lost per hub: {races}")
    diff = compare(sc.expect, got, start)
    assert diff.missing == [], explain(diff, start)
    assert diff.wrong == [], explain(diff, start)  # a second ticket for a key shows up here
    assert diff.unexpected == [], explain(diff, start)
    for t in got:
        assert [e.kind for e in t.events].count("opened") == 1, t.events
    assert sum(opened) == len(got)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [(r.getMessage(), r.exc_text) for r in failures]
