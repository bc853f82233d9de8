"""The Gateway service without a broker or an InfluxDB: a FakeSource for MQTT and a FakeInflux
behind httpx's MockTransport for the writer (both gateway/testing.py), the real Batcher,
Committer, spool and ingest. What is checked is what the delivery promise says: batches by
size and by time, nothing acknowledged before InfluxDB (or the spool) holds it and the sinks
saw it, the spool through an outage, and a graceful stop that commits what arrived."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.influx.writer import InfluxWriter
from domain.measurement import Measurement, RejectReason
from gateway.batcher import BROKER_DROPPED, Batcher
from gateway.committer import Committer
from gateway.front import Sinks
from gateway.health import Status
from gateway.ingest import IngestPolicy
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway
from gateway.spool import FullPolicy, Spool
from gateway.testing import (
    FakeInflux,
    FakeSource,
    MemoryMeasurementSink,
    MemoryRejectionSink,
    MemoryStatusSink,
)
from tests.gateway.ingest_site import POND, registry

STATUS = "sensors/pond/pond-qp-01/status"


def reading(i: int) -> bytes:
    """Reading i of the pond sensor, one second apart, in the last hour."""
    ts = int(time.time()) - 3600 + i
    return json.dumps({"ts": ts, "seq": i, "values": {"do": 5.0, "ph": 7.0}}).encode()


class Rig:
    """A gateway on fakes, with what it was given kept for the assertions."""

    def __init__(
        self,
        *,
        spool: Spool | None = None,
        batch_size: int = 1_000,
        batch_interval_s: float = 0.05,
        measurements: object | None = None,
        grace_s: float = 0.3,
        receive_maximum: int = 10_000,
    ) -> None:
        self.source = FakeSource(receive_maximum=receive_maximum)
        self.influx = FakeInflux(log=self.source.log)
        self.measurements = MemoryMeasurementSink()
        self.rejections = MemoryRejectionSink()
        self.statuses = MemoryStatusSink()
        metrics = GatewayMetrics()
        batcher = Batcher(
            self.source,
            registry(),
            policy=IngestPolicy(prefix="sensors"),
            metrics=metrics,
            batch_size=batch_size,
            batch_interval_s=batch_interval_s,
        )
        writer = InfluxWriter("http://influx.test", transport=self.influx.transport, timeout=1.0)
        committer = Committer(
            writer, metrics=metrics, spool=spool, retry_budget_s=0.2, shutdown_grace_s=grace_s
        )
        sink = measurements if measurements is not None else self.measurements
        self.gateway = Gateway(
            batcher,
            committer,
            Sinks(sink, self.rejections, self.statuses),  # type: ignore[arg-type]
        )

    def deliver(self, start: int, n: int) -> None:
        for i in range(start, start + n):
            self.source.deliver(POND, reading(i))

    def sample(self, name: str, **labels: str) -> float:
        return self.gateway.metrics.registry.get_sample_value(name, labels) or 0.0


async def until(what: str, check: Callable[[], bool], limit_s: float = 10.0) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not check():  # noqa: ASYNC110 - polling the fakes' plain lists
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@asynccontextmanager
async def running(rig: Rig) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(rig.gateway.run(), name="gateway")
    try:
        async with asyncio.timeout(5):
            await rig.gateway.wait_ready()
        yield task
    finally:
        rig.gateway.stop()
        async with asyncio.timeout(15):
            await task


async def test_a_batch_closes_when_it_holds_batch_size_readings() -> None:
    rig = Rig(batch_size=10, batch_interval_s=30.0)
    async with running(rig):
        rig.deliver(0, 25)
        await until("two full batches", lambda: len(rig.influx.writes) == 2)
        assert [len(w) for w in rig.influx.writes] == [10, 10]
        assert len(rig.source.acked) == 20, "the five of the open batch wait for their window"
    assert [len(w) for w in rig.influx.writes] == [10, 10, 5], "the stop commits the rest"
    assert len(rig.source.acked) == 25


async def test_a_batch_closes_when_its_window_ends() -> None:
    rig = Rig(batch_size=1_000, batch_interval_s=0.05)
    async with running(rig):
        rig.deliver(0, 3)
        await until("the window's write", lambda: len(rig.source.acked) == 3)
        assert [len(w) for w in rig.influx.writes] == [3]
        assert len(rig.measurements.measurements) == 3


async def test_nothing_is_acknowledged_before_influx_stored_it_and_the_sinks_saw_it() -> None:
    acked_when_sink_saw: list[int] = []

    class Watching:
        async def accept(self, measurements: Sequence[Measurement]) -> None:
            acked_when_sink_saw.append(len(rig.source.acked))

    rig = Rig(measurements=Watching())
    rig.influx.hold.clear()  # InfluxDB takes the request and does not answer yet
    async with running(rig):
        rig.deliver(0, 5)
        await until("the write in flight", lambda: rig.influx.attempts == 1)
        await asyncio.sleep(0.2)
        assert rig.source.acked == []
        assert acked_when_sink_saw == []
        assert rig.gateway.unacked == 5
        rig.influx.hold.set()
        await until("the ack", lambda: len(rig.source.acked) == 5)
    assert acked_when_sink_saw == [0], "the sinks saw the batch before the broker was told"
    assert rig.gateway.committed == 5
    assert rig.gateway.unacked == 0


async def test_an_influx_outage_spools_acknowledges_and_drains_when_it_returns(
    tmp_path: Path,
) -> None:
    rig = Rig(spool=Spool(tmp_path / "spool.sqlite"))
    gw = rig.gateway
    async with running(rig):
        rig.influx.up = False
        rig.deliver(0, 10)
        await until("spooled and acked", lambda: gw.committed == 10)
        assert gw.spool is not None
        assert gw.spool.depth == 10
        assert not gw.influx_up
        assert gw.health().status is Status.DEGRADED
        assert rig.influx.lines == []
        rig.deliver(10, 10)  # straight to the spool now: no retry budget spent per batch
        await until("20 acked", lambda: gw.committed == 20)
        assert rig.sample("gridwatch_gateway_spooled_readings_total") == 20
        rig.influx.up = True
        await until("drained", lambda: gw.spool is not None and gw.spool.depth == 0)
        await until("live again", lambda: gw.influx_up)
        rig.deliver(20, 5)
        await until("25 acked", lambda: gw.committed == 25)
    assert len(rig.influx.lines) == 25
    assert len(set(rig.influx.lines)) == 25
    assert rig.sample("gridwatch_gateway_drained_readings_total") == 20
    assert len(rig.source.acked) == 25


async def test_a_graceful_stop_commits_what_is_still_in_the_inbox() -> None:
    rig = Rig(batch_size=1_000, batch_interval_s=30.0)
    task = asyncio.create_task(rig.gateway.run())
    await rig.gateway.wait_ready()
    rig.deliver(0, 1)  # opens a batch, whose window is long
    await until("taken", lambda: rig.source.pending == 0)
    rig.deliver(1, 9)  # below the wake-up chunk: they wait in the inbox
    await asyncio.sleep(0.05)
    assert rig.source.pending == 9
    rig.gateway.stop()
    async with asyncio.timeout(10):
        await task
    assert len(rig.influx.lines) == 10
    assert len(rig.source.acked) == 10
    assert rig.source.log == ["connect", "write", "disconnect"], "write, then disconnect"


async def test_without_a_spool_a_stop_while_influx_is_down_acknowledges_nothing() -> None:
    rig = Rig(grace_s=0.2)
    async with running(rig):
        rig.influx.up = False
        rig.deliver(0, 5)
        await until("a failed write", lambda: rig.influx.attempts >= 1)
    assert rig.source.acked == [], "the broker keeps the messages for the next session"
    assert rig.gateway.committed == 0


async def test_a_full_spool_that_refuses_holds_the_batch_unacknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_lines=5, policy=FullPolicy.REFUSE)
    rig = Rig(spool=spool)
    gw = rig.gateway
    async with running(rig):
        rig.influx.up = False
        rig.deliver(0, 5)
        await until("5 spooled", lambda: gw.committed == 5)
        rig.deliver(5, 5)
        await until("refused", lambda: gw.health().status is Status.FAILING)
        await asyncio.sleep(0.2)
        assert gw.committed == 5, "nothing past the limit is acknowledged"
        assert any("spool is full" in p for p in gw.health().problems)
        assert rig.sample("gridwatch_gateway_spool_refused_readings_total") == 5
        rig.influx.up = True
        await until("all stored", lambda: gw.committed == 10)
    assert sorted(rig.influx.lines) == sorted(set(rig.influx.lines))
    assert len(rig.influx.lines) == 10


async def test_a_full_spool_that_drops_oldest_counts_the_loss(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_lines=5, policy=FullPolicy.DROP_OLDEST)
    rig = Rig(spool=spool)
    async with running(rig):
        rig.influx.up = False
        rig.deliver(0, 5)
        await until("5 acked", lambda: rig.gateway.committed == 5)
        rig.deliver(5, 5)
        await until("10 acked", lambda: rig.gateway.committed == 10)
        assert rig.sample("gridwatch_gateway_spool_dropped_readings_total") == 5
        assert rig.gateway.health().status is Status.FAILING


async def test_broker_statistics_are_read_and_acknowledged_at_once() -> None:
    rig = Rig(batch_interval_s=30.0)
    async with running(rig):
        rig.source.deliver(BROKER_DROPPED, b"17")
        await until("acked", lambda: len(rig.source.acked) == 1)
        assert rig.gateway.facts().broker_dropped == 17
        assert rig.influx.writes == []
    assert rig.gateway.committed == 0, "not a reading"


async def test_statuses_and_rejections_reach_their_sinks_after_the_commit() -> None:
    rig = Rig()
    async with running(rig):
        rig.source.deliver(STATUS, b"offline")
        rig.source.deliver(POND, b"{not json")
        rig.deliver(0, 1)
        await until("three acked", lambda: len(rig.source.acked) == 3)
    assert rig.statuses.latest == {"pond-qp-01": False}
    assert rig.rejections.counts == {RejectReason.MALFORMED: 1}
    assert len(rig.influx.lines) == 1
    assert rig.sample("gridwatch_gateway_rejections_total", reason="malformed") == 1


async def test_a_failing_sink_is_counted_and_the_stored_batch_still_acknowledged() -> None:
    class Broken:
        async def accept(self, measurements: Sequence[Measurement]) -> None:
            raise RuntimeError("the rules are down")

    rig = Rig(measurements=Broken())
    async with running(rig):
        rig.deliver(0, 4)
        await until("acked", lambda: len(rig.source.acked) == 4)
    assert rig.sample("gridwatch_gateway_sink_errors_total", sink="measurements") == 1
    assert len(rig.influx.lines) == 4


async def test_a_batch_is_handed_over_at_half_the_in_flight_window() -> None:
    rig = Rig(batch_size=1_000, batch_interval_s=30.0, receive_maximum=20)
    async with running(rig):
        rig.deliver(0, 10)  # acks come only after the commit: waiting for more would stall
        await until("half a window committed", lambda: len(rig.source.acked) == 10)
        assert [len(w) for w in rig.influx.writes] == [10]
