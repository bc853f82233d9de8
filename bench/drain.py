"""Backlog drain: readings/s from a QoS 1 backlog queued in the broker until InfluxDB holds all
of it, for the full gateway and two baselines, on the same N, in one run.

    .venv/bin/python -m bench.drain [-n 200000] [--workers 2] [--sensors 1000]

Consumers (each drains its own backlog of N readings, 4 metrics each):
- gateway: `gridwatch gateway --workers W` as a real process — validation, registry, unit
  conversion, at-least-once commit (acks after the InfluxDB write and the rules), rule
  evaluation and tickets (SQLite) — on an MQTT v5 `$share` subscription when W > 1;
- bridge: a simple batched paho bridge (MQTT 3.1.1, no validation, no rules, acknowledges on
  receipt, one write per 5,000 readings) — the "simple batched Python bridge" peer;
- naive: one blocking HTTP write per message (`--naive-n` readings, default 5,000: it is slow).

For each: open the durable session(s), stop the consumer, publish the backlog from two child
processes, start the consumer, time until InfluxDB holds every reading.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from bench.common import (
    BROKER_EXTRA,
    children_cpu_seconds,
    cpu_seconds,
    machine,
    publish_backlog,
    rate,
    wait_stored,
    write_site,
)
from domain import topics
from gateway.cluster import worker_client_id, worker_subscriptions
from gridwatch.processes import InfluxDB, Mosquitto


@dataclass
class Drained:
    """One consumer's drain: wall seconds and CPU seconds per process while it ran."""

    seconds: float
    cpu: dict[str, float]

    def per_reading(self, n: int) -> str:
        total = sum(self.cpu.values())
        parts = ", ".join(f"{k} {v / n * 1e6:.0f}" for k, v in self.cpu.items())
        return f"CPU per reading: {total / n * 1e6:.0f} µs ({parts})"


class ServerCpu:
    """CPU used by the broker and InfluxDB between `start()` and `stop()`."""

    def __init__(self, broker: Mosquitto, influx: InfluxDB) -> None:
        assert broker.proc is not None
        assert influx.proc is not None
        self.pids = {"mosquitto": broker.proc.pid, "influxd": influx.proc.pid}
        self.began = {k: cpu_seconds(p) for k, p in self.pids.items()}

    def used(self) -> dict[str, float]:
        return {k: cpu_seconds(p) - self.began[k] for k, p in self.pids.items()}


TARGET = 30_000
"""Issue 6's drain target, readings/s."""


def open_session(broker: Mosquitto, client_id: str, filters: list[str], v5: bool) -> None:
    """Create a durable session holding `filters`, then leave: the backlog queues for it."""
    done = threading.Event()
    if v5:
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        c.on_connect = lambda c, *a: c.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        c.on_subscribe = lambda *a: done.set()
        c.connect(broker.host, broker.port, clean_start=False, properties=props)
    else:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        c.on_connect = lambda c, *a: c.subscribe([(f, 1) for f in filters])
        c.on_subscribe = lambda *a: done.set()
        c.connect(broker.host, broker.port)
    c.loop_start()
    if not done.wait(10):
        raise RuntimeError(f"no SUBACK for {client_id}")
    c.disconnect()
    c.loop_stop()


def run_gateway(
    broker: Mosquitto, influx: InfluxDB, work: Path, n: int, sensors: int, workers: int,
    profile: bool,
) -> Drained:  # fmt: skip
    prefix, db, client_id = "gw/sensors", "bench_gateway", "bench-gateway"
    site_file = write_site(work / "site.yaml", sensors)
    for i in range(workers):
        cid = worker_client_id(client_id, i) if workers > 1 else client_id
        filters = (
            worker_subscriptions(prefix, "gridwatch")
            if workers > 1
            else topics.subscriptions(prefix)
        )
        open_session(broker, cid, filters, v5=True)
    took = publish_backlog(broker, prefix, n, sensors)
    print(f"  publish: {rate(n, took)} (QoS 1, 2 publishers)")
    env = {
        **os.environ,
        "GRIDWATCH_SITE": str(site_file),
        "GRIDWATCH_MQTT_URL": broker.url,
        "GRIDWATCH_INFLUX_URL": influx.url,
        "GRIDWATCH_INFLUX_DB": db,
        "GRIDWATCH_TOPIC_PREFIX": prefix,
        "GRIDWATCH_MQTT_CLIENT_ID": client_id,
        "GRIDWATCH_DB_URL": f"sqlite:///{work}/tickets.db",
    }
    argv = [sys.executable, "-m", "gridwatch.cli", "gateway", "--workers", str(workers),
            "--log-level", "warning"]  # fmt: skip
    servers = ServerCpu(broker, influx)
    before = children_cpu_seconds()
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env)
    spy = None
    if profile:
        out = work.parent / f"drain-profile-{workers}w.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--subprocesses",
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                str(out),
                "--pid",
                str(proc.pid),
            ],
        )
    try:
        done = asyncio.run(wait_stored(influx, db, n, limit_s=600))
        cpu = servers.used()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        gateway_cpu = children_cpu_seconds() - before  # the gateway and its workers, reaped
        if spy is not None:
            spy.wait(60)
    return Drained(done - started, {"gateway": gateway_cpu, **cpu})


def run_bridge(broker: Mosquitto, influx: InfluxDB, n: int, sensors: int, batched: bool) -> Drained:
    """A baseline bridge: decode JSON, build line protocol, write, no validation or rules;
    auto-acknowledges on receipt (MQTT 3.1.1). `batched`: 5,000 readings per write from a
    writer thread; else one blocking write per message."""
    name = "bridge" if batched else "naive"
    prefix, db = f"{name}/sensors", f"bench_{name}"
    httpx.post(f"{influx.url}/query", params={"q": f'CREATE DATABASE "{db}"'})
    http = httpx.Client(base_url=influx.url)
    decoder = msgspec.json.Decoder()
    lines: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def line(msg: paho.MQTTMessage) -> str:
        doc: dict[str, Any] = decoder.decode(msg.payload)
        sensor = msg.topic.split("/")[3]
        values = ",".join(f"{k}={v}" for k, v in doc["values"].items())
        return f"pond,sensor={sensor} {values} {int(doc['ts']) * 10**9}"

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if batched:
            with lock:
                lines.append(line(msg))
        else:
            http.post("/write", params={"db": db, "precision": "ns"}, content=line(msg))

    def writer() -> None:
        while not stop.is_set():
            with lock:
                batch = lines[:5000]
                del lines[:5000]
            if batch:
                http.post("/write", params={"db": db, "precision": "ns"}, content="\n".join(batch))
            else:
                time.sleep(0.05)

    cid = f"bench-{name}"
    open_session(broker, cid, [f"{prefix}/+/+/telemetry"], v5=False)
    publish_backlog(broker, prefix, n, sensors)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
    c.on_message = on_message
    servers = ServerCpu(broker, influx)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    thread = threading.Thread(target=writer, daemon=True)
    if batched:
        thread.start()
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        done = asyncio.run(wait_stored(influx, db, n, limit_s=600))
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {name: after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}
        cpu.update(servers.used())
    finally:
        stop.set()
        c.disconnect()
        c.loop_stop()
        if batched:
            thread.join()
        http.close()
    return Drained(done - started, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="backlog readings (200000)")
    parser.add_argument("--naive-n", type=int, default=5_000, help="backlog for naive (5000)")
    parser.add_argument("--sensors", type=int, default=1_000, help="distinct sensors (1000)")
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes (2)")
    parser.add_argument("--only-gateway", action="store_true", help="skip the baselines")
    parser.add_argument("--profile", action="store_true", help="py-spy the gateway (svg)")
    args = parser.parse_args()
    print(f"machine: {machine()}; N = {args.n:,} readings × 4 metrics, QoS 1")
    with tempfile.TemporaryDirectory(prefix="gridwatch-bench-") as tmp:
        work = Path(tmp)
        with (
            Mosquitto(workdir=work / "mosquitto", config_extra=BROKER_EXTRA) as broker,
            InfluxDB(workdir=work / "influxdb") as influx,
        ):
            print(f"gateway ({args.workers} workers):")
            gw = run_gateway(broker, influx, work, args.n, args.sensors, args.workers, args.profile)
            print(f"  gateway: {rate(args.n, gw.seconds)}; {gw.per_reading(args.n)}")
            if not args.only_gateway:
                bridge = run_bridge(broker, influx, args.n, args.sensors, batched=True)
                print(f"  bridge:  {rate(args.n, bridge.seconds)}; {bridge.per_reading(args.n)}")
                naive = run_bridge(broker, influx, args.naive_n, args.sensors, batched=False)
                print(f"  naive:   {rate(args.naive_n, naive.seconds)}")
                g, b = args.n / gw.seconds, args.n / bridge.seconds
                v = args.naive_n / naive.seconds
                print(
                    f"ratio: gateway is {g / b:.2f}x the batched bridge, {g / v:.1f}x the naive one"
                )
            need = sum(gw.cpu.values()) / args.n * TARGET
            print(
                f"CPU budget: {TARGET:,} readings/s through the full gateway needs ~{need:.1f} "
                f"cores of this machine ({os.cpu_count()} here), broker and InfluxDB included"
            )


if __name__ == "__main__":
    main()
