"""Tickets through real processes, beyond the scenarios: ticket events on MQTT (and how soon),
a hub restarted in the middle of a pending duration, a replay after a restart, and a whole
community falling silent on the hub clock."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

from domain import topics
from domain.site import Registry
from services.rules.book import load_rules
from simulators.device import Emission
from tests.harness import InfluxDB, Mosquitto
from tests.integration.tickets_support import (
    Services,
    publish_all,
    reading,
    running_hub,
    small_site,
    sqlite_url,
    tickets,
)

NS = 1_000_000_000


@pytest.fixture
def services(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> Services:
    return Services(mosquitto, influxdb, topic_prefix, influx_db, sqlite_url(tmp_path))


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_a_breaching_reading_reaches_the_grids_ticket_topic(
    services: Services, tag: str
) -> None:
    site = small_site(tag, [(f"tx-{tag}", "power", "1", 300)])
    registry = Registry(site)
    grid = f"g1-{tag}"
    now = time.time()
    async with (
        running_hub(services.gateway(), registry, load_rules(registry=registry)) as hub,
        aiomqtt.Client(services.mosquitto.host, services.mosquitto.port) as sub,
    ):
        await sub.subscribe(topics.tickets(grid), qos=1)
        healthy = reading("power", f"tx-{tag}", services.topic_prefix, now - 60, voltage=220.0)
        dead = reading("power", f"tx-{tag}", services.topic_prefix, now, voltage=0.0)
        await sub.publish(healthy.topic, healthy.payload, qos=1)
        await hub.wait_committed(1)
        sent = time.monotonic()
        await sub.publish(dead.topic, dead.payload, qos=1)
        async with asyncio.timeout(10):
            message = await anext(sub.messages)
        latency = time.monotonic() - sent
    print(f"publish → ticket event on {topics.tickets(grid)}: {latency * 1000:.0f} ms")
    assert str(message.topic) == topics.tickets(grid)
    event = json.loads(bytes(message.payload))
    assert event["event"] == "opened"
    ticket = event["ticket"]
    assert (ticket["sensor"], ticket["rule"], ticket["severity"]) == (
        f"tx-{tag}",
        "power.outage",
        "critical",
    )
    assert (ticket["grid"], ticket["assignee"], ticket["status"]) == (grid, f"w1-{tag}", "open")
    stored = tickets(services.db_url, registry)
    assert [t.id for t in stored] == [ticket["id"]]
    assert stored[0].opened_at is not None
    assert abs(stored[0].opened_at.timestamp() - now) < 0.001  # the reading's time, not ours


def low_oxygen_series(sensor: str, prefix: str, t0: float, n: int) -> list[Emission]:
    """`n` readings 10 min apart with DO 2.5–2.6 mg/L: below the 3.0 warning of pond.low_oxygen
    (for 1 h), above every other pond limit, and never flat (no sensor.stuck)."""
    return [
        reading("pond", sensor, prefix, t0 + k * 600, do=2.5 + 0.01 * (k % 7)) for k in range(n)
    ]


def snapshot(db_url: str, registry: Registry) -> list[tuple[object, ...]]:
    """What a crew would see of every ticket, timeline included."""
    return [
        (
            t.id,
            t.sensor,
            t.rule,
            t.severity,
            t.status,
            t.opened_at,
            t.occurrences,
            t.recovered,
            t.first_value,
            t.peak_value,
            t.last_value,
            [(e.kind, e.at) for e in t.events],
        )
        for t in tickets(db_url, registry)
    ]


async def test_a_restart_in_the_middle_of_a_pending_duration_opens_one_ticket_on_time(
    services: Services, tag: str
) -> None:
    sensor = f"pond-{tag}"
    site = small_site(tag, [(sensor, "pond", "1", 600)])
    registry = Registry(site)
    rules = load_rules(registry=registry)
    t0 = float(int(time.time()) - 3 * 3600)
    series = low_oxygen_series(sensor, services.topic_prefix, t0, 13)  # 2 h of breach
    first, rest = series[:4], series[4:]  # 0–30 min: half of the rule's 1 h
    async with running_hub(services.gateway(), registry, rules) as hub:
        await hub.wait_committed(await publish_all(first, services.mosquitto, t0))
    assert tickets(services.db_url, registry) == []  # still pending when the hub stopped

    async with running_hub(services.gateway(), registry, rules) as hub:
        await hub.wait_committed(await publish_all(rest, services.mosquitto, t0))
    opened = tickets(services.db_url, registry)
    assert [(t.sensor, t.rule, t.severity) for t in opened] == [
        (sensor, "pond.low_oxygen", "warning")
    ]
    assert opened[0].opened_at is not None
    assert opened[0].opened_at.timestamp() == t0  # the first breaching reading
    assert opened[0].events[0].at is not None
    assert opened[0].events[0].at.timestamp() == t0
    before = snapshot(services.db_url, registry)

    # the same messages again, to a freshly started hub: nothing new
    async with running_hub(services.gateway(), registry, rules) as hub:
        await hub.wait_committed(await publish_all(series, services.mosquitto, t0))
        replay_breaches = hub.alarms.breaches
    assert snapshot(services.db_url, registry) == before
    assert replay_breaches == 0


async def test_a_hub_restarted_mid_duration_opens_what_an_uninterrupted_one_does(
    services: Services, tag: str, tmp_path: Path
) -> None:
    """The same stream through one hub, and through two with a restart in between."""
    sensor = f"pond-{tag}"
    registry = Registry(small_site(tag, [(sensor, "pond", "1", 600)]))
    rules = load_rules(registry=registry)
    t0 = float(int(time.time()) - 3 * 3600)
    series = low_oxygen_series(sensor, services.topic_prefix, t0, 13)
    async with running_hub(services.gateway(), registry, rules) as hub:
        await hub.wait_committed(await publish_all(series, services.mosquitto, t0))
    straight = [(t.rule, t.severity, t.opened_at) for t in tickets(services.db_url, registry)]

    other = Services(
        services.mosquitto,
        services.influxdb,
        f"{services.topic_prefix}2",
        f"{services.influx_db}_2",
        sqlite_url(tmp_path / "restarted"),
    )
    (tmp_path / "restarted").mkdir()
    again = [
        reading("pond", sensor, other.topic_prefix, e.due, **json.loads(e.payload)["values"])
        for e in series
    ]
    for part in (again[:4], again[4:]):
        async with running_hub(other.gateway(), registry, rules) as hub:
            await hub.wait_committed(await publish_all(part, other.mosquitto, t0))
    restarted = [(t.rule, t.severity, t.opened_at) for t in tickets(other.db_url, registry)]
    assert restarted == straight
    assert len(straight) == 1


async def test_a_silent_community_is_one_incident_and_a_lone_silent_sensor_goes_offline(
    services: Services, tag: str, tmp_path: Path
) -> None:
    """Live readings every second (interval_s 1: offline after 3 s on the hub clock). All of
    community 1 stops at once → one community.silent incident and no offline ticket per
    sensor; one sensor of community 2 stops alone → its own sensor.offline ticket."""
    quiet = [f"a{i}-{tag}" for i in range(5)]  # community 1
    chatty = [f"b{i}-{tag}" for i in range(4)]  # community 2; the last one falls silent
    lone = chatty[-1]
    site = small_site(
        tag, [(s, "power", "1", 1) for s in quiet] + [(s, "power", "2", 1) for s in chatty]
    )
    registry = Registry(site)
    overrides = tmp_path / "rules.yaml"
    overrides.write_text(
        "rules:\n"
        "  sensor.offline: {grace: 1s}\n"  # shipped: 10 min after the hub starts
        "  community.silent: {settle: 2s}\n",  # shipped: 5 min for a lone sensor
        encoding="utf-8",
    )
    rules = load_rules(overrides, registry=registry)
    prefix = services.topic_prefix

    async def report(client: aiomqtt.Client, sensors: list[str], seconds: float) -> None:
        """Every sensor reports each second, for `seconds`, ticking the hub clock meanwhile."""
        until = time.monotonic() + seconds
        k = 0
        while time.monotonic() < until:
            for s in sensors:
                e = reading("power", s, prefix, time.time(), voltage=220.0 + k % 3)
                await client.publish(e.topic, e.payload, qos=1)
            k += 1
            for _ in range(4):
                await hub.alarms.tick()
                await asyncio.sleep(0.25)

    async with (
        running_hub(services.gateway(), registry, rules) as hub,
        aiomqtt.Client(services.mosquitto.host, services.mosquitto.port) as client,
    ):
        await report(client, quiet + chatty, 2.0)
        assert tickets(services.db_url, registry) == []
        await report(client, chatty[:-1], 6.0)  # community 1 and `lone` fall silent
        during = tickets(services.db_url, registry)
        await report(client, quiet + chatty, 2.0)  # everyone is back
    after = {(t.sensor, t.rule): t for t in tickets(services.db_url, registry)}

    opened = sorted((t.sensor, t.rule, t.severity) for t in during)
    print("silence:", opened)
    assert opened == [
        (lone, "sensor.offline", "warning"),
        (f"c1-{tag}", "community.silent", "critical"),
    ]
    incident = after[f"c1-{tag}", "community.silent"]
    assert (incident.assignee, incident.grid) == (f"s1-{tag}", f"g1-{tag}")  # the supervisor
    assert incident.recovered
    assert after[lone, "sensor.offline"].recovered
    assert len(after) == 2
