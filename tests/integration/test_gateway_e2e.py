"""The gateway end to end over a real Mosquitto into a real InfluxDB: every payload form and
every rejection class of contract §2, what InfluxDB then holds, a broker restart, and the
flush on a graceful stop."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import httpx
import pytest

from domain.measurement import RejectReason
from domain.settings import Settings
from domain.site import Registry, parse_site
from gateway.front import Sinks
from gateway.service import build_gateway
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink, MemoryStatusSink
from gridwatch.settings import load_settings
from tests.harness import InfluxDB, Mosquitto

SITE = {
    "communities": [
        {
            "id": "comm-a",
            "name": "A",
            "supervisor": {"id": "sup-a", "name": "S"},
            "grids": [{"id": "grid-a1", "name": "A1", "worker": {"id": "wrk-a", "name": "W"}}],
        },
        {
            "id": "comm-b",
            "name": "B",
            "supervisor": {"id": "sup-b", "name": "S"},
            "grids": [{"id": "grid-b1", "name": "B1", "worker": {"id": "wrk-b", "name": "W"}}],
        },
    ],
    "sensors": [
        {"id": "pond-01", "kind": "pond", "grid": "grid-a1"},
        {"id": "water-01", "kind": "water", "grid": "grid-a1"},
        {"id": "power-01", "kind": "power", "grid": "grid-b1"},
    ],
}


class Running:
    """A gateway running in the background, with the in-memory sinks it was given."""

    def __init__(self, settings: Settings) -> None:
        self.measurements = MemoryMeasurementSink()
        self.rejections = MemoryRejectionSink()
        self.statuses = MemoryStatusSink()
        self.gateway = build_gateway(
            settings,
            Registry(parse_site(SITE)),
            Sinks(self.measurements, self.rejections, self.statuses),
        )

    def sample(self, name: str, **labels: str) -> float:
        return self.gateway.metrics.registry.get_sample_value(name, labels) or 0.0

    def rejected(self, reason: RejectReason) -> float:
        return self.sample("gridwatch_gateway_rejections_total", reason=reason.value)

    def received(self) -> float:
        return self.sample("gridwatch_gateway_messages_total", channel="telemetry")

    async def until_committed(self, n: int) -> None:
        async with asyncio.timeout(20):
            while self.gateway.committed < n:  # noqa: ASYNC110 - polling the gateway's counter
                await asyncio.sleep(0.05)


@asynccontextmanager
async def gateway_running(
    broker: Mosquitto, influx: InfluxDB, prefix: str, db: str, **settings: Any
) -> AsyncIterator[Running]:
    """Run a gateway until the block ends, then stop it gracefully and wait for it."""
    defaults: dict[str, Any] = {
        "batch_interval_s": 0.1,
        "mqtt_client_id": f"gw-{uuid.uuid4().hex[:8]}",
    }
    conf = load_settings(
        mqtt_url=broker.url,
        influx_url=influx.url,
        influx_db=db,
        topic_prefix=prefix,
        **{**defaults, **settings},
    )
    running = Running(conf)
    task = asyncio.create_task(running.gateway.run(), name="gateway")
    try:
        async with asyncio.timeout(15):
            await running.gateway.source.subscribed.wait()
        yield running
    finally:
        running.gateway.stop()
        async with asyncio.timeout(20):
            await task


async def publish(
    broker: Mosquitto, messages: Sequence[tuple[str, bytes]], retain: bool = False
) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)


async def influxql(influx: InfluxDB, db: str, q: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=influx.url) as http:
        r = await http.get("/query", params={"db": db, "q": q, "epoch": "ns"})
    r.raise_for_status()
    result = r.json()["results"][0]
    assert "error" not in result, result
    series: list[dict[str, Any]] = result.get("series", [])
    return series


async def counts(influx: InfluxDB, db: str, kind: str) -> dict[str, dict[str, int]]:
    """sensor -> field -> number of points, from InfluxDB itself."""
    out: dict[str, dict[str, int]] = {}
    q = f'SELECT count(*) FROM "{kind}" GROUP BY "sensor"'  # noqa: S608 - our own kind names
    for s in await influxql(influx, db, q):
        row = dict(zip(s["columns"], s["values"][0], strict=True))
        out[s["tags"]["sensor"]] = {
            k.removeprefix("count_"): v for k, v in row.items() if k != "time" and v
        }
    return out


async def rows(influx: InfluxDB, db: str, q: str) -> list[dict[str, Any]]:
    return [
        dict(zip(s["columns"], v, strict=True))
        for s in await influxql(influx, db, q)
        for v in s["values"]
    ]


def j(obj: object) -> bytes:
    return json.dumps(obj).encode()


async def test_every_payload_form_and_rejection_class(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str
) -> None:
    t = int(time.time()) - 600
    rfc3339 = datetime.fromtimestamp(t + 2, UTC).isoformat().replace("+00:00", "Z")

    def tel(kind: str, sensor: str) -> str:
        return f"{topic_prefix}/{kind}/{sensor}/telemetry"

    pond, water, power = tel("pond", "pond-01"), tel("water", "water-01"), tel("power", "power-01")
    messages = [
        # the three payload forms and the three timestamp forms
        (pond, j({"ts": t, "seq": 812, "battery_v": 3.61,
                  "values": {"do": 5.8, "ph": 7.2, "nh3n": 0.9}})),
        (water, j({"ts": (t + 1) * 1000, "values": {"pressure": 0.31, "chlorine": 0.5}})),
        (power, j({"ts": rfc3339, "rssi_dbm": -71, "values": {"voltage": 229.5}})),
        (water, j({"values": {"pressure": 0.32}})),  # no ts: hub-timed
        (pond, j({"readings": [
            {"ts": t + 10, "values": {"do": 5.9}},
            {"ts": t + 20, "values": {"do": 6.0, "ph": 99}},  # implausible ph, do kept
            {"ts": t + 30, "values": {"do": 6.1}},
        ]})),
        (pond, j([
            {"bn": "urn:dev:pond-01:", "bt": t + 40, "n": "temp", "u": "K", "v": 295.15},
            {"n": "do", "u": "mg/L", "v": 6.2},
            {"n": "orp", "u": "V", "v": 0.25},
        ])),
        # one message per rejection class
        (pond, b"not json{"),
        (pond, j({"values": {"do": 1.0}, "pad": "x" * 70_000})),
        (tel("pond", "pond-99"), j({"ts": t, "values": {"do": 5.0}})),
        (tel("water", "pond-01"), j({"ts": t, "values": {"pressure": 0.3}})),
        (pond, j({"ts": t + 50, "values": {"do": 5.0, "voltage": 230}})),
        (pond, f'{{"ts": {t + 60}, "values": {{"do": NaN, "ph": 7.0}}}}'.encode()),
        (pond, j([{"bn": "urn:dev:pond-01:", "bt": t + 70, "n": "do", "u": "furlong", "v": 5},
                  {"n": "ph", "v": 7.1}])),
        (pond, j({"ts": t + 600 + 3600, "values": {"do": 5.0}})),
        (pond, j({"ts": 1000, "values": {"do": 5.0}})),
    ]  # fmt: skip
    statuses = [
        (f"{topic_prefix}/pond/pond-01/status", b"online"),
        (f"{topic_prefix}/water/water-01/status", b"sleeping"),
    ]
    async with gateway_running(mosquitto, influxdb, topic_prefix, influx_db) as run:
        await publish(mosquitto, messages)
        await publish(mosquitto, statuses, retain=True)
        await run.until_committed(len(messages) + len(statuses))

    expected_rejections = {
        RejectReason.MALFORMED: 2,  # "not json{" and the status "sleeping"
        RejectReason.TOO_LARGE: 1,
        RejectReason.UNKNOWN_SENSOR: 1,
        RejectReason.KIND_MISMATCH: 1,
        RejectReason.UNKNOWN_METRIC: 1,
        RejectReason.NOT_FINITE: 1,
        RejectReason.IMPLAUSIBLE: 1,
        RejectReason.BAD_UNIT: 1,
        RejectReason.FUTURE_TS: 1,
        RejectReason.TOO_OLD: 1,
    }
    assert run.rejections.counts == expected_rejections
    # every reason has its counter; retired_sensor needs a registry change (test_registry_live)
    assert {r: run.rejected(r) for r in RejectReason} == {
        r: expected_rejections.get(r, 0) for r in RejectReason
    }
    assert {r.metric for r in run.rejections.rejections if r.metric} >= {"voltage", "do", "ph"}
    assert run.statuses.latest == {"pond-01": True}

    assert await counts(influxdb, influx_db, "pond") == {
        "pond-01": {"do": 6, "ph": 3, "nh3n": 1, "battery_v": 1, "seq": 1, "temp": 1, "orp": 1}
    }
    assert await counts(influxdb, influx_db, "water") == {
        "water-01": {"pressure": 2, "chlorine": 1, "hub_timed": 1}
    }
    assert await counts(influxdb, influx_db, "power") == {"power-01": {"voltage": 1, "rssi_dbm": 1}}
    tags = await rows(influxdb, influx_db, 'SELECT "do", community, grid, sensor FROM pond LIMIT 1')
    assert (tags[0]["community"], tags[0]["grid"], tags[0]["sensor"]) == (
        "comm-a",
        "grid-a1",
        "pond-01",
    )
    (power_row,) = await rows(influxdb, influx_db, "SELECT * FROM power")
    assert (power_row["community"], power_row["grid"], power_row["time"]) == (
        "comm-b",
        "grid-b1",
        (t + 2) * 10**9,
    )
    (first,) = await rows(influxdb, influx_db, f"SELECT * FROM pond WHERE time = {t}s")  # noqa: S608 - an int
    assert (first["seq"], first["battery_v"], first["ph"]) == (812, 3.61, 7.2)
    (senml,) = await rows(influxdb, influx_db, f"SELECT * FROM pond WHERE time = {t + 40}s")  # noqa: S608
    assert (senml["temp"], senml["orp"]) == (pytest.approx(22.0), pytest.approx(250.0))
    (by_ms,) = await rows(influxdb, influx_db, f"SELECT * FROM water WHERE time = {t + 1}s")  # noqa: S608
    assert (by_ms["pressure"], by_ms["chlorine"], by_ms["hub_timed"]) == (0.31, 0.5, None)
    (hub,) = await rows(influxdb, influx_db, "SELECT * FROM water WHERE hub_timed = true")
    assert abs(hub["time"] - time.time_ns()) < 60 * 10**9
    assert hub["pressure"] == 0.32
    field_types = {
        v[0]: v[1]
        for s in await influxql(influxdb, influx_db, "SHOW FIELD KEYS")
        for v in s["values"]
    }
    assert (field_types["seq"], field_types["hub_timed"]) == ("integer", "boolean")
    assert field_types["do"] == "float"


def readings(prefix: str, start: int, n: int) -> list[tuple[str, bytes]]:
    t0 = int(time.time()) - 3600
    return [
        (f"{prefix}/pond/pond-01/telemetry", j({"ts": t0 + i, "values": {"do": 5.0, "ph": 7.0}}))
        for i in range(start, start + n)
    ]


async def test_broker_restart_is_survived_with_resubscription(
    make_mosquitto: Callable[..., Mosquitto], influxdb: InfluxDB, topic_prefix: str, influx_db: str
) -> None:
    broker = make_mosquitto()
    async with gateway_running(broker, influxdb, topic_prefix, influx_db) as run:
        await publish(broker, readings(topic_prefix, 0, 50))
        await run.until_committed(50)
        broker.stop()
        await asyncio.sleep(0.5)
        broker.start()
        async with asyncio.timeout(30):
            await run.gateway.source.subscribed.wait()
        await publish(broker, readings(topic_prefix, 50, 50))
        await run.until_committed(100)
    assert await counts(influxdb, influx_db, "pond") == {"pond-01": {"do": 100, "ph": 100}}
    assert run.sample("gridwatch_gateway_mqtt_connects_total") == 2


async def test_stop_flushes_what_is_buffered_and_acks_it(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str
) -> None:
    client_id = f"gw-{uuid.uuid4().hex[:8]}"
    slow = {"batch_interval_s": 60.0, "batch_size": 100_000, "mqtt_client_id": client_id}
    async with gateway_running(mosquitto, influxdb, topic_prefix, influx_db, **slow) as run:
        await publish(mosquitto, readings(topic_prefix, 0, 200))
        async with asyncio.timeout(10):  # taken into the batch, or waiting in the inbox
            while run.received() + run.gateway.source.pending < 200:  # noqa: ASYNC110 - counters
                await asyncio.sleep(0.05)
        assert await counts(influxdb, influx_db, "pond") == {}, "nothing written before the stop"
    assert run.gateway.committed == 200
    assert await counts(influxdb, influx_db, "pond") == {"pond-01": {"do": 200, "ph": 200}}
    # The same durable session again: nothing comes back, so every message was acknowledged.
    async with gateway_running(mosquitto, influxdb, topic_prefix, influx_db, **slow) as again:
        await asyncio.sleep(1.0)
        assert again.gateway.source.pending == 0
        assert again.received() == 0
