"""Scenarios published through a real Mosquitto: what a subscriber receives (count, topics,
payload forms), and — through a real gateway — what lands in InfluxDB, per sensor."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Any

import aiomqtt
import httpx

from domain.site import Registry, Site
from gateway.front import Sinks
from gateway.service import build_gateway
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink, MemoryStatusSink
from gridwatch.settings import load_settings
from simulators import demo
from simulators.clock import SimClock
from simulators.device import Emission
from simulators.publisher import BrokerAddress, publish
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.harness import InfluxDB, Mosquitto

SENSORS = [
    "pond-cy-01",
    "water-cy-net-01",
    "water-cy-tank-01",
    "power-cy-tx-01",
    "power-cy-room-01",
    "sewer-cy-mh-03",
    "sewer-cy-pw-01",
]
HOURS = 6


def storm(prefix: str) -> tuple[Simulation, Site, float]:
    sc, site = load_scenario(demo.scenario_path("storm-night"))
    start = sc.start.timestamp()
    sim = Simulation(site, start=start, seed=sc.seed, scenario=sc, sensors=SENSORS, prefix=prefix)
    return sim, site, start + HOURS * 3600


def form(payload: bytes) -> str:
    doc = json.loads(payload)
    if isinstance(doc, list):
        return "senml"
    return "batch" if "readings" in doc else "reading"


async def test_a_subscriber_receives_every_message_of_a_scenario(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    sim, _, until = storm(topic_prefix)
    expected: list[Emission] = list(storm(topic_prefix)[0].emissions(until))
    got: list[aiomqtt.Message] = []
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe(f"{topic_prefix}/#", qos=1)

        async def collect() -> None:
            async for m in sub.messages:
                got.append(m)
                if len(got) == len(expected):
                    return

        reader = asyncio.create_task(collect())
        progress = await publish(
            sim.emissions(until),
            BrokerAddress.parse(mosquitto.url),
            clock=SimClock(sim.start, speed=None),
        )
        async with asyncio.timeout(20):
            await reader
    assert progress.messages == len(expected)
    assert progress.readings == sum(e.readings for e in expected)
    assert Counter(str(m.topic) for m in got) == Counter(e.topic for e in expected)
    telemetry = [m for m in got if str(m.topic).endswith("/telemetry")]
    forms = {str(m.topic).split("/")[-2]: form(bytes(m.payload)) for m in telemetry}
    assert forms == {
        "pond-cy-01": "reading",
        "water-cy-net-01": "batch",
        "water-cy-tank-01": "batch",
        "power-cy-tx-01": "reading",
        "power-cy-room-01": "senml",
        "sewer-cy-mh-03": "reading",
        "sewer-cy-pw-01": "reading",
    }
    statuses = {m.payload for m in got if str(m.topic).endswith("/status")}
    assert statuses == {b"online"}
    assert all(m.qos == 1 for m in got)


async def influx_counts(influx: InfluxDB, db: str) -> dict[str, int]:
    """sensor -> number of points stored, over all four measurements."""
    out: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=influx.url) as http:
        for kind in ("pond", "water", "power", "sewer"):
            q = f'SELECT count("seq") FROM "{kind}" GROUP BY "sensor"'  # noqa: S608 - fixed names
            r = await http.get("/query", params={"db": db, "q": q})
            r.raise_for_status()
            for s in r.json()["results"][0].get("series", []):
                out[s["tags"]["sensor"]] = s["values"][0][1]
    return out


async def test_a_scenario_through_broker_and_gateway_lands_in_influxdb(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str
) -> None:
    sim, site, until = storm(topic_prefix)
    # what each sensor sent: one point per reading instant (SenML carries no seq: count those
    # through a field every reading of the sensor has)
    per_sensor: Counter[str] = Counter()
    for e in storm(topic_prefix)[0].emissions(until):
        per_sensor[e.sensor] += e.readings
    settings = load_settings(
        mqtt_url=mosquitto.url,
        influx_url=influxdb.url,
        influx_db=influx_db,
        topic_prefix=topic_prefix,
        batch_interval_s=0.1,
        mqtt_client_id=f"gw-{uuid.uuid4().hex[:8]}",
    )
    rejections = MemoryRejectionSink()
    gateway = build_gateway(
        settings,
        Registry(site),
        Sinks(MemoryMeasurementSink(), rejections, MemoryStatusSink()),
    )
    task = asyncio.create_task(gateway.run(), name="gateway")
    try:
        async with asyncio.timeout(15):
            await gateway.source.subscribed.wait()
        await publish(
            sim.emissions(until),
            BrokerAddress.parse(mosquitto.url),
            clock=SimClock(sim.start, speed=None),
        )
        stored: dict[str, int] = {}
        want = {s: n for s, n in per_sensor.items() if s != "power-cy-room-01"}
        async with asyncio.timeout(30):
            while stored != want:
                await asyncio.sleep(0.2)
                stored = await influx_counts(influxdb, influx_db)
    finally:
        gateway.stop()
        async with asyncio.timeout(20):
            await task
    assert rejections.rejections == []
    async with httpx.AsyncClient(base_url=influxdb.url) as http:
        q = 'SELECT count("voltage") FROM "power" WHERE "sensor" = \'power-cy-room-01\''
        r = await http.get("/query", params={"db": influx_db, "q": q})
    senml: Any = r.json()["results"][0]["series"][0]["values"][0][1]
    assert senml == per_sensor["power-cy-room-01"]
    assert set(per_sensor) == set(SENSORS)
