"""What the benchmarks share: a bench site, publishers in child processes, InfluxDB counting,
and the full gateway process (`gridwatch.hub`) on a temporary SQLite ticket store.

Everything runs on free ports in a temporary folder (tests/harness.py); nothing here assumes
1883, 8086 or 5432.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from domain.site import Registry, parse_site
from tests.harness import InfluxDB, Mosquitto

METRICS = {"do": 5.8, "ph": 7.2, "nh3n": 0.9, "temp": 21.5}
"""Four pond metrics, inside every rule's band (a drain raises no tickets)."""

BROKER_EXTRA = "max_inflight_messages 0\nmax_queued_messages 2000000\n"
"""Benchmark broker: queues big enough for the backlog; in-flight bounded by the client's
Receive Maximum (v5) rather than Mosquitto's default of 20 for v3 clients."""


def site_doc(sensors: int) -> dict[str, Any]:
    grids = max(1, sensors // 500)
    return {
        "communities": [
            {
                "id": "bench",
                "name": "Bench",
                "supervisor": {"id": "sup-1", "name": "S"},
                "grids": [
                    {"id": f"grid-{g}", "name": f"G{g}", "worker": {"id": f"w-{g}", "name": "W"}}
                    for g in range(grids)
                ],
            }
        ],
        "sensors": [
            {"id": f"pond-{i:06d}", "kind": "pond", "grid": f"grid-{i % grids}"}
            for i in range(sensors)
        ],
    }


def site(sensors: int) -> Registry:
    return Registry(parse_site(site_doc(sensors)))


def write_site(path: Path, sensors: int) -> Path:
    path.write_text(json.dumps(site_doc(sensors)), encoding="utf-8")  # JSON is valid YAML
    return path


def sensor_id(i: int) -> str:
    return f"pond-{i:06d}"


def payload(i: int, sensors: int, t0: int) -> bytes:
    values = {k: round(v + (i % 7) * 0.01, 2) for k, v in METRICS.items()}
    return json.dumps({"ts": t0 + i // sensors, "seq": i, "values": values}).encode()


def _publish(
    host: str, port: int, prefix: str, start: int, stop: int, step: int, sensors: int, t0: int
) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    last = None
    for k, i in enumerate(range(start, stop, step)):
        if last is not None and k % 20_000 == 0:
            last.wait_for_publish(300)  # packet ids are 16-bit: never run 65,535 ahead
        topic = f"{prefix}/pond/{sensor_id(i % sensors)}/telemetry"
        last = client.publish(topic, payload(i, sensors, t0), qos=1)
    if last is not None:
        last.wait_for_publish(300)
    client.disconnect()
    client.loop_stop()


def publish_backlog(
    broker: Mosquitto, prefix: str, n: int, sensors: int, publishers: int = 2
) -> float:
    """Publish n readings (QoS 1) from `publishers` child processes; seconds taken."""
    t0 = int(time.time()) - 86_400
    ctx = multiprocessing.get_context("spawn")
    started = time.monotonic()
    procs = [
        ctx.Process(
            target=_publish,
            args=(broker.host, broker.port, prefix, k, n, publishers, sensors, t0),
            daemon=True,
        )
        for k in range(publishers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
        if p.exitcode != 0:
            raise RuntimeError("publisher failed")
    return time.monotonic() - started


def count(influx: InfluxDB, db: str) -> int:
    r = httpx.get(f"{influx.url}/query", params={"db": db, "q": "SELECT count(do) FROM pond"})
    series = r.json()["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


async def wait_stored(influx: InfluxDB, db: str, n: int, limit_s: float) -> float:
    """Wait until InfluxDB holds n points in `db`; returns the monotonic time it did. Polls
    every 0.1 s: each count scans what is stored, so polling faster adds InfluxDB CPU that the
    per-reading CPU figures would blame on the consumer's writes."""
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=influx.url, timeout=30) as http:
        while time.monotonic() < deadline:
            r = await http.get("/query", params={"db": db, "q": "SELECT count(do) FROM pond"})
            series = r.json()["results"][0].get("series")
            if series and int(series[0]["values"][0][1]) >= n:
                return time.monotonic()
            await asyncio.sleep(0.1)
    raise TimeoutError(f"only {count(influx, db)} of {n} readings stored in {limit_s} s")


def rate(n: int, seconds: float) -> str:
    return f"{n:,} readings in {seconds:.2f} s = {n / seconds:,.0f} readings/s"


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used so far (Linux /proc), for CPU-per-reading
    figures that do not depend on how busy the other core was."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU of this process's waited-for children and their descendants."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"
