"""The Gateway: MQTT in, InfluxDB out, acknowledged only after the commit.

One TaskGroup, two named tasks joined by a small queue of batches:

    consumer: receive messages → ingest (pure) → batch by size and time ──┐
    writer:   encode → write (retry while retryable) → sinks → ack  <─────┘

Sinks start before sources and sources stop first: `run` opens the InfluxDB writer, then the
MQTT source; `stop()` (SIGTERM/SIGINT) makes the consumer hand over what it holds and stop
taking messages; the writer commits and acknowledges the rest; then the source disconnects
and the writer closes. Messages not yet committed are not acknowledged, so the broker
redelivers them to the next session: nothing acknowledged is lost, and repeats overwrite
themselves in InfluxDB (same measurement, tags and device time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from domain import topics
from domain.duration import retention_seconds
from domain.measurement import Measurement, Rejection, RejectReason
from domain.ports import MeasurementSink, RejectionSink, StatusSink
from domain.site import Registry
from gateway.influx import InfluxError, InfluxWriter
from gateway.ingest import IngestPolicy, ingest, parse_status
from gateway.lineprotocol import encode_lines
from gateway.metrics import GatewayMetrics
from gateway.mqtt import Backoff, Message, MqttSource
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Batch:
    """Messages taken from the broker and what they became; committed and acked together."""

    messages: list[Message] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    statuses: list[tuple[str, bool, int]] = field(default_factory=list)
    started: float = 0.0


class Gateway:
    """Wires a source, the pure ingest and a writer; see the module docstring for the order."""

    def __init__(
        self,
        *,
        source: MqttSource,
        writer: InfluxWriter,
        registry: Registry,
        measurements: MeasurementSink,
        rejections: RejectionSink,
        statuses: StatusSink | None = None,
        policy: IngestPolicy | None = None,
        metrics: GatewayMetrics | None = None,
        batch_size: int = 5_000,
        batch_interval_s: float = 0.5,
        shutdown_grace_s: float = 10.0,
    ) -> None:
        self.source = source
        self.writer = writer
        self.registry = registry
        self.measurement_sink = measurements
        self.rejection_sink = rejections
        self.status_sink = statuses
        self.policy = policy or IngestPolicy()
        self.metrics = metrics or GatewayMetrics()
        self.batch_size = batch_size
        self.batch_interval_s = batch_interval_s
        self.shutdown_grace_s = shutdown_grace_s
        # Flush before the in-flight window fills, or the broker stops sending and only the
        # timer would move batches.
        self.max_messages = max(1, min(batch_size, source.receive_maximum // 2))
        self._stopping = asyncio.Event()
        self._batches: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=2)
        self._unacked = 0
        self.committed = 0
        """Messages committed and acknowledged so far (tests and benchmarks read it)."""

    def stop(self) -> None:
        """Begin a graceful stop: stop taking messages, commit what is held, disconnect."""
        self._stopping.set()
        self.source.interrupt()

    async def run(self) -> None:
        """Run until `stop()`."""
        async with self.writer, self.source, asyncio.TaskGroup() as tasks:
            tasks.create_task(self._consume(), name="consumer")
            tasks.create_task(self._write(), name="writer")

    # -- consumer -----------------------------------------------------------------------------
    async def _consume(self) -> None:
        batch = Batch()
        try:
            while not self._stopping.is_set():
                if batch.messages:
                    left = batch.started + self.batch_interval_s - time.monotonic()
                    timeout = min(max(left, 0.0), self.batch_interval_s)
                else:
                    timeout = self.batch_interval_s
                try:
                    async with asyncio.timeout(timeout):
                        messages = await self.source.receive(
                            self.max_messages - len(batch.messages)
                        )
                except TimeoutError:
                    messages = []
                if messages:
                    if not batch.messages:
                        batch.started = time.monotonic()
                    self._take(batch, messages)
                full = (
                    len(batch.messages) >= self.max_messages
                    or len(batch.measurements) >= self.batch_size
                )
                due = batch.messages and time.monotonic() - batch.started >= self.batch_interval_s
                if full or due:
                    await self._hand_over(batch)
                    batch = Batch()
        finally:
            if batch.messages:
                await self._hand_over(batch)
            await self._batches.put(None)

    async def _hand_over(self, batch: Batch) -> None:
        self._unacked += len(batch.messages)
        self.metrics.queue_depth.set(self._unacked + self.source.pending)
        await self._batches.put(batch)

    def _take(self, batch: Batch, messages: list[Message]) -> None:
        """Turn messages into measurements, rejections and statuses (pure, never raises)."""
        registry, policy, prefix = self.registry, self.policy, self.policy.prefix
        telemetry = 0
        for m in messages:
            batch.messages.append(m)
            if m.topic.endswith("/" + topics.STATUS):
                self._status(batch, m, prefix)
                continue
            telemetry += 1
            outcome = ingest(m.topic, m.payload, registry, m.received_ns, policy)
            batch.measurements.extend(outcome.measurements)
            batch.rejections.extend(outcome.rejections)
        self.metrics.messages.labels(topics.TELEMETRY).inc(telemetry)
        self.metrics.messages.labels(topics.STATUS).inc(len(messages) - telemetry)

    def _status(self, batch: Batch, m: Message, prefix: str) -> None:
        parsed = topics.parse(m.topic, prefix)
        if parsed is None:
            return  # not ours: our subscriptions cannot deliver it

        def reject(reason: RejectReason, detail: str) -> None:
            head = m.payload[:200].decode("utf-8", "replace")
            batch.rejections.append(
                Rejection(reason, m.topic, m.received_ns, detail, parsed.sensor, head)
            )

        placement = self.registry.get(parsed.sensor)
        online = parse_status(m.payload)
        if placement is None:
            reject(RejectReason.UNKNOWN_SENSOR, f"status of unknown sensor {parsed.sensor!r}")
        elif placement.sensor.kind != parsed.kind:
            reject(
                RejectReason.KIND_MISMATCH,
                f"sensor is {placement.sensor.kind}, not {parsed.kind!r}",
            )
        elif online is None:
            reject(RejectReason.MALFORMED, "status must be 'online' or 'offline'")
        else:
            batch.statuses.append((parsed.sensor, online, m.received_ns))

    # -- writer -------------------------------------------------------------------------------
    async def _write(self) -> None:
        while (batch := await self._batches.get()) is not None:
            if await self._store(batch):
                # Sinks (rules, rejection store) see the batch before the broker forgets it:
                # a crash in between redelivers, and the rule engine ignores what it has seen.
                await self._deliver(batch)
                self.source.ack(batch.messages)
                self.committed += len(batch.messages)
            self._unacked -= len(batch.messages)
            self.metrics.queue_depth.set(self._unacked + self.source.pending)

    async def _store(self, batch: Batch) -> bool:
        """Write until stored; False when stopping and InfluxDB stays unreachable past the
        grace period (then nothing is acked and the broker keeps the messages)."""
        lines = encode_lines(batch.measurements)
        if not lines:
            return True
        backoff = Backoff(base=0.2, cap=10.0)
        deadline: float | None = None
        while True:
            started = time.monotonic()
            try:
                result = await self.writer.write(lines)
            except InfluxError as e:
                kind = type(e).__name__
                self.metrics.writes.labels("error", kind).inc()
                if self._stopping.is_set():
                    deadline = deadline or time.monotonic() + self.shutdown_grace_s
                    if time.monotonic() >= deadline:
                        log.error("giving up %d lines at shutdown, unacked: %s", len(lines), e)
                        return False
                delay = backoff.next()
                level = logging.WARNING if e.retryable else logging.ERROR
                log.log(level, "InfluxDB write failed (%s), retrying in %.1f s: %s", kind, delay, e)
                await asyncio.sleep(delay)
                continue
            self.metrics.write_seconds.observe(time.monotonic() - started)
            self.metrics.batch_size.observe(len(lines))
            self.metrics.readings_stored.inc(result.written)
            if result.partial:
                refused = len(result.refused) + result.refused_unknown
                self.metrics.writes.labels("partial", "").inc()
                self.metrics.points_refused.inc(refused)
                log.warning(
                    "InfluxDB refused %d of %d lines (not retried): %s; first refused: %r",
                    refused, len(lines), "; ".join(result.messages)[:500], result.refused[:3],
                )  # fmt: skip
            else:
                self.metrics.writes.labels("ok", "").inc()
            return True

    async def _deliver(self, batch: Batch) -> None:
        """Hand the committed batch on; a failing sink is logged and counted, never fatal."""
        for reason, n in _count(batch.rejections).items():
            self.metrics.rejections.labels(reason).inc(n)
        if batch.measurements:
            await self._guard("measurements", self.measurement_sink.accept(batch.measurements))
        if batch.rejections:
            await self._guard("rejections", self.rejection_sink.record(batch.rejections))
        if batch.statuses and self.status_sink is not None:
            for sensor, online, at_ns in batch.statuses:
                await self._guard("statuses", self.status_sink.status(sensor, online, at_ns))

    async def _guard(self, sink: str, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:
            self.metrics.sink_errors.labels(sink).inc()
            log.exception("the %s sink failed; the data is stored in InfluxDB", sink)


def _count(rejections: Sequence[Rejection]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rejections:
        counts[r.reason.value] = counts.get(r.reason.value, 0) + 1
    return counts


def build_gateway(
    settings: GatewaySettings,
    registry: Registry,
    *,
    measurements: MeasurementSink,
    rejections: RejectionSink,
    statuses: StatusSink | None = None,
    metrics: GatewayMetrics | None = None,
) -> Gateway:
    """A Gateway with its adapters made from settings (the sinks come from the caller)."""
    metrics = metrics or GatewayMetrics()
    endpoint = settings.mqtt
    source = MqttSource(
        endpoint.host,
        endpoint.port,
        subscriptions=topics.subscriptions(settings.topic_prefix),
        client_id=settings.mqtt_client_id,
        username=endpoint.username,
        password=endpoint.password,
        session_expiry_s=settings.mqtt_session_expiry_s,
        receive_maximum=settings.mqtt_receive_maximum,
        keepalive_s=settings.mqtt_keepalive_s,
        metrics=metrics,
    )
    writer = InfluxWriter(
        settings.influx_url,
        db=settings.influx_db,
        rp=settings.influx_rp,
        retention=settings.influx_raw_retention,
        api=settings.influx_api,
        org=settings.influx_org,
        bucket=settings.influx_bucket,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        user=settings.influx_user,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
        timeout=settings.influx_timeout_s,
    )
    return Gateway(
        source=source,
        writer=writer,
        registry=registry,
        measurements=measurements,
        rejections=rejections,
        statuses=statuses,
        policy=IngestPolicy(
            prefix=settings.topic_prefix,
            retention_ns=_ns(retention_seconds(settings.influx_raw_retention)),
        ),
        metrics=metrics,
        batch_size=settings.batch_size,
        batch_interval_s=settings.batch_interval_s,
    )


def _ns(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1_000_000_000
