"""Ingest benchmark: readings/s from MQTT publish until stored in InfluxDB, for the full
gateway and for a naive bridge (one HTTP write per message) on the same N, in one run.

    .venv/bin/python bench/ingest.py [-n 10000] [--sensors 100]

Starts its own Mosquitto and InfluxDB on free ports (gridwatch.processes) in a temporary folder.
For each consumer: open its durable session, go away, let a separate process publish N
readings (4 metrics each, QoS 1) as fast as the broker takes them, then start the consumer and
time it from start until InfluxDB holds all N points. Draining a backlog measures the consumer,
not the publisher (one Python publisher is slower than the gateway on a small machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from domain.site import Registry, parse_site
from gateway.ingest import IngestPolicy, ingest
from gateway.lineprotocol import body, encode_lines
from gateway.service import Gateway, build_gateway
from gateway.settings import GatewaySettings
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
from gridwatch.processes import InfluxDB, Mosquitto

METRICS = {"do": 5.8, "ph": 7.2, "nh3n": 0.9, "temp": 21.5}


def site(sensors: int) -> Registry:
    return Registry(
        parse_site(
            {
                "communities": [
                    {
                        "id": "bench",
                        "name": "Bench",
                        "supervisor": {"id": "sup-1", "name": "S"},
                        "grids": [
                            {"id": "grid-1", "name": "G", "worker": {"id": "w-1", "name": "W"}}
                        ],
                    }
                ],
                "sensors": [
                    {"id": f"pond-{i:04d}", "kind": "pond", "grid": "grid-1"}
                    for i in range(sensors)
                ],
            }
        )
    )


def publish(host: str, port: int, prefix: str, n: int, sensors: int) -> None:
    """Publish n readings with QoS 1 (run in a child process so it does not share our GIL)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{prefix}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    t0 = int(time.time()) - 86_400
    last = None
    for i in range(n):
        sensor = f"pond-{i % sensors:04d}"
        values = {k: v + (i % 7) * 0.01 for k, v in METRICS.items()}
        payload = json.dumps({"ts": t0 + i // sensors, "seq": i, "values": values})
        last = client.publish(f"{prefix}/pond/{sensor}/telemetry", payload, qos=1)
    if last is not None:
        last.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def publish_backlog(broker: Mosquitto, prefix: str, n: int, sensors: int) -> float:
    """Publish n readings from a child process (so it does not share our GIL); seconds taken."""
    started = time.monotonic()
    proc = multiprocessing.get_context("spawn").Process(
        target=publish, args=(broker.host, broker.port, prefix, n, sensors), daemon=True
    )
    proc.start()
    proc.join(300)
    assert proc.exitcode == 0, "publisher failed"
    return time.monotonic() - started


def stored(influx: InfluxDB, db: str) -> int:
    r = httpx.get(f"{influx.url}/query", params={"db": db, "q": "SELECT count(do) FROM pond"})
    series = r.json()["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


async def wait_stored(influx: InfluxDB, db: str, n: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=influx.url) as http:
        while time.monotonic() < deadline:
            r = await http.get("/query", params={"db": db, "q": "SELECT count(do) FROM pond"})
            series = r.json()["results"][0].get("series")
            if series and int(series[0]["values"][0][1]) >= n:
                return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"only {stored(influx, db)} of {n} readings stored in {limit_s} s")


async def run_gateway(
    broker: Mosquitto, influx: InfluxDB, registry: Registry, n: int, sensors: int
) -> float:
    """Seconds for the gateway to store a backlog of n readings queued in its durable session."""
    settings = GatewaySettings(
        mqtt_url=broker.url,
        influx_url=influx.url,
        influx_db="bench_gateway",
        topic_prefix="gw/sensors",
        mqtt_client_id="bench-gateway",
    )

    def gateway() -> Gateway:
        return build_gateway(
            settings,
            registry,
            measurements=MemoryMeasurementSink(),
            rejections=MemoryRejectionSink(),
        )

    first = gateway()  # opens the durable session, then goes away
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.source.subscribed.wait(), 10)
    first.stop()
    await task
    took = publish_backlog(broker, "gw/sensors", n, sensors)
    print(f"publish: {n} readings in {took:.2f} s = {n / took:,.0f} readings/s (QoS 1, 1 client)")
    second = gateway()
    started = time.monotonic()
    task = asyncio.create_task(second.run())
    await wait_stored(influx, "bench_gateway", n, limit_s=120)
    elapsed = time.monotonic() - started
    second.stop()
    await task
    return elapsed


def run_naive(
    broker: Mosquitto, influx: InfluxDB, registry: Registry, n: int, sensors: int
) -> float:
    """The baseline: decode each message and write it with its own blocking HTTP request,
    draining the same backlog from a durable (MQTT 3.1.1) session."""
    httpx.post(f"{influx.url}/query", params={"q": 'CREATE DATABASE "bench_naive"'})
    http = httpx.Client(base_url=influx.url)
    policy = IngestPolicy(prefix="naive/sensors")
    subscribed = threading.Event()

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        outcome = ingest(msg.topic, msg.payload, registry, time.time_ns(), policy)
        lines = encode_lines(outcome.measurements)
        if lines:
            http.post(
                "/write", params={"db": "bench_naive", "precision": "ns"}, content=body(lines)
            )

    def client() -> paho.Client:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive", clean_session=False)
        c.on_message = on_message
        c.on_subscribe = lambda *a: subscribed.set()
        c.on_connect = lambda c, *a: c.subscribe("naive/sensors/+/+/telemetry", qos=1)
        c.connect(broker.host, broker.port)
        c.loop_start()
        return c

    first = client()
    subscribed.wait(10)
    first.disconnect()
    first.loop_stop()
    publish_backlog(broker, "naive/sensors", n, sensors)
    started = time.monotonic()
    second = client()
    asyncio.run(wait_stored(influx, "bench_naive", n, limit_s=300))
    elapsed = time.monotonic() - started
    second.disconnect()
    second.loop_stop()
    http.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="readings to publish (default 20000)")
    parser.add_argument("--sensors", type=int, default=100, help="distinct sensors (default 100)")
    parser.add_argument("--skip-naive", action="store_true", help="only measure the gateway")
    args = parser.parse_args()
    registry = site(args.sensors)
    with tempfile.TemporaryDirectory(prefix="gridwatch-bench-") as tmp:
        work = Path(tmp)
        with (
            Mosquitto(workdir=work / "mosquitto") as broker,
            InfluxDB(workdir=work / "influxdb") as influx,
        ):
            gw = asyncio.run(run_gateway(broker, influx, registry, args.n, args.sensors))
            print(f"gateway: {args.n} readings in {gw:.2f} s = {args.n / gw:,.0f} readings/s")
            if args.skip_naive:
                return
            naive = run_naive(broker, influx, registry, args.n, args.sensors)
            print(f"naive:   {args.n} readings in {naive:.2f} s = {args.n / naive:,.0f} readings/s")
            print(f"ratio:   gateway is {naive / gw:.1f}x the naive bridge")


if __name__ == "__main__":
    main()
