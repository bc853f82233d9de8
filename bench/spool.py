"""Spool drain benchmark: how fast the gateway empties its disk spool into InfluxDB after an
outage, against the live ingest rate through the gateway measured in the same run.

    .venv/bin/python -m bench.spool [--n 200000] [--live 30000] [--sensors 100]

Starts its own Mosquitto and InfluxDB on free ports in a temporary folder.
- live: the same gateway (no rules: the spool holds what was already judged) drains a backlog
  of `--live` readings from its durable MQTT session into InfluxDB — its fastest ingest from
  MQTT, so the ratio is against the most the gateway can take live, not a site's usual rate.
- spool: `--n` readings, made by the real ingest and encoder from the same payloads and
  appended to a spool file in the gateway's batch size (5,000) — what an outage leaves behind —
  then a gateway starts on it with InfluxDB up and is timed until the spool is empty and
  InfluxDB holds all N points.
The issue's target: drain ≥ 10× the live rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.influx.lineprotocol import encode_lines
from bench.common import BROKER_EXTRA, METRICS, publish_backlog, sensor_id, site, wait_stored
from domain.site import Registry
from gateway.front import Front, Sinks
from gateway.ingest import IngestPolicy, ingest
from gateway.spool import Spool
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
from gridwatch.hub import build_front
from gridwatch.settings import load_settings
from tests.harness import InfluxDB, Mosquitto

BATCH = 5_000


def bench_gateway(
    broker: Mosquitto, influx: InfluxDB, registry: Registry, name: str, **settings: Any
) -> Front:
    """A gateway without rules (in-memory sinks) on database and client id `bench_{name}`,
    built as `gridwatch gateway` builds its front."""
    return build_front(
        load_settings(
            mqtt_url=broker.url,
            influx_url=influx.url,
            influx_db=f"bench_{name}",
            mqtt_client_id=f"bench-{name}",
            **settings,
        ),
        registry,
        Sinks(MemoryMeasurementSink(), MemoryRejectionSink()),
    )


async def run_gateway(
    broker: Mosquitto, influx: InfluxDB, registry: Registry, n: int, sensors: int
) -> float:
    """Seconds for the gateway to store a backlog of n readings queued in its durable session."""

    def gateway() -> Front:
        return bench_gateway(broker, influx, registry, "gateway", topic_prefix="gw/sensors")

    first = gateway()  # opens the durable session, then goes away
    task = asyncio.create_task(first.run())
    async with asyncio.timeout(10):
        await first.wait_ready()
    first.stop()
    await task
    await asyncio.to_thread(publish_backlog, broker, "gw/sensors", n, sensors)
    second = gateway()
    started = time.monotonic()
    task = asyncio.create_task(second.run())
    await wait_stored(influx, "bench_gateway", n, limit_s=600)
    elapsed = time.monotonic() - started
    second.stop()
    await task
    return elapsed


def fill(path: Path, registry: Registry, n: int, sensors: int) -> float:
    """Spool n readings as the gateway would during an outage; seconds taken."""
    started = time.monotonic()
    policy = IngestPolicy(prefix="spool/sensors")
    t0 = int(time.time()) - 86_400
    now = time.time_ns()
    with Spool(path, max_lines=n + 1) as spool:
        for start in range(0, n, BATCH):
            measurements = []
            for i in range(start, min(start + BATCH, n)):
                values = {k: v + (i % 7) * 0.01 for k, v in METRICS.items()}
                payload = json.dumps({"ts": t0 + i // sensors, "seq": i, "values": values})
                topic = f"spool/sensors/pond/{sensor_id(i % sensors)}/telemetry"
                measurements.extend(
                    ingest(topic, payload.encode(), registry, now, policy).measurements
                )
            assert spool.append(encode_lines(measurements)).stored
        assert spool.depth == n, f"spooled {spool.depth} of {n}"
    return time.monotonic() - started


async def drain(
    broker: Mosquitto, influx: InfluxDB, registry: Registry, path: Path, n: int
) -> float:
    """Seconds for a starting gateway to move n spooled readings into InfluxDB."""
    gateway = bench_gateway(
        broker,
        influx,
        registry,
        "spool",
        topic_prefix="spool/sensors",
        spool_path=path,
        spool_max_readings=n + 1,
    )
    started = time.monotonic()
    task = asyncio.create_task(gateway.run())
    await wait_stored(influx, "bench_spool", n, limit_s=600)
    elapsed = time.monotonic() - started
    while gateway.health().facts.spool_depth:  # noqa: ASYNC110 - the last delete follows the last write
        await asyncio.sleep(0.01)
    gateway.stop()
    await task
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="readings spooled (200000)")
    parser.add_argument("--live", type=int, default=30_000, help="live baseline readings")
    parser.add_argument("--sensors", type=int, default=100, help="distinct sensors (100)")
    args = parser.parse_args()
    registry = site(args.sensors)
    with tempfile.TemporaryDirectory(prefix="gridwatch-bench-spool-") as tmp:
        work = Path(tmp)
        with (
            Mosquitto(workdir=work / "mosquitto", config_extra=BROKER_EXTRA) as broker,
            InfluxDB(workdir=work / "influxdb") as influx,
        ):
            live_s = asyncio.run(run_gateway(broker, influx, registry, args.live, args.sensors))
            live = args.live / live_s
            print(f"live:  {args.live} readings in {live_s:.2f} s = {live:,.0f} readings/s")
            path = work / "spool.sqlite"
            fill_s = fill(path, registry, args.n, args.sensors)
            size = path.stat().st_size
            print(
                f"spool: {args.n} readings appended in {fill_s:.2f} s "
                f"({args.n / fill_s:,.0f}/s, {size / 2**20:.0f} MiB)"
            )
            drain_s = asyncio.run(drain(broker, influx, registry, path, args.n))
            rate = args.n / drain_s
            print(f"drain: {args.n} readings in {drain_s:.2f} s = {rate:,.0f} readings/s")
            print(f"ratio: drain is {rate / live:.1f}x the live rate (target >= 10x)")


if __name__ == "__main__":
    main()
