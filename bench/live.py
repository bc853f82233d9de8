"""Live latency at a fixed rate: publish→stored for the full gateway and for a simple batched
bridge, and breaching reading → ticket event on MQTT, in one run.

    .venv/bin/python -m bench.live [--rate 5000] [--seconds 30] [--publishers 2] [--workers 1]

Each phase starts its consumer in a child process and publishes `rate` readings/s (4 metrics,
QoS 1, each stamped with its publish time to the microsecond) from `publishers` other child
processes, so no publisher shares an interpreter with the consumer:

- gateway: `gridwatch.hub.run_gateway` — validation, registry, at-least-once commit, rule
  engine, tickets in a temporary SQLite file, ticket events on MQTT — with default settings
  and default rules. Publish→stored is measured for every reading at the moment the gateway
  hands the committed batch to its sinks, which is after the InfluxDB write returned.
  Meanwhile this process publishes a breaching sewer reading (freeboard 0.1 m; the rule
  sewer.overflow has `for: 0`) for a fresh sensor every `--probe-every` seconds and times its
  "opened" event on `gridwatch/tickets/{grid}`. With `--workers N` (N > 1) the consumer is
  `gridwatch.cluster.run_cluster` instead: N gateway processes on a `$share` subscription, each
  writing InfluxDB, and the rules in the parent; publish→stored is then taken when the parent
  receives a worker's committed batch.
- bridge: the simple batched bridge of bench.drain (MQTT 3.1.1, decode, line protocol, one
  write per up to 5,000 readings from a writer thread, no validation or rules, acknowledges on
  receipt); publish→stored is taken when its write returned.

Both phases then check that InfluxDB holds every reading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import BROKER_EXTRA, METRICS, count, machine, sensor_id, site_doc
from domain import topics
from domain.measurement import Measurement
from domain.site import Registry, parse_site
from gateway.cluster import Cluster
from gateway.service import Gateway
from gateway.settings import GatewaySettings
from gridwatch.processes import InfluxDB, Mosquitto
from services.alarms import Alarms
from services.rules.book import load_rules
from services.ticketing import TicketingSettings

PROBE_GRID = "grid-0"
PROBE_VALUES = {"freeboard": 0.1}
"""Below sewer.overflow's critical 0.2 m: a ticket opens at once (`for: 0`)."""


def probe_sensor(k: int) -> str:
    return f"sewer-{k:05d}"


def live_site(sensors: int, probes: int) -> dict[str, Any]:
    doc = site_doc(sensors)
    doc["sensors"] += [
        {"id": probe_sensor(k), "kind": "sewer", "grid": PROBE_GRID} for k in range(probes)
    ]
    return doc


def percentiles(values: Sequence[float]) -> dict[str, float]:
    s = sorted(values)
    if not s:
        return {"n": 0}

    def at(q: float) -> float:
        return s[min(len(s) - 1, int(len(s) * q))]

    return {"n": len(s), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": s[-1],
            "mean": statistics.fmean(s)}  # fmt: skip


def show(name: str, p: dict[str, float]) -> str:
    if not p.get("n"):
        return f"  {name}: no samples"
    return (f"  {name}: n={int(p['n']):,}  p50 {p['p50']:.0f} ms  p90 {p['p90']:.0f} ms  "
            f"p99 {p['p99']:.0f} ms  max {p['max']:.0f} ms")  # fmt: skip


# -- publishers (child processes) -------------------------------------------------------------
def _publish_at_rate(
    host: str, port: int, prefix: str, rate: float, seconds: float, index: int, of: int,
    sensors: int, go: Any, sent_out: Any,
) -> None:  # fmt: skip
    """Publish rate/`of` readings per second for `seconds`, each stamped when published."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"live-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    my_rate, total = rate / of, int(rate * seconds / of)
    go.wait()
    started = time.monotonic()
    sent, last = 0, None
    dumps, now = json.dumps, time.time
    while sent < total:
        due = min(total, int((time.monotonic() - started) * my_rate) + 1)
        while sent < due:
            i = index + of * sent
            values = {k: round(v + (i // sensors % 7) * 0.01, 2) for k, v in METRICS.items()}
            body = dumps({"ts": now(), "seq": sent, "values": values}).encode()
            last = client.publish(f"{prefix}/pond/{sensor_id(i % sensors)}/telemetry", body, qos=1)
            sent += 1
            if sent % 20_000 == 0:
                last.wait_for_publish(60)  # packet ids are 16-bit: never run 65,535 ahead
        time.sleep(0.002)
    if last is not None:
        last.wait_for_publish(60)
    took = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    sent_out.put((sent, took))


def publish_live(
    broker: Mosquitto, prefix: str, rate: float, seconds: float, sensors: int, publishers: int,
    ready: Any,
) -> tuple[int, float]:  # fmt: skip
    """Run the publishers to the end; (readings sent, seconds the slowest took)."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_publish_at_rate,
            args=(
                broker.host,
                broker.port,
                prefix,
                rate,
                seconds,
                k,
                publishers,
                sensors,
                go,
                out,
            ),
            daemon=True,
        )
        for k in range(publishers)
    ]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let them import and connect before the clock starts
    go.set()
    ready.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    return sum(n for n, _ in results), max(t for _, t in results)


# -- the gateway (child process) --------------------------------------------------------------
class Stopwatch:
    """MeasurementSink in front of the rules: notes publish→commit for each bench reading (the
    gateway calls its sinks after the InfluxDB write), then hands the batch on."""

    def __init__(self, inner: Alarms) -> None:
        self.inner = inner
        self.latency_ms = array("d")
        self.seen = 0

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        now = time.time_ns()
        self.seen += len(measurements)
        self.latency_ms.extend(
            (now - m.ts_ns) / 1e6 for m in measurements if m.sensor.startswith("pond-")
        )
        await self.inner.accept(measurements)


def _gateway_main(conn: Connection, work: str, broker_url: str, influx_url: str,
                  site: dict[str, Any], batch_interval_s: float, workers: int) -> None:  # fmt: skip
    from gridwatch.cluster import run_cluster  # the composition root, in the child only
    from gridwatch.hub import run_gateway

    registry = Registry(parse_site(site))
    settings = GatewaySettings(
        mqtt_url=broker_url,
        influx_url=influx_url,
        influx_db="live_gateway",
        topic_prefix="gw/sensors",
        mqtt_client_id="live-gateway",
        spool_dir=Path(work) / "spool",
        batch_interval_s=batch_interval_s,
    )
    ticketing = TicketingSettings(db_url=f"sqlite:///{work}/tickets.db")
    holder: dict[str, Any] = {}
    built = asyncio.Event()

    def ready(gateway: Gateway, alarms: Alarms) -> None:
        watch = Stopwatch(alarms)
        gateway.measurement_sink = watch
        holder.update(stop=gateway.stop, subscribed=gateway.source.subscribed.wait, watch=watch)
        built.set()

    def cluster_ready(cluster: Cluster, alarms: Alarms) -> None:
        watch = Stopwatch(alarms)
        cluster.measurements = watch  # the workers hand committed batches to it
        holder.update(stop=cluster.stop, subscribed=cluster.wait_ready, watch=watch)
        built.set()

    async def control() -> None:
        await built.wait()
        await holder["subscribed"]()
        conn.send("ready")
        expected: int = await asyncio.to_thread(conn.recv)
        watch: Stopwatch = holder["watch"]
        deadline = time.monotonic() + 120
        while watch.seen < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - a counter
            await asyncio.sleep(0.1)
        holder["stop"]()
        conn.send((watch.seen, watch.latency_ms.tobytes()))

    async def main() -> None:
        task = asyncio.create_task(control())
        rules = load_rules(registry=registry)
        if workers > 1:
            await run_cluster(settings, ticketing, registry, rules, workers=workers,
                              on_ready=cluster_ready)  # fmt: skip
        else:
            await run_gateway(settings, ticketing, registry, rules, on_ready=ready)
        await task

    asyncio.run(main())


@dataclass
class Probes:
    sent: dict[str, float]
    latency_ms: list[float]


async def probe_tickets(broker: Mosquitto, prefix: str, every_s: float, seconds: float,
                        go: threading.Event) -> Probes:  # fmt: skip
    """Publish a breaching reading for a fresh sewer sensor every `every_s` during the load and
    time each until its "opened" event arrives on gridwatch/tickets/{grid}."""
    probes = Probes({}, [])
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(topics.tickets("+"), qos=1)

        async def listen() -> None:
            async for msg in client.messages:
                event = json.loads(bytes(msg.payload))
                sent = probes.sent.get(event["ticket"]["sensor"])
                if event["event"] == "opened" and sent is not None:
                    probes.latency_ms.append((time.time() - sent) * 1000)

        listener = asyncio.create_task(listen())
        await asyncio.to_thread(go.wait)
        started = time.monotonic()
        k = 0
        while time.monotonic() - started < seconds:
            await asyncio.sleep(every_s)
            sensor = probe_sensor(k)
            stamp = time.time()
            probes.sent[sensor] = stamp
            body = json.dumps({"ts": stamp, "values": PROBE_VALUES})
            await client.publish(f"{prefix}/sewer/{sensor}/telemetry", body, qos=1)
            k += 1
        await asyncio.sleep(3)  # the last events
        listener.cancel()
    return probes


def run_gateway_phase(
    broker: Mosquitto, influx: InfluxDB, work: Path, args: argparse.Namespace
) -> tuple[dict[str, float], dict[str, float], int, int, float]:
    probes_max = int(args.seconds / args.probe_every) + 2
    site = live_site(args.sensors, probes_max)
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(
        target=_gateway_main,
        args=(there, str(work), broker.url, influx.url, site, args.batch_interval, args.workers),
        daemon=args.workers == 1,  # a daemonic process may not start the cluster's workers
    )
    proc.start()
    if not here.poll(60):
        raise RuntimeError("the gateway did not subscribe within 60 s")
    here.recv()
    go = threading.Event()

    async def both() -> tuple[tuple[int, float], Probes]:
        load = asyncio.to_thread(
            publish_live, broker, "gw/sensors", args.rate, args.seconds, args.sensors,
            args.publishers, go,
        )  # fmt: skip
        return await asyncio.gather(
            load, probe_tickets(broker, "gw/sensors", args.probe_every, args.seconds, go)
        )

    (sent, took), probes = asyncio.run(both())
    here.send(sent + len(probes.sent))
    committed, raw = here.recv()
    proc.join(60)
    lat = array("d")
    lat.frombytes(raw)
    stored = count(influx, "live_gateway")
    if committed < sent + len(probes.sent):
        print(f"  gateway committed only {committed:,} of {sent + len(probes.sent):,}")
    return percentiles(lat), percentiles(probes.latency_ms), sent, stored, took


# -- the bridge baseline (child process) ------------------------------------------------------
def _bridge_main(conn: Connection, host: str, port: int, influx_url: str, prefix: str,
                 db: str) -> None:  # fmt: skip
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
            http.post("/write", params={"db": db, "precision": "ns"},
                      content="\n".join(line for line, _ in batch))  # fmt: skip
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
    sent, took = publish_live(broker, prefix, args.rate, args.seconds, args.sensors,
                              args.publishers, go)  # fmt: skip
    here.send(sent)
    raw = here.recv()
    proc.join(30)
    lat = array("d")
    lat.frombytes(raw)
    return percentiles(lat), sent, count(influx, db), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5_000, help="readings/s (5000)")
    parser.add_argument("--seconds", type=float, default=30, help="per phase (30)")
    parser.add_argument("--sensors", type=int, default=5_000, help="distinct sensors (5000)")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes (2)")
    parser.add_argument("--probe-every", type=float, default=0.5, help="s between probes (0.5)")
    parser.add_argument("--batch-interval", type=float, default=0.25,
                        help="the gateway's batch_interval_s (0.25, its default)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="gateway worker processes on a $share subscription, with the rules "
                             "in a parent process (1: the single-process hub)")  # fmt: skip
    parser.add_argument("--only-gateway", action="store_true", help="skip the bridge baseline")
    args = parser.parse_args()
    print(f"machine: {machine()}; {args.rate:,.0f} readings/s × 4 metrics, QoS 1, "
          f"{args.seconds:.0f} s per phase, {args.publishers} publisher processes")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gridwatch-live-") as tmp:
        work = Path(tmp)
        with (
            Mosquitto(workdir=work / "mosquitto", config_extra=BROKER_EXTRA) as broker,
            InfluxDB(workdir=work / "influxdb") as influx,
        ):
            gw, tickets, sent, stored, took = run_gateway_phase(broker, influx, work, args)
            shape = "1 process" if args.workers == 1 else f"{args.workers} workers + rules process"
            print(
                f"gateway ({shape}, batch 5,000 / {args.batch_interval} s, default rules, "
                "SQLite tickets):"
            )
            print(f"  published {sent:,} in {took:.1f} s = {sent / took:,.0f}/s; "
                  f"InfluxDB holds {stored:,}")  # fmt: skip
            print(show("publish→stored", gw))
            print(show("breach→ticket event on MQTT", tickets))
            if args.only_gateway:
                return
            br, bsent, bstored, btook = run_bridge_phase(broker, influx, args)
            print("bridge (simple batched, acks on receipt, no validation or rules):")
            print(f"  published {bsent:,} in {btook:.1f} s = {bsent / btook:,.0f}/s; "
                  f"InfluxDB holds {bstored:,}")  # fmt: skip
            print(show("publish→stored", br))
            if gw.get("n") and br.get("n"):
                print("ratio gateway/bridge: " + ", ".join(
                    f"{q} {gw[q] / max(br[q], 0.001):.2f}x" for q in ("p50", "p90", "p99", "max")
                ))  # fmt: skip


if __name__ == "__main__":
    main()
