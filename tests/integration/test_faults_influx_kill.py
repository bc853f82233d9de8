"""`gridwatch gateway` as a real process, killed with SIGKILL mid-stream and restarted (and a
spool left on disk by a dead gateway): every reading published with QoS 1 is stored exactly
once. Slow: it starts the full ingest process (rules, tickets) three times."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gateway.spool import Spool
from tests.harness import InfluxDB, Mosquitto
from tests.integration.faults import SITE, count, publish, readings

pytestmark = pytest.mark.slow


class GatewayProcess:
    """`python -m gridwatch gateway` with its settings in the environment."""

    def __init__(self, tmp: Path, broker: Mosquitto, influx: InfluxDB, prefix: str, db: str):
        site = tmp / "site.yaml"
        site.write_text(yaml.safe_dump(SITE), encoding="utf-8")
        self.spool = tmp / "spool.sqlite"
        self.log = tmp / "gateway.log"
        self.env = {
            **os.environ,
            "GRIDWATCH_SITE": str(site),
            "GRIDWATCH_MQTT_URL": broker.url,
            "GRIDWATCH_INFLUX_URL": influx.url,
            "GRIDWATCH_INFLUX_DB": db,
            "GRIDWATCH_TOPIC_PREFIX": prefix,
            "GRIDWATCH_MQTT_CLIENT_ID": f"gw-kill-{db}",
            "GRIDWATCH_DB_URL": f"sqlite:///{tmp / 'tickets.db'}",
            "GRIDWATCH_SPOOL_PATH": str(self.spool),
            "GRIDWATCH_BATCH_INTERVAL_S": "0.1",
            # The single process, whatever the cores (the default count is chosen from them):
            # its one spool file is what the spool test leaves behind.
            "GRIDWATCH_GATEWAY_WORKERS": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gridwatch.cli", "gateway", "--log-level", "warning"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def until_stored(influx: InfluxDB, db: str, n: int, limit_s: float = 60.0) -> float:
    started = time.monotonic()
    while (have := await count(influx, db)) < n:
        if time.monotonic() - started > limit_s:
            raise AssertionError(f"only {have} of {n} stored after {limit_s} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_gateway_kill_9_mid_stream_then_restart_stores_every_reading_once(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    gw = GatewayProcess(tmp_path, mosquitto, influxdb, topic_prefix, influx_db)
    gw.start()
    try:
        await until_stored_first(influxdb, influx_db, mosquitto, topic_prefix)
        stream = asyncio.create_task(publish_paced(mosquitto, topic_prefix, 1, 3000))
        await asyncio.sleep(1.5)
        gw.kill()  # mid-stream: batches in memory, writes in flight, acks not sent
        killed_at = await count(influxdb, influx_db)
        await stream
        gw.start()
        took = await until_stored(influxdb, influx_db, 3001)
        await asyncio.sleep(1.0)  # let any redelivered repeat land: it must overwrite
        stored = await count(influxdb, influx_db)
    finally:
        gw.stop()
    assert 1 < killed_at < 3001, "the kill happened mid-stream"
    assert stored == 3001
    print(f"\n[fault] gateway kill -9: sent 3001, stored {stored}, recovered in {took:.1f} s")


async def until_stored_first(influx: InfluxDB, db: str, broker: Mosquitto, prefix: str) -> None:
    """Publish reading 0 until the new gateway has stored it (its session is then open)."""
    started = time.monotonic()
    while await count(influx, db) < 1:
        if time.monotonic() - started > 60:
            raise AssertionError("the gateway process did not store its first reading")
        await publish(broker, readings(0, 1, prefix))
        await asyncio.sleep(0.5)


async def publish_paced(broker: Mosquitto, prefix: str, start: int, n: int) -> None:
    """n readings at about 1,000/s, in chunks of 100."""
    for chunk in range(start, start + n, 100):
        await publish(broker, readings(chunk, min(100, start + n - chunk), prefix))
        await asyncio.sleep(0.1)


async def test_a_spool_left_by_a_dead_gateway_is_drained_on_start(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    gw = GatewayProcess(tmp_path, mosquitto, influxdb, topic_prefix, influx_db)
    lines = [
        f"pond,community=comm-a,grid=grid-a1,sensor=pond-0{i % 10} do=5.0 {t * 10**9}"
        for i, t in enumerate(range(1_700_000_000, 1_700_005_000))
    ]
    with Spool(gw.spool) as spool:  # what a gateway killed during an outage leaves behind
        for i in range(0, 5000, 500):
            spool.append(lines[i : i + 500])
    gw.start()
    try:
        took = await until_stored(influxdb, influx_db, 5000)
    finally:
        gw.stop()
    with Spool(gw.spool) as spool:
        assert spool.depth == 0
    assert await count(influxdb, influx_db) == 5000
    print(f"\n[fault] spool left on disk: 5000 spooled, 5000 stored, drained in {took:.1f} s")
