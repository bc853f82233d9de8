"""Live latency at a fixed rate: publish→stored for the full gateway and for a simple batched
bridge, and breaching reading → ticket event on MQTT, in one run.

    .venv/bin/python -m bench.live [--rate 5000] [--seconds 30] [--publishers 2] [--workers 1]

Each phase starts its consumer in a child process and publishes `rate` readings/s (4 metrics,
QoS 1, each stamped with its publish time to the microsecond) from `publishers` other child
processes, so no publisher shares an interpreter with the consumer:

- gateway: built by `gridwatch.hub` (`open_alarms`, `build_front`) — validation, registry,
  at-least-once commit, rule engine, tickets in a temporary SQLite file, ticket events on
  MQTT — with default settings and default rules. Publish→stored is measured for every
  reading at the moment the gateway hands the committed batch to its sinks, which is after
  the InfluxDB write returned. Meanwhile this process publishes a breaching sewer reading
  (freeboard 0.1 m; the rule sewer.overflow has `for: 0`) for a fresh sensor every
  `--probe-every` seconds and times its "opened" event on `gridwatch/tickets/{grid}`. With
  `--workers N` (N > 1) the consumer is a `Cluster` (`build_front(..., workers=N)`): N
  gateway processes on a `$share` subscription, each writing InfluxDB, and the rules in the
  parent; publish→stored is then taken when the parent receives a worker's committed batch.
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
import tempfile
import threading
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiomqtt

from bench.common import BROKER_EXTRA, count, machine, site_doc
from bench.latency import percentiles, show
from bench.livebridge import run_bridge_phase
from bench.ratepublish import publish_live
from domain import topics
from domain.measurement import Measurement
from domain.ports import MeasurementSink
from domain.site import Registry, parse_site
from gateway.front import Front
from gridwatch.settings import load_settings
from services.rules.book import load_rules
from tests.harness import InfluxDB, Mosquitto

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


# -- the gateway (child process) --------------------------------------------------------------
class Stopwatch:
    """MeasurementSink in front of the rules: notes publish→commit for each bench reading (the
    gateway calls its sinks after the InfluxDB write), then hands the batch on."""

    def __init__(self, inner: MeasurementSink) -> None:
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


def _gateway_main(
    conn: Connection,
    work: str,
    broker_url: str,
    influx_url: str,
    site: dict[str, Any],
    batch_interval_s: float,
    workers: int,
) -> None:
    from adapters import heap  # the child only
    from gridwatch.hub import build_front, open_alarms, run_front

    registry = Registry(parse_site(site))
    settings = load_settings(
        mqtt_url=broker_url,
        influx_url=influx_url,
        influx_db="live_gateway",
        topic_prefix="gw/sensors",
        mqtt_client_id="live-gateway",
        spool_dir=Path(work) / "spool",
        batch_interval_s=batch_interval_s,
        db_url=f"sqlite:///{work}/tickets.db",
    )

    async def control(front: Front, watch: Stopwatch) -> None:
        await front.wait_ready()
        conn.send("ready")
        expected: int = await asyncio.to_thread(conn.recv)
        deadline = time.monotonic() + 120
        while watch.seen < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - a counter
            await asyncio.sleep(0.1)
        front.stop()
        conn.send((watch.seen, watch.latency_ms.tobytes()))

    async def main() -> None:
        rules = load_rules(registry=registry)
        async with open_alarms(settings, registry, rules) as alarms:
            # With workers, the parent's sinks take the workers' committed batches: the
            # stopwatch sees each when it reaches the rules, in either case.
            watch = Stopwatch(alarms.alarms)
            sinks = replace(alarms.sinks, measurements=watch)
            front = build_front(settings, registry, sinks, workers)
            heap.settle()  # as `gridwatch gateway` does once its front is built
            task = asyncio.create_task(control(front, watch))
            await run_front(front, settings)
            await task

    asyncio.run(main())


@dataclass
class Probes:
    sent: dict[str, float]
    latency_ms: list[float]


async def probe_tickets(
    broker: Mosquitto, prefix: str, every_s: float, seconds: float, go: threading.Event
) -> Probes:
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
            publish_live,
            broker,
            "gw/sensors",
            args.rate,
            args.seconds,
            args.sensors,
            args.publishers,
            go,
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5_000, help="readings/s (5000)")
    parser.add_argument("--seconds", type=float, default=30, help="per phase (30)")
    parser.add_argument("--sensors", type=int, default=5_000, help="distinct sensors (5000)")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes (2)")
    parser.add_argument("--probe-every", type=float, default=0.5, help="s between probes (0.5)")
    parser.add_argument(
        "--batch-interval",
        type=float,
        default=0.25,
        help="the gateway's batch_interval_s (0.25, its default)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway worker processes on a $share subscription, with the rules "
        "in a parent process (1: the single-process hub)",
    )
    parser.add_argument("--only-gateway", action="store_true", help="skip the bridge baseline")
    args = parser.parse_args()
    print(
        f"machine: {machine()}; {args.rate:,.0f} readings/s × 4 metrics, QoS 1, "
        f"{args.seconds:.0f} s per phase, {args.publishers} publisher processes"
    )
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
            print(
                f"  published {sent:,} in {took:.1f} s = {sent / took:,.0f}/s; "
                f"InfluxDB holds {stored:,}"
            )
            print(show("publish→stored", gw))
            print(show("breach→ticket event on MQTT", tickets))
            if args.only_gateway:
                return
            br, bsent, bstored, btook = run_bridge_phase(broker, influx, args)
            print("bridge (simple batched, acks on receipt, no validation or rules):")
            print(
                f"  published {bsent:,} in {btook:.1f} s = {bsent / btook:,.0f}/s; "
                f"InfluxDB holds {bstored:,}"
            )
            print(show("publish→stored", br))
            if gw.get("n") and br.get("n"):
                print(
                    "ratio gateway/bridge: "
                    + ", ".join(
                        f"{q} {gw[q] / max(br[q], 0.001):.2f}x"
                        for q in ("p50", "p90", "p99", "max")
                    )
                )


if __name__ == "__main__":
    main()
