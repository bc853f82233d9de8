"""Broker faults with real processes (reliability.md's matrix): a broker restart while the
gateway is away, a broker `kill -9` (loss bounded by the autosave interval, counted here and
reported), and a network partition between gateway and broker through a TCP proxy.

Every test counts what it sent (acknowledged by the broker: aiomqtt awaits the PUBACK) and what
InfluxDB holds (a count of one field per device time, so a repeat cannot inflate it), and
records the figures as test properties (`-rA` / junit) and on stdout (`-s`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from domain.settings import Settings
from domain.site import Registry, parse_site
from gateway.front import Sinks
from gateway.service import build_gateway
from gateway.source import Message
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
from gridwatch.settings import load_settings
from tests.harness import InfluxDB, Mosquitto
from tests.integration.tcpproxy import TcpProxy
from tests.integration.test_gateway_e2e import SITE, counts, publish, readings

REGISTRY = Registry(parse_site(SITE))
Record = Callable[[str, object], None]


class Gw:
    """A gateway under test with in-memory sinks (built as `gridwatch gateway` builds it)."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        measurements: Any = None,
    ) -> None:
        self.measurements = measurements or MemoryMeasurementSink()
        self.rejections = MemoryRejectionSink()
        self.gateway = build_gateway(settings, registry, Sinks(self.measurements, self.rejections))
        self.committed = 0
        """Messages under our topic prefix committed (handed to `ack`); broker statistics
        the gateway also reads ($SYS) are left out."""
        prefix = settings.topic_prefix + "/"
        ack = self.gateway.source.ack

        def counting_ack(batch: Iterable[Message]) -> int:
            messages = list(batch)
            self.committed += sum(1 for m in messages if m.topic.startswith(prefix))
            return ack(messages)

        self.gateway.source.ack = counting_ack  # type: ignore[method-assign,assignment]

    def sample(self, name: str, **labels: str) -> float:
        return self.gateway.metrics.registry.get_sample_value(name, labels) or 0.0

    @property
    def connects(self) -> int:
        return int(self.sample("gridwatch_gateway_mqtt_connects_total"))

    async def until_committed(self, n: int, within: float = 30.0) -> float:
        """Wait until `n` messages are committed; returns the seconds it took."""
        started = time.monotonic()
        async with asyncio.timeout(within):
            while self.committed < n:  # noqa: ASYNC110 - polling the gateway's counter
                await asyncio.sleep(0.02)
        return time.monotonic() - started

    async def settle(self, quiet: float = 1.0) -> None:
        """Wait until nothing new has been committed for `quiet` seconds."""
        last = -1
        while self.committed != last or self.gateway.source.pending:
            last = self.committed
            await asyncio.sleep(quiet)


@asynccontextmanager
async def running_gateway(
    mqtt_url: str,
    influx: InfluxDB,
    prefix: str,
    db: str,
    *,
    client_id: str,
    registry: Registry = REGISTRY,
    measurements: Any = None,
    wait_subscribed: bool = True,
    **settings: Any,
) -> AsyncIterator[Gw]:
    """A gateway running until the block ends, then stopped gracefully and awaited."""
    conf = load_settings(
        mqtt_url=mqtt_url,
        influx_url=influx.url,
        influx_db=db,
        topic_prefix=prefix,
        mqtt_client_id=client_id,
        **{"batch_interval_s": 0.1, **settings},
    )
    gw = Gw(conf, registry, measurements)
    task = asyncio.create_task(gw.gateway.run(), name="gateway")
    try:
        if wait_subscribed:
            async with asyncio.timeout(15):
                await gw.gateway.source.subscribed.wait()
        yield gw
    finally:
        gw.gateway.stop()
        async with asyncio.timeout(30):
            await task


async def stored(influx: InfluxDB, db: str) -> int:
    """Distinct device times InfluxDB holds for pond-01 (a repeat overwrites, never adds)."""
    return (await counts(influx, db, "pond")).get("pond-01", {}).get("do", 0)


def report(record: Record, fault: str, **figures: object) -> None:
    for key, value in figures.items():
        record(f"{fault}.{key}", value)
    print(f"\n[fault] {fault}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


async def repair_and_count(
    gw: Gw, proxy: TcpProxy, sent: int, influx: InfluxDB, db: str
) -> tuple[float, int]:
    """Restore a partitioned link and wait until every one of `sent` messages is committed and
    in InfluxDB; returns (recovery seconds, redelivered messages). PUBACKs queued when the link
    went are lost with it, so those messages come again (at least once, stored once)."""
    proxy.restore()
    restored = time.monotonic()
    await gw.until_committed(sent)
    recovery = time.monotonic() - restored
    await gw.settle(0.5)
    async with asyncio.timeout(30):
        while await stored(influx, db) < sent:  # noqa: ASYNC110 - polling a database
            await asyncio.sleep(0.1)
    assert gw.committed >= sent
    return recovery, gw.committed - sent


def new_client_id() -> str:
    return f"gw-{uuid.uuid4().hex[:8]}"


async def test_broker_sigterm_with_gateway_offline_loses_nothing(
    make_mosquitto: Callable[..., Mosquitto],
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    broker = make_mosquitto()
    cid = new_client_id()
    async with running_gateway(broker.url, influxdb, topic_prefix, influx_db, client_id=cid):
        pass  # the durable session now exists; the gateway goes away
    sent = readings(topic_prefix, 0, 500)
    await publish(broker, sent)  # queued by the broker for the offline session

    broker.stop()  # SIGTERM: Mosquitto saves its persistence file
    broker.start()
    restarted = time.monotonic()
    async with running_gateway(broker.url, influxdb, topic_prefix, influx_db, client_id=cid) as gw:
        await gw.until_committed(len(sent))
        recovery = time.monotonic() - restarted
        await gw.settle(0.5)
        committed = gw.committed
    held = await stored(influxdb, influx_db)
    report(
        record_property,
        "broker_sigterm",
        sent=len(sent),
        stored=held,
        redelivered=committed,
        recovery_s=round(recovery, 2),
    )
    assert held == len(sent)
    assert committed == len(sent), "the saved session redelivers each message exactly once"


async def test_broker_kill9_loss_is_bounded_by_autosave_and_gateway_reconnects(
    make_mosquitto: Callable[..., Mosquitto],
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    autosave_s = 1  # Mosquitto saves when more than this many whole seconds have passed
    broker = make_mosquitto(config_extra=f"autosave_interval {autosave_s}\n")
    cid = new_client_id()
    async with running_gateway(broker.url, influxdb, topic_prefix, influx_db, client_id=cid):
        pass
    saved = readings(topic_prefix, 0, 300)
    await publish(broker, saved)
    await asyncio.sleep(autosave_s + 2.0)  # at least one autosave has run since
    unsaved = readings(topic_prefix, 300, 200)
    await publish(broker, unsaved)  # well inside one autosave interval ...
    broker.kill()  # ... then kill -9: whatever came after the last save is gone
    broker.start()
    restarted = time.monotonic()

    async with running_gateway(broker.url, influxdb, topic_prefix, influx_db, client_id=cid) as gw:
        await gw.until_committed(len(saved))
        await gw.settle(1.0)
        recovery = time.monotonic() - restarted
        held = await stored(influxdb, influx_db)
        lost = len(saved) + len(unsaved) - held
        report(
            record_property,
            "broker_kill9_offline",
            sent=len(saved) + len(unsaved),
            stored=held,
            lost=lost,
            bound=len(unsaved),
            recovery_s=round(recovery, 2),
        )
        assert len(saved) <= held <= len(saved) + len(unsaved)
        assert gw.committed == held, "each surviving message arrives once"

        # kill -9 while the gateway is connected: it notices, backs off, reconnects and
        # resubscribes by itself (even if the broker lost the session with its subscriptions).
        before = gw.connects
        live = readings(topic_prefix, 1_000, 100)
        await publish(broker, live)
        await gw.until_committed(held + len(live))
        broker.kill()
        async with asyncio.timeout(10):  # the gateway notices the dead connection
            while gw.gateway.source.subscribed.is_set():  # noqa: ASYNC110 - no 'lost' event
                await asyncio.sleep(0.05)
        broker.start()
        restarted = time.monotonic()
        async with asyncio.timeout(30):
            await gw.gateway.source.subscribed.wait()
        reconnect = time.monotonic() - restarted
        after = readings(topic_prefix, 2_000, 100)
        await publish(broker, after)
        await gw.until_committed(held + len(live) + len(after))
        assert gw.connects == before + 1
        # The restarted broker may redeliver live messages it had saved (at least once), which
        # count as commits too: wait for InfluxDB itself to hold everything.
        expected = held + len(live) + len(after)
        async with asyncio.timeout(30):
            while await stored(influxdb, influx_db) < expected:  # noqa: ASYNC110 - polling a DB
                await asyncio.sleep(0.1)
    total = await stored(influxdb, influx_db)
    report(
        record_property,
        "broker_kill9_online",
        sent=len(live) + len(after),
        stored=total - held,
        reconnect_s=round(reconnect, 2),
    )
    assert total == held + len(live) + len(after)


async def test_dropped_connection_reconnects_and_loses_nothing(
    make_mosquitto: Callable[..., Mosquitto],
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    broker = make_mosquitto()
    async with (
        TcpProxy(broker.host, broker.port) as proxy,
        running_gateway(
            f"mqtt://{proxy.host}:{proxy.port}",
            influxdb,
            topic_prefix,
            influx_db,
            client_id=new_client_id(),
        ) as gw,
    ):
        first = readings(topic_prefix, 0, 100)
        await publish(broker, first)
        await gw.until_committed(len(first))

        proxy.drop()  # connection reset, reconnects refused
        during = readings(topic_prefix, 100, 300)
        await publish(broker, during)  # straight to the broker, queued for the session
        await asyncio.sleep(2.0)
        assert not gw.gateway.source.subscribed.is_set()
        recovery, redelivered = await repair_and_count(
            gw, proxy, len(first) + len(during), influxdb, influx_db
        )
        assert gw.connects == 2
    held = await stored(influxdb, influx_db)
    report(
        record_property,
        "partition_drop",
        sent=len(first) + len(during),
        stored=held,
        redelivered=redelivered,
        recovery_s=round(recovery, 2),
    )
    assert held == len(first) + len(during)


@pytest.mark.slow
async def test_blackholed_partition_redelivers_what_vanished(
    make_mosquitto: Callable[..., Mosquitto],
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    """Bytes vanish both ways: the broker keeps sending into the hole (unacknowledged), the
    gateway hears nothing; after keepalive both give up, and on repair the session resends."""
    broker = make_mosquitto()
    keepalive = 5
    async with (
        TcpProxy(broker.host, broker.port) as proxy,
        running_gateway(
            f"mqtt://{proxy.host}:{proxy.port}",
            influxdb,
            topic_prefix,
            influx_db,
            client_id=new_client_id(),
            mqtt_keepalive_s=keepalive,
        ) as gw,
    ):
        first = readings(topic_prefix, 0, 100)
        await publish(broker, first)
        await gw.until_committed(len(first))

        proxy.blackhole()
        during = readings(topic_prefix, 100, 300)
        await publish(broker, during)
        await asyncio.sleep(2 * keepalive + 1)
        assert proxy.discarded_bytes > 0, "the broker sent into the hole"
        assert gw.committed == len(first), "nothing crossed the hole"
        assert not gw.gateway.source.subscribed.is_set(), "keepalive noticed the partition"
        recovery, redelivered = await repair_and_count(
            gw, proxy, len(first) + len(during), influxdb, influx_db
        )
    held = await stored(influxdb, influx_db)
    report(
        record_property,
        "partition_blackhole",
        sent=len(first) + len(during),
        stored=held,
        redelivered=redelivered,
        hole_s=2 * keepalive + 1,
        recovery_s=round(recovery, 2),
    )
    assert held == len(first) + len(during)
