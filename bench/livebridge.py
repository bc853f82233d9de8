"""bench.live's baseline: the simple batched bridge of bench.drain (MQTT 3.1.1, decode, line
protocol, one write per up to 5,000 readings from a writer thread, no validation or rules,
acknowledges on receipt) in a child process, each reading timed when its write returned."""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time
from array import array
from multiprocessing.connection import Connection
from typing import Any

import httpx
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import count
from bench.latency import percentiles
from bench.ratepublish import publish_live
from tests.harness import InfluxDB, Mosquitto


def _bridge_main(
    conn: Connection, host: str, port: int, influx_url: str, prefix: str, db: str
) -> None:
    """bench.drain's simple batched bridge, timing each reading when its write returned."""
    http = httpx.Client(base_url=influx_url, timeout=30)
    http.post("/query", params={"q": f'CREATE DATABASE "{db}"'})
    decoder = msgspec.json.Decoder()
    pending: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    latency = array("d")
    subscribed = threading.Event()

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        doc: dict[str, Any] = decoder.decode(msg.payload)
        sensor = msg.topic.split("/")[3]
        ts = int(doc["ts"] * 1e6) * 1000
        values = ",".join(f"{k}={v}" for k, v in doc["values"].items())
        with lock:
            pending.append((f"pond,sensor={sensor} {values} {ts}", ts))

    def writer() -> None:
        while not stop.is_set():
            with lock:
                batch = pending[:5000]
                del pending[:5000]
            if not batch:
                time.sleep(0.05)
                continue
            http.post(
                "/write",
                params={"db": db, "precision": "ns"},
                content="\n".join(line for line, _ in batch),
            )
            now = time.time_ns()
            latency.extend((now - ts) / 1e6 for _, ts in batch)

    c = paho.Client(CallbackAPIVersion.VERSION2, client_id="live-bridge", clean_session=True)
    c.on_message = on_message
    c.on_connect = lambda c, *a: c.subscribe(f"{prefix}/+/+/telemetry", qos=1)
    c.on_subscribe = lambda *a: subscribed.set()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    c.connect(host, port)
    c.loop_start()
    subscribed.wait(30)
    conn.send("ready")
    expected: int = conn.recv()
    deadline = time.monotonic() + 120
    while len(latency) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join()
    c.disconnect()
    c.loop_stop()
    conn.send(latency.tobytes())


def run_bridge_phase(
    broker: Mosquitto, influx: InfluxDB, args: argparse.Namespace
) -> tuple[dict[str, float], int, int, float]:
    prefix, db = "bridge/sensors", "live_bridge"
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(
        target=_bridge_main,
        args=(there, broker.host, broker.port, influx.url, prefix, db),
        daemon=True,
    )
    proc.start()
    if not here.poll(60):
        raise RuntimeError("the bridge did not subscribe within 60 s")
    here.recv()
    go = threading.Event()
    sent, took = publish_live(
        broker, prefix, args.rate, args.seconds, args.sensors, args.publishers, go
    )
    here.send(sent)
    raw = here.recv()
    proc.join(30)
    lat = array("d")
    lat.frombytes(raw)
    return percentiles(lat), sent, count(influx, db), took
