"""The Gateway: MQTT in, InfluxDB (or the disk spool) out, acknowledged only after the commit.

Three parts, wired here in one TaskGroup with named tasks:

    batcher:   source → ingest (pure) → batches by size and time   (gateway/batcher.py)
    committer: encode → commit → sinks → ack                      (gateway/committer.py)
    drainer:   spool → InfluxDB in large batches, oldest first    (gateway/committer.py)

Commit means durable: written to InfluxDB, or — when InfluxDB stays down, slow or frozen past
a short retry budget — appended to the fsync'd spool (gateway/spool.py). After one spooled
batch, live batches go straight to the spool (no budget spent per batch) until the drainer's
next successful write shows InfluxDB is back; the drainer runs beside live traffic. So live
ingest never stalls on InfluxDB and the broker's queue does not fill during an outage. A full
spool with policy `refuse` holds the batch unacknowledged (retrying) — backpressure: the
in-flight window fills and the broker keeps the rest; `drop_oldest` deletes the oldest
spooled readings, counted.

The order per batch: commit → sinks (rules, rejection store) → ack. A crash anywhere before
the ack means redelivery; InfluxDB overwrites the repeat and the rule engine ignores readings
not newer than what it has evaluated.

Sinks start before sources and sources stop first: `run` opens the InfluxDB writer (the
committer), then the message source; `stop()` (SIGTERM/SIGINT) makes the batcher hand over what
it holds and stop taking messages; the committer commits and acknowledges the rest; then the
source disconnects and the writer closes. Messages not yet committed are not acknowledged, so
the broker redelivers them to the next session: nothing acknowledged is lost, and repeats
overwrite themselves in InfluxDB (same measurement, tags and device time). What the spool
holds at a stop or a crash is drained by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence

from prometheus_client import CollectorRegistry

from adapters.influx.lineprotocol import encode_lines
from adapters.influx.writer import InfluxWriter
from domain import topics
from domain.measurement import Rejection
from domain.settings import Settings
from domain.site import Registry
from gateway.batcher import BROKER_DROPPED, Batch, Batcher
from gateway.committer import Committer
from gateway.front import Sinks
from gateway.health import Facts, Health, assess
from gateway.ingest import IngestPolicy
from gateway.metrics import GatewayMetrics
from gateway.mqttsession import MqttSession
from gateway.source import MessageSource
from gateway.spool import Spool

log = logging.getLogger(__name__)


class Gateway:
    """Batches from `batcher`, made durable by `committer`, handed to `sinks`, then acked."""

    def __init__(
        self,
        batcher: Batcher,
        committer: Committer,
        sinks: Sinks,
        *,
        stale_after_s: float = 300.0,
    ) -> None:
        self.batcher = batcher
        self.committer = committer
        self.sinks = sinks
        self.source: MessageSource = batcher.source
        self.metrics: GatewayMetrics = batcher.metrics
        self.stale_after_s = stale_after_s
        self.committed = 0
        """Messages committed and acknowledged so far (tests and benchmarks read it)."""
        self._wire_gauges()

    # -- what the parts know, for tests and health ----------------------------------------------
    @property
    def spool(self) -> Spool | None:
        return self.committer.spool

    @property
    def influx_up(self) -> bool:
        return self.committer.influx_up

    @property
    def unacked(self) -> int:
        """Messages taken into batches and not yet acknowledged (or given back)."""
        return self.batcher.unacked

    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self.metrics.registry

    # -- lifecycle ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Begin a graceful stop: stop taking messages, commit what is held, disconnect."""
        self.batcher.stop()
        self.committer.stop()

    async def wait_ready(self) -> None:
        """Until the source holds its subscriptions."""
        await self.source.subscribed.wait()

    async def run(self) -> None:
        """Run until `stop()`."""
        async with self.committer, self.source, asyncio.TaskGroup() as tasks:
            tasks.create_task(self.batcher.run(), name="batcher")
            tasks.create_task(self._commit(), name="committer")
            if self.committer.spool is not None:
                tasks.create_task(self.committer.drain(), name="drainer")

    async def _commit(self) -> None:
        while (batch := await self.batcher.next()) is not None:
            if await self.committer.commit(encode_lines(batch.measurements)):
                # Sinks (rules, rejection store) see the batch before the broker forgets it:
                # a crash in between redelivers, and the rule engine ignores what it has seen.
                await self._deliver(batch)
                self.source.ack(batch.messages)
                self.committed += len(batch.messages)
            self.batcher.settled(batch)

    async def _deliver(self, batch: Batch) -> None:
        """Hand the committed batch on; a failing sink is logged and counted, never fatal."""
        for reason, n in _count(batch.rejections).items():
            self.metrics.rejections.labels(reason).inc(n)
        sinks = self.sinks
        if batch.measurements:
            await self._guard("measurements", sinks.measurements.accept(batch.measurements))
        if batch.rejections:
            await self._guard("rejections", sinks.rejections.record(batch.rejections))
        if batch.statuses and sinks.statuses is not None:
            for sensor, online, at_ns in batch.statuses:
                await self._guard("statuses", sinks.statuses.status(sensor, online, at_ns))

    async def _guard(self, sink: str, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:
            self.metrics.sink_errors.labels(sink).inc()
            log.exception("the %s sink failed; the data is stored in InfluxDB", sink)

    # -- health ---------------------------------------------------------------------------------
    def health(self) -> Health:
        """What is wrong right now, if anything (JSON: `gateway.health().as_dict()`)."""
        return assess(self.facts(), stale_after_s=self.stale_after_s)

    def facts(self) -> Facts:
        """What the source, the batcher and the committer know right now."""
        c = self.committer
        spool = c.spool
        return Facts(
            broker_connected=self.source.subscribed.is_set(),
            session_persistent=self.source.session_persistent,
            influx_up=c.influx_up,
            spool_enabled=spool is not None,
            spool_depth=spool.depth if spool is not None else 0,
            spool_oldest_age_s=_age(spool.oldest_ns() if spool is not None else None),
            spool_full=c.spool_full,
            spool_dropped=c.spool_dropped,
            spool_refused=c.spool_refused,
            spool_dropped_total=spool.counter("dropped") if spool is not None else 0,
            dead_letters=c.dead_letters,
            dead_letters_total=spool.counter("dead_letters") if spool is not None else 0,
            write_errors=dict(c.write_errors),
            last_reading_age_s=_age(self.batcher.last_reading_ns),
            broker_dropped=self.batcher.broker_dropped,
            registry_version=self.batcher.registry.version,
        )

    def _wire_gauges(self) -> None:
        """Gauges computed when Prometheus scrapes, from the same state `health()` reads."""
        m, c, b = self.metrics, self.committer, self.batcher
        m.broker_connected.set_function(lambda: float(self.source.subscribed.is_set()))
        m.registry_version.set_function(lambda: float(b.registry.version))
        m.session_persistent.set_function(
            lambda: float(self.source.session_persistent is not False)
        )
        m.influx_up.set_function(lambda: float(c.influx_up))
        m.spool_depth.set_function(lambda: float(c.spool.depth if c.spool else 0))
        m.spool_oldest_age.set_function(
            lambda: _age(c.spool.oldest_ns() if c.spool else None) or 0.0
        )
        m.spool_full.set_function(lambda: float(c.spool_full))
        m.broker_dropped.set_function(
            lambda: -1.0 if b.broker_dropped is None else float(b.broker_dropped)
        )
        m.last_reading_age.set_function(lambda: _age(b.last_reading_ns) or -1.0)
        m.health.set_function(lambda: float(self.health().status))


def _age(at_ns: int | None) -> float | None:
    return None if at_ns is None else max(time.time_ns() - at_ns, 0) / 1e9


def _count(rejections: Sequence[Rejection]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rejections:
        counts[r.reason.value] = counts.get(r.reason.value, 0) + 1
    return counts


def build_gateway(
    settings: Settings,
    registry: Registry,
    sinks: Sinks,
    *,
    metrics: GatewayMetrics | None = None,
    subscriptions: Sequence[str] | None = None,
) -> Gateway:
    """A Gateway with its adapters made from settings (the sinks come from the caller);
    `subscriptions` replaces the device topic filters (a worker's `$share/...` ones)."""
    metrics = metrics or GatewayMetrics()
    endpoint = settings.mqtt.endpoint
    source = MqttSession(
        endpoint.host,
        endpoint.port,
        subscriptions=[
            *(subscriptions or topics.subscriptions(settings.topic_prefix)),
            *([BROKER_DROPPED] if settings.gateway.broker_stats else []),
        ],
        client_id=settings.mqtt.client_id,
        username=endpoint.username,
        password=endpoint.password,
        session_expiry_s=settings.mqtt.session_expiry_s,
        receive_maximum=settings.mqtt.receive_maximum,
        keepalive_s=settings.mqtt.keepalive_s,
        metrics=metrics,
    )
    batcher = Batcher(
        source,
        registry,
        policy=IngestPolicy(
            prefix=settings.topic_prefix,
            retention_ns=_ns(settings.influx.raw_retention.seconds),
        ),
        metrics=metrics,
        batch_size=settings.batch.size,
        batch_interval_s=settings.batch.interval_s,
    )
    committer = build_committer(settings, metrics)
    return Gateway(batcher, committer, sinks, stale_after_s=settings.gateway.stale_after_s)


def build_committer(settings: Settings, metrics: GatewayMetrics) -> Committer:
    """The InfluxDB writer and the spool the settings name, behind one Committer."""
    influx = settings.influx
    writer = InfluxWriter(
        influx.url_or_default,
        db=influx.db,
        rp=influx.rp,
        retention=influx.raw_retention,
        api=influx.api,
        org=influx.org,
        bucket=influx.bucket,
        token=influx.token_value,
        user=influx.user,
        password=influx.password_value,
        timeout=influx.timeout_s,
    )
    path = settings.spool_file
    spool = (
        None
        if path is None
        else Spool(path, max_lines=settings.spool.max_readings, policy=settings.spool.full_policy)
    )
    return Committer(
        writer,
        metrics=metrics,
        spool=spool,
        retry_budget_s=settings.influx.retry_budget_s,
        drain_batch=settings.spool.drain_batch,
    )


def _ns(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1_000_000_000
