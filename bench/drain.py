"""Backlog drain: readings/s from a QoS 1 backlog queued in the broker until InfluxDB holds all
of it, for the full gateway and its baselines, on the same N, in one run.

    .venv/bin/python -m bench.drain [-n 200000] [--workers default,2] [--sensors 1000]

Consumers (each drains its own backlog of N readings, 4 metrics each), in this order:
- mosquitto_sub: the broker's own C client, `mosquitto_sub -q 1` on a durable MQTT v5 session,
  to /dev/null — nothing stored: the broker's ceiling for a QoS 1 backlog on this box;
- gateway, once per `--workers` entry: `gridwatch gateway` as a real process — validation,
  registry, unit conversion, at-least-once commit (acks after the InfluxDB write and the
  rules), rule evaluation and tickets (SQLite) — on an MQTT v5 `$share` subscription with more
  than one worker. `default` runs it without `--workers`, as a new user would (the count is
  then the gateway's own choice from the cores, `gateway.identity.gateway_workers`);
- bridge: a simple batched paho bridge (MQTT 3.1.1, no validation, no rules, acknowledges on
  receipt, one write per 5,000 readings) — the "simple batched Python bridge" peer;
- naive: one blocking HTTP write per message (`--naive-n` readings, default 5,000: it is slow).

For each: open the durable session(s), stop the consumer, publish the backlog from two child
processes, start the consumer, time until InfluxDB holds every reading (mosquitto_sub: until it
has received N). Every ratio is printed at the end, with the load average at the start and
end of each consumer's run.
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
from domain.settings import Settings
from gateway.identity import gateway_workers, worker_name
from gateway.worker import worker_subscriptions
from gridwatch.localservers import find_binary
from tests.harness import InfluxDB, Mosquitto


@dataclass
class Drained:
    """One consumer's drain: wall seconds and CPU seconds per process while it ran."""

    seconds: float
    cpu: dict[str, float]
    load: tuple[float, float] = (0.0, 0.0)
    """1-minute load average at the start and at the end of the run."""

    def loads(self) -> str:
        return f"load {self.load[0]:.2f} → {self.load[1]:.2f}"

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


def load1() -> float:
    return os.getloadavg()[0]


def default_workers() -> int:
    """What `gridwatch gateway` without `--workers` runs here (an anonymous broker)."""
    return gateway_workers(Settings())


def run_mosquitto_sub(broker: Mosquitto, influx: InfluxDB, n: int, sensors: int) -> Drained:
    """The broker's ceiling: `mosquitto_sub -q 1` on a durable v5 session reads the same kind
    of backlog (acking each message, storing nothing) until it has N."""
    prefix, cid = "sub/sensors", "bench-mosquitto-sub"
    sub = find_binary("mosquitto_sub")
    base = [sub, "-h", broker.host, "-p", str(broker.port), "-q", "1", "-c", "-i", cid,
            "-V", "mqttv5", "-x", "3600", "-t", f"{prefix}/+/+/telemetry"]  # fmt: skip
    subprocess.run([*base, "-W", "1"], check=False, capture_output=True)  # the session only
    took = publish_backlog(broker, prefix, n, sensors)
    print(f"  publish: {rate(n, took)} (QoS 1, 2 publishers)")
    servers = ServerCpu(broker, influx)
    before = children_cpu_seconds()
    load0 = load1()
    started = time.monotonic()
    subprocess.run([*base, "-C", str(n)], check=True, stdout=subprocess.DEVNULL, timeout=600)
    seconds = time.monotonic() - started
    cpu = {
        "mosquitto_sub": children_cpu_seconds() - before,
        "mosquitto": servers.used()["mosquitto"],
    }
    return Drained(seconds, cpu, (load0, load1()))


def run_gateway(
    broker: Mosquitto,
    influx: InfluxDB,
    work: Path,
    n: int,
    sensors: int,
    workers: int | None,
    profile: bool,
    run: int = 0,
) -> Drained:
    """`gridwatch gateway` (with `--workers W`, or without: its own choice) drains a backlog;
    `run` numbers the topic prefix, database and client id of each gateway run."""
    prefix, db, client_id = f"gw{run}/sensors", f"bench_gateway_{run}", f"bench-gateway-{run}"
    site_file = write_site(work / "site.yaml", sensors)
    count = default_workers() if workers is None else workers
    for i in range(count):
        cid = worker_name(client_id, i) if count > 1 else client_id
        filters = (
            worker_subscriptions(prefix, "gridwatch") if count > 1 else topics.subscriptions(prefix)
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
    argv = [sys.executable, "-m", "gridwatch.cli", "gateway", "--log-level", "warning"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    servers = ServerCpu(broker, influx)
    before = children_cpu_seconds()
    load0 = load1()
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env)
    spy = None
    if profile:
        out = work.parent / f"drain-profile-{count}w.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--subprocesses",
                "--gil",  # the thread holding the GIL: a thread waiting for it is not working
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
    return Drained(done - started, {"gateway": gateway_cpu, **cpu}, (load0, load1()))


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
    load0 = load1()
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
    return Drained(done - started, cpu, (load0, load1()))


def parse_workers(text: str) -> list[int | None]:
    """`default,2` → [None, 2]: one gateway run per entry, None without `--workers`."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        out.append(None if part == "default" else int(part))
    return out


def label(workers: int | None) -> str:
    w = default_workers() if workers is None else workers
    count = f"{w} worker{'s' if w > 1 else ''}"
    return f"gateway (default: {count})" if workers is None else f"gateway ({count})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="backlog readings (200000)")
    parser.add_argument("--naive-n", type=int, default=5_000, help="backlog for naive (5000)")
    parser.add_argument("--sensors", type=int, default=1_000, help="distinct sensors (1000)")
    parser.add_argument(
        "--workers",
        type=parse_workers,
        default=[None, 2],
        help="gateway runs, comma-separated: 'default' (no --workers) or a count (default,2)",
    )
    parser.add_argument("--only-gateway", action="store_true", help="skip the baselines")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the gateway (raw, GIL holders only)"
    )
    args = parser.parse_args()
    n = args.n
    print(
        f"machine: {machine()}; load average {load1():.2f}; N = {n:,} readings × 4 metrics, QoS 1"
    )
    with tempfile.TemporaryDirectory(prefix="gridwatch-bench-") as tmp:
        work = Path(tmp)
        with (
            Mosquitto(workdir=work / "mosquitto", config_extra=BROKER_EXTRA) as broker,
            InfluxDB(workdir=work / "influxdb") as influx,
        ):
            ceiling = None
            if not args.only_gateway:
                print("mosquitto_sub -q 1 (the broker's C client, nothing stored: the ceiling):")
                ceiling = run_mosquitto_sub(broker, influx, n, args.sensors)
                print(f"  mosquitto_sub: {rate(n, ceiling.seconds)}; {ceiling.per_reading(n)}"
                      f"; {ceiling.loads()}")  # fmt: skip
            gateways: list[tuple[str, Drained]] = []
            for k, workers in enumerate(args.workers):
                name = label(workers)
                print(f"{name}:")
                gw = run_gateway(
                    broker, influx, work, n, args.sensors, workers, args.profile, run=k
                )
                print(f"  gateway: {rate(n, gw.seconds)}; {gw.per_reading(n)}; {gw.loads()}")
                gateways.append((name, gw))
            if not args.only_gateway:
                assert ceiling is not None
                print("bridge (simple batched):")
                bridge = run_bridge(broker, influx, n, args.sensors, batched=True)
                print(f"  bridge:  {rate(n, bridge.seconds)}; {bridge.per_reading(n)}; "
                      f"{bridge.loads()}")  # fmt: skip
                print("naive (one write per message):")
                naive = run_bridge(broker, influx, args.naive_n, args.sensors, batched=False)
                print(f"  naive:   {rate(args.naive_n, naive.seconds)}; {naive.loads()}")
                c, b = n / ceiling.seconds, n / bridge.seconds
                v = args.naive_n / naive.seconds
                print("ratios (readings/s):")
                for name, gw in gateways:
                    g = n / gw.seconds
                    print(
                        f"  {name}: {g / c:.2f}x mosquitto_sub, {g / b:.2f}x the batched bridge, "
                        f"{g / v:.1f}x the naive one"
                    )
                if len(gateways) > 1:
                    (n0, g0), (n1, g1) = gateways[0], gateways[1]
                    print(f"  {n1} / {n0}: {g0.seconds / g1.seconds:.2f}x")
                print(f"  bridge: {b / c:.2f}x mosquitto_sub")
            for name, gw in gateways:
                need = sum(gw.cpu.values()) / n * TARGET
                print(
                    f"CPU budget, {name}: {TARGET:,} readings/s needs ~{need:.1f} cores of this "
                    f"machine ({os.cpu_count()} here), broker and InfluxDB included"
                )
    print(f"load average at the end: {load1():.2f}")


if __name__ == "__main__":
    main()
