"""InfluxDB faults under a running gateway, with real Mosquitto and InfluxDB processes
(reliability.md's matrix): stopped, frozen, slow, a crash between the write and the ack, a
full spool under both policies, a partial write and a 413. Each asserts exact counts in
InfluxDB; each prints what was sent, what was stored and how long recovery took (pytest -s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gateway.health import Status
from gateway.spool import FullPolicy, Spool
from tests.harness import InfluxDB, Mosquitto
from tests.integration.faults import (
    T0,
    DelayProxy,
    count,
    gateway_running,
    publish,
    readings,
    settings_for,
)


def report(fault: str, sent: int, stored: int, recovery_s: float) -> None:
    print(f"\n[fault] {fault}: sent {sent}, stored {stored}, recovered in {recovery_s:.1f} s")


async def test_influx_stopped_spools_acks_and_drains_everything_on_recovery(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    influx = make_influxdb()
    conf = settings_for(mosquitto, influx.url, topic_prefix, "faults", tmp_path / "spool.sqlite")
    async with gateway_running(conf) as run:
        gw = run.gateway
        await publish(mosquitto, readings(0, 200, topic_prefix))
        await run.until("200 live", lambda: gw.committed == 200)
        assert await count(influx, "faults") == 200

        influx.stop()
        await publish(mosquitto, readings(200, 600, topic_prefix))
        # Acknowledged although InfluxDB is down: the spool committed them.
        await run.until("800 acked", lambda: gw.committed == 800)
        assert gw.spool is not None
        assert gw.spool.depth == 600
        assert run.sample("gridwatch_gateway_spool_depth") == 600
        assert run.sample("gridwatch_gateway_influx_up") == 0
        assert gw.health().status is Status.DEGRADED
        assert gw.source.pending == 0, "nothing waits with the broker or in memory"

        restarted = time.monotonic()
        influx.start()
        await run.until("spool drained", lambda: gw.spool is not None and gw.spool.depth == 0)
        took = time.monotonic() - restarted
        assert run.sample("gridwatch_gateway_spool_depth") == 0
        assert run.max_depth == 600
        await publish(mosquitto, readings(800, 100, topic_prefix))
        await run.until("900 acked", lambda: gw.committed == 900)
    stored = await count(influx, "faults")
    assert stored == 900
    assert run.sample("gridwatch_gateway_spooled_readings_total") == 600
    assert run.sample("gridwatch_gateway_drained_readings_total") == 600
    assert (
        run.sample(
            "gridwatch_gateway_writes_total", path="live", outcome="error", error="unavailable"
        )
        > 0
    )
    report("InfluxDB stopped", 900, stored, took)


async def test_influx_frozen_times_out_spools_and_stores_each_point_once(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    influx = make_influxdb()
    conf = settings_for(
        mosquitto,
        influx.url,
        topic_prefix,
        "frozen",
        tmp_path / "spool.sqlite",
        influx_timeout_s=1.0,
    )
    async with gateway_running(conf) as run:
        gw = run.gateway
        await publish(mosquitto, readings(0, 100, topic_prefix))
        await run.until("100 live", lambda: gw.committed == 100)
        influx.freeze()
        try:
            await publish(mosquitto, readings(100, 400, topic_prefix))
            await run.until("500 acked while frozen", lambda: gw.committed == 500)
            assert gw.spool is not None
            assert gw.spool.depth > 0
            timeouts = run.sample(
                "gridwatch_gateway_writes_total", path="live", outcome="error", error="timeout"
            )
            assert timeouts >= 1
        finally:
            influx.thaw()
        took = await run.until("drained", lambda: gw.spool is not None and gw.spool.depth == 0)
    stored = await count(influx, "frozen")
    assert stored == 500  # no loss; a write that timed out and was then stored overwrote itself
    report("InfluxDB frozen (SIGSTOP)", 500, stored, took)


async def test_slow_influx_backpressure_keeps_acking_and_stores_everything(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    async with DelayProxy(influxdb.host, influxdb.port, delay=2.0) as proxy:
        conf = settings_for(
            mosquitto,
            proxy.url,
            topic_prefix,
            influx_db,
            tmp_path / "spool.sqlite",
            influx_timeout_s=10.0,
            mqtt_receive_maximum=200,
        )
        async with gateway_running(conf) as run:
            gw = run.gateway
            high_water = 0
            for start in range(0, 1000, 200):
                await publish(mosquitto, readings(start, 200, topic_prefix))
                high_water = max(high_water, gw.source.pending + gw.unacked)
            # Acks do not wait for the slow writes: the spool commits within the budget.
            await run.until("1000 acked", lambda: gw.committed == 1000, limit_s=30)
            took = await run.until(
                "drained", lambda: gw.spool is not None and gw.spool.depth == 0, limit_s=60
            )
    stored = await count(influxdb, influx_db)
    assert stored == 1000
    # Bounded memory: what is held in the process never exceeds the in-flight window.
    assert high_water <= 2 * 200 + 1_000
    assert run.sample("gridwatch_gateway_spooled_readings_total") > 0
    report("slow InfluxDB (2 s per request)", 1000, stored, took)


class Crash(Exception):
    """Stands for the process dying between the InfluxDB write and the acknowledgement."""


async def test_crash_between_write_and_ack_redelivers_and_overwrites(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    conf = settings_for(
        mosquitto,
        influxdb.url,
        topic_prefix,
        influx_db,
        tmp_path / "spool.sqlite",
        batch_interval_s=0.5,
    )
    first = gateway_running(conf)
    run = await first.__aenter__()
    written = asyncio.Event()

    async def die_before_ack(batch: object) -> None:
        written.set()
        raise Crash

    run.gateway._deliver = die_before_ack  # type: ignore[method-assign]
    await publish(mosquitto, readings(0, 300, topic_prefix))
    async with asyncio.timeout(15):
        await written.wait()
    assert run.task is not None
    with pytest.raises(ExceptionGroup) as crashed:
        await run.task
    assert crashed.group_contains(Crash)
    with pytest.raises(ExceptionGroup):
        await first.__aexit__(None, None, None)
    stored_before = await count(influxdb, influx_db)
    assert stored_before > 0, "the write happened before the crash"
    assert run.gateway.committed == 0, "nothing was acknowledged"

    async with gateway_running(conf) as again:  # same client id: the same durable session
        took = await again.until("redelivered", lambda: again.gateway.committed == 300)
        redelivered = again.sample("gridwatch_gateway_messages_total", channel="telemetry")
    stored = await count(influxdb, influx_db)
    assert redelivered == 300
    assert stored == 300
    report("crash between write and ack", 300, stored, took)


async def test_full_spool_refuses_holds_unacked_then_stores_everything(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    influx = make_influxdb()
    conf = settings_for(
        mosquitto,
        influx.url,
        topic_prefix,
        "full",
        tmp_path / "spool.sqlite",
        spool_max_readings=100,
        spool_full_policy=FullPolicy.REFUSE,
    )
    async with gateway_running(conf) as run:
        gw = run.gateway
        await run.until("writer ready", lambda: gw.influx_up)
        influx.stop()
        await publish(mosquitto, readings(0, 100, topic_prefix))
        await run.until("100 spooled and acked", lambda: gw.committed == 100)
        await publish(mosquitto, readings(100, 150, topic_prefix))
        await run.until("refusal counted", lambda: gw.health().status is Status.FAILING)
        await asyncio.sleep(0.5)
        assert gw.committed == 100, "nothing past the limit is acknowledged"
        refused = run.sample("gridwatch_gateway_spool_refused_readings_total")
        assert refused > 0
        assert run.sample("gridwatch_gateway_spool_full") == 1
        assert any("spool is full" in p for p in gw.health().problems)

        restarted = time.monotonic()
        influx.start()
        await run.until("all stored", lambda: gw.committed == 250)
        took = time.monotonic() - restarted
    stored = await count(influx, "full")
    assert stored == 250
    assert run.sample("gridwatch_gateway_spool_dropped_readings_total") == 0
    report("spool full (refuse)", 250, stored, took)


async def test_full_spool_drops_oldest_and_counts_exactly_what_was_lost(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    influx = make_influxdb()
    spool_file = tmp_path / "spool.sqlite"
    conf = settings_for(
        mosquitto,
        influx.url,
        topic_prefix,
        "drop",
        spool_file,
        spool_max_readings=100,
        spool_full_policy=FullPolicy.DROP_OLDEST,
    )
    async with gateway_running(conf) as run:
        gw = run.gateway
        await run.until("writer ready", lambda: gw.influx_up)
        influx.stop()
        await publish(mosquitto, readings(0, 100, topic_prefix))
        await run.until("100 acked", lambda: gw.committed == 100)
        await publish(mosquitto, readings(100, 60, topic_prefix))
        await run.until("160 acked", lambda: gw.committed == 160)
        dropped = int(run.sample("gridwatch_gateway_spool_dropped_readings_total"))
        assert dropped >= 60
        assert gw.health().status is Status.FAILING
        restarted = time.monotonic()
        influx.start()
        await run.until("drained", lambda: gw.spool is not None and gw.spool.depth == 0)
        took = time.monotonic() - restarted
    stored = await count(influx, "drop")
    assert stored + dropped == 160, "every reading is either stored or counted as dropped"
    with Spool(spool_file) as spool:
        assert spool.counter("dropped") == dropped
    report(f"spool full (drop_oldest, {dropped} dropped)", 160, stored, took)


async def test_partial_write_dead_letters_only_the_refused_line(
    mosquitto: Mosquitto, influxdb: InfluxDB, topic_prefix: str, influx_db: str, tmp_path: Path
) -> None:
    # `voltage` already holds strings in this shard: a float voltage is a field type conflict.
    async with httpx.AsyncClient(base_url=influxdb.url) as http:
        await http.post("/query", params={"q": f'CREATE DATABASE "{influx_db}"'})
        r = await http.post(
            "/write",
            params={"db": influx_db, "precision": "s"},
            content=f'power,sensor=seed voltage="n/a" {T0}'.encode(),
        )
        assert r.status_code == 204
    spool_file = tmp_path / "spool.sqlite"
    conf = settings_for(
        mosquitto, influxdb.url, topic_prefix, influx_db, spool_file, batch_interval_s=0.5
    )
    bad = (
        f"{topic_prefix}/power/power-01/telemetry",
        f'{{"ts": {T0 + 5}, "values": {{"voltage": 230.0}}}}'.encode(),
    )
    good = readings(0, 200, topic_prefix)
    async with gateway_running(conf) as run:
        await publish(mosquitto, [*good[:100], bad, *good[100:]])
        took = await run.until("acked", lambda: run.gateway.committed == 201)
    assert await count(influxdb, influx_db) == 200
    assert await count(influxdb, influx_db, "voltage", "power") == 1  # only the seed
    assert run.sample("gridwatch_gateway_dead_letters_total") == 1
    with Spool(spool_file) as spool:
        (letter,) = spool.dead_letters()
    assert letter.line.startswith("power,")
    assert "voltage=230" in letter.line
    assert "field type conflict" in letter.error
    report("partial write (1 bad line of 201)", 201, 200, took)


async def test_413_splits_the_batch_and_stores_everything(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    influx = make_influxdb(http_extra="  max-body-size = 8000")
    conf = settings_for(
        mosquitto,
        influx.url,
        topic_prefix,
        "small",
        tmp_path / "spool.sqlite",
        batch_interval_s=0.5,
    )
    async with gateway_running(conf) as run:
        await publish(mosquitto, readings(0, 500, topic_prefix))
        took = await run.until("acked", lambda: run.gateway.committed == 500)
    stored = await count(influx, "small")
    assert stored == 500
    assert run.sample("gridwatch_gateway_write_splits_total") > 0
    assert run.sample("gridwatch_gateway_dead_letters_total") == 0
    report("413 (max-body-size 8000 bytes)", 500, stored, took)
