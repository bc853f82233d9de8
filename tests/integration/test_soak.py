"""Soak (slow): hundreds of devices publishing through a real Mosquitto and gateway into a real
InfluxDB for about two minutes (GRIDWATCH_SOAK_S to change): zero loss, p99 publish→stored
latency ≤ 5 s, and flat memory (RSS growth over the last minute under a bound).

Latency is device time (stamped at publish, millisecond precision) to the moment the gateway
hands the committed batch to its sinks, which is after the InfluxDB write. The gateway runs in
this process, so the RSS sampled is the gateway's plus the publisher's (which keeps nothing).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

import aiomqtt
import pytest

from domain.measurement import Measurement
from domain.site import Registry, parse_site
from gridwatch.processes import InfluxDB, Mosquitto
from tests.integration.test_faults_broker import Record, new_client_id, report, running_gateway
from tests.integration.test_gateway_e2e import influxql

DEVICES = 300
PERIOD_S = 1.0
DURATION_S = float(os.environ.get("GRIDWATCH_SOAK_S", "120"))
RSS_GROWTH_BOUND_MB = 25.0


def site(n: int) -> Registry:
    return Registry(parse_site({
        "communities": [{"id": "comm-s", "name": "S", "supervisor": {"id": "sup-s", "name": "S"},
                         "grids": [{"id": "grid-s1", "name": "S1",
                                    "worker": {"id": "wrk-s", "name": "W"}}]}],
        "sensors": [{"id": f"pond-{i:04d}", "kind": "pond", "grid": "grid-s1"} for i in range(n)],
    }))  # fmt: skip


class LatencySink:
    """A MeasurementSink that keeps only publish→stored latencies (ms), not the readings."""

    def __init__(self) -> None:
        self.latency_ms = array("d")

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        now = time.time_ns()
        self.latency_ms.extend((now - m.ts_ns) / 1e6 for m in measurements)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def stored_total(influx: InfluxDB, db: str) -> int:
    series = await influxql(influx, db, 'SELECT count("do") FROM pond')
    return int(series[0]["values"][0][1]) if series else 0


@pytest.mark.slow
async def test_soak_hundreds_of_devices(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    sink = LatencySink()
    rss: list[tuple[float, float]] = []
    sent = 0
    async with running_gateway(
        mosquitto.url, influxdb, topic_prefix, influx_db, client_id=new_client_id(),
        registry=site(DEVICES), measurements=sink, batch_interval_s=0.25,
    ) as gw, aiomqtt.Client(mosquitto.host, mosquitto.port) as pub:  # fmt: skip
        started = time.monotonic()
        tick = 0
        while (elapsed := time.monotonic() - started) < DURATION_S:
            stamp = time.time_ns() // 1_000_000
            await asyncio.gather(*(
                pub.publish(f"{topic_prefix}/pond/pond-{i:04d}/telemetry",
                            json.dumps({"ts": stamp, "seq": tick,
                                        "values": {"do": 6.0 + i % 10 / 10, "ph": 7.2}}),
                            qos=1)
                for i in range(DEVICES)
            ))  # fmt: skip
            sent += DEVICES
            tick += 1
            if tick % 5 == 0:
                rss.append((elapsed, rss_mb()))
            await asyncio.sleep(max(0.0, started + tick * PERIOD_S - time.monotonic()))
        await gw.until_committed(sent, within=60)
    held = await stored_total(influxdb, influx_db)
    lat = sorted(sink.latency_ms)
    p50, p99, worst = lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]
    last_minute = [mb for t, mb in rss if t >= DURATION_S - 60]
    before = [mb for t, mb in rss if t < DURATION_S - 60] or last_minute[:1]
    growth = max(last_minute) - before[-1]
    report(record_property, "soak", devices=DEVICES, seconds=DURATION_S, sent=sent, stored=held,
           p50_ms=round(p50), p99_ms=round(p99), max_ms=round(worst),
           rss_start_mb=round(rss[0][1], 1), rss_end_mb=round(rss[-1][1], 1),
           rss_growth_last_minute_mb=round(growth, 1))  # fmt: skip
    assert held == sent, "zero loss"
    assert len(lat) == sent
    assert p99 <= 5_000
    assert growth < RSS_GROWTH_BOUND_MB
