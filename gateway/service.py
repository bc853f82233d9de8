"""The Gateway: MQTT in, InfluxDB (or the disk spool) out, acknowledged only after the commit.

One TaskGroup, three named tasks; the first two are joined by a small queue of batches:

    consumer: receive messages → ingest (pure) → batch by size and time ──┐
    writer:   encode → commit → sinks → ack  <────────────────────────────┘
    drainer:  spool → InfluxDB in large batches, oldest first

Commit means durable: written to InfluxDB, or — when InfluxDB stays down, slow or frozen past
a short retry budget — appended to the fsync'd spool (gateway/spool.py). After one spooled
batch, live batches go straight to the spool (no budget spent per batch) until the drainer's
next successful write shows InfluxDB is back; the drainer runs beside live traffic. So live
ingest never stalls on InfluxDB and the broker's queue does not fill during an outage. A full
spool with policy `refuse` holds the batch unacknowledged (retrying) — backpressure: the
in-flight window fills and the broker keeps the rest; `drop_oldest` deletes the oldest
spooled readings, counted.

Sinks start before sources and sources stop first: `run` opens the InfluxDB writer, then the
MQTT source; `stop()` (SIGTERM/SIGINT) makes the consumer hand over what it holds and stop
taking messages; the writer commits and acknowledges the rest; then the source disconnects
and the writer closes. Messages not yet committed are not acknowledged, so the broker
redelivers them to the next session: nothing acknowledged is lost, and repeats overwrite
themselves in InfluxDB (same measurement, tags and device time). What the spool holds at a
stop or a crash is drained by the next start.
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
from gateway.health import Facts, Health, assess
from gateway.influx import InfluxError, InfluxWriter, WriteResult
from gateway.ingest import IngestPolicy, ingest, parse_status
from gateway.lineprotocol import encode_lines
from gateway.metrics import GatewayMetrics
from gateway.mqtt import Backoff, Message, MqttSource
from gateway.settings import GatewaySettings
from gateway.spool import Spool, Spooled

BROKER_DROPPED = "$SYS/broker/publish/messages/dropped"
DRAIN_WRITES = 2
"""Drain writes in flight at once."""

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Batch:
    """Messages taken from the broker and what they became; committed and acked together."""

    messages: list[Message] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    statuses: list[tuple[str, bool, int]] = field(default_factory=list)
    started: float = 0.0


WAKE_CHUNK = 256
"""Messages the consumer lets gather before it takes them into a batch that is under way."""


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
        batch_interval_s: float = 0.25,
        shutdown_grace_s: float = 10.0,
        spool: Spool | None = None,
        retry_budget_s: float = 5.0,
        drain_batch: int = 50_000,
        stale_after_s: float = 300.0,
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
        self.spool = spool
        self.retry_budget_s = retry_budget_s
        self.drain_batch = drain_batch
        self.stale_after_s = stale_after_s
        self.influx_up = True
        """False after a live batch went to the spool, until the drainer writes again."""
        self.last_reading_ns: int | None = None
        self.broker_dropped: int | None = None
        self._spooled = asyncio.Event()
        self._write_errors: dict[str, int] = {}
        self._dead_letters = 0
        self._spool_dropped = 0
        self._spool_refused = 0
        self._spool_full = False
        self._wire_gauges()

    def stop(self) -> None:
        """Begin a graceful stop: stop taking messages, commit what is held, disconnect."""
        self._stopping.set()
        self.source.interrupt()

    async def run(self) -> None:
        """Run until `stop()`."""
        try:
            async with self.writer, self.source, asyncio.TaskGroup() as tasks:
                tasks.create_task(self._consume(), name="consumer")
                tasks.create_task(self._write(), name="writer")
                if self.spool is not None:
                    tasks.create_task(self._drain(self.spool), name="drainer")
        finally:
            if self.spool is not None:
                self.spool.close()

    # -- health -------------------------------------------------------------------------------
    def health(self) -> Health:
        """What is wrong right now, if anything (JSON: `gateway.health().as_dict()`)."""
        spool = self.spool
        oldest = spool.oldest_ns() if spool is not None else None
        persistent = getattr(self.source, "session_persistent", None)
        return assess(
            Facts(
                broker_connected=self.source.subscribed.is_set(),
                session_persistent=persistent if isinstance(persistent, bool) else None,
                influx_up=self.influx_up,
                spool_enabled=spool is not None,
                spool_depth=spool.depth if spool is not None else 0,
                spool_oldest_age_s=_age(oldest),
                spool_full=self._spool_full,
                spool_dropped=self._spool_dropped,
                spool_refused=self._spool_refused,
                spool_dropped_total=spool.counter("dropped") if spool is not None else 0,
                dead_letters=self._dead_letters,
                dead_letters_total=spool.counter("dead_letters") if spool is not None else 0,
                write_errors=dict(self._write_errors),
                last_reading_age_s=_age(self.last_reading_ns),
                broker_dropped=self.broker_dropped,
            ),
            stale_after_s=self.stale_after_s,
        )

    def _wire_gauges(self) -> None:
        """Gauges computed when Prometheus scrapes, from the same state `health()` reads."""
        m = self.metrics
        m.broker_connected.set_function(lambda: float(self.source.subscribed.is_set()))
        m.session_persistent.set_function(
            lambda: float(getattr(self.source, "session_persistent", None) is not False)
        )
        m.influx_up.set_function(lambda: float(self.influx_up))
        m.spool_depth.set_function(lambda: float(self.spool.depth if self.spool else 0))
        m.spool_oldest_age.set_function(
            lambda: _age(self.spool.oldest_ns() if self.spool else None) or 0.0
        )
        m.spool_full.set_function(lambda: float(self._spool_full))
        m.broker_dropped.set_function(
            lambda: -1.0 if self.broker_dropped is None else float(self.broker_dropped)
        )
        m.last_reading_age.set_function(lambda: _age(self.last_reading_ns) or -1.0)
        m.health.set_function(lambda: float(self.health().status))

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
                need = self.max_messages - len(batch.messages)
                try:
                    async with asyncio.timeout(timeout):
                        # The first message starts the batch's clock; after it, wake up per
                        # chunk (or when the window ends) instead of per message.
                        messages = await self.source.receive(
                            need, min(need, WAKE_CHUNK) if batch.messages else 1
                        )
                except TimeoutError:
                    messages = self.source.take(need)
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
            # A graceful stop commits what already arrived, taken or still in the inbox.
            rest = self.source.take(self.max_messages - len(batch.messages))
            if rest:
                self._take(batch, rest)
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
        telemetry = broker = 0
        good = len(batch.measurements)
        for m in messages:
            if m.topic.startswith("$SYS/"):  # broker statistics: read, acked, not readings
                broker += 1
                if m.topic == BROKER_DROPPED and m.payload.strip().isdigit():
                    self.broker_dropped = int(m.payload)
                self.source.ack([m])
                continue
            batch.messages.append(m)
            if m.topic.endswith("/" + topics.STATUS):
                self._status(batch, m, prefix)
                continue
            telemetry += 1
            outcome = ingest(m.topic, m.payload, registry, m.received_ns, policy)
            batch.measurements.extend(outcome.measurements)
            batch.rejections.extend(outcome.rejections)
        if len(batch.measurements) > good:
            self.last_reading_ns = time.time_ns()
        self.metrics.messages.labels(topics.TELEMETRY).inc(telemetry)
        self.metrics.messages.labels(topics.STATUS).inc(len(messages) - telemetry - broker)

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
            if await self._commit(encode_lines(batch.measurements)):
                # Sinks (rules, rejection store) see the batch before the broker forgets it:
                # a crash in between redelivers, and the rule engine ignores what it has seen.
                await self._deliver(batch)
                self.source.ack(batch.messages)
                self.committed += len(batch.messages)
            self._unacked -= len(batch.messages)
            self.metrics.queue_depth.set(self._unacked + self.source.pending)

    async def _commit(self, lines: list[str]) -> bool:
        """Make the lines durable: InfluxDB within the retry budget, else the spool; without a
        spool, retry until stored. False only when stopping and nothing would take them within
        the grace period (then nothing is acked and the broker keeps the messages)."""
        if not lines:
            return True
        spool = self.spool
        if spool is None:
            return await self._store_until_stopped(lines)
        backoff = Backoff(base=0.2, cap=5.0)
        deadline: float | None = None
        refused = False
        while True:
            if self.influx_up:
                if await self._write_live(lines):
                    self._spool_full = False
                    return True
                self.influx_up = False
                log.warning("InfluxDB unavailable: spooling readings until it is back")
            if spool.fits(len(lines)):
                result = await asyncio.to_thread(spool.append, lines)
                if result.stored:
                    self._spool_full = spool.full
                    self.metrics.spooled.inc(len(lines))
                    if result.dropped:
                        self._spool_dropped += result.dropped
                        self.metrics.spool_dropped.inc(result.dropped)
                        log.error(
                            "spool full: dropped the %d oldest spooled readings (policy "
                            "drop_oldest)", result.dropped,
                        )  # fmt: skip
                    self._spooled.set()
                    return True
            self._spool_full = True
            if not refused:  # count a refused batch once, however long it waits
                refused = True
                self._spool_refused += len(lines)
                self.metrics.spool_refused.inc(len(lines))
                await asyncio.to_thread(spool.note_refused, len(lines))
                log.error(
                    "spool full (%d readings): holding %d readings unacknowledged (policy "
                    "refuse); the broker keeps the rest", spool.depth, len(lines),
                )  # fmt: skip
            if self._stopping.is_set():
                deadline = deadline or time.monotonic() + self.shutdown_grace_s
                if time.monotonic() >= deadline:
                    return False
            await asyncio.sleep(backoff.next())

    async def _write_live(self, lines: list[str]) -> bool:
        """Write within the retry budget; False when the budget ran out or InfluxDB refused
        the request itself (the spool keeps the lines and the drainer retries)."""
        backoff = Backoff(base=0.1, cap=2.0)
        deadline = time.monotonic() + self.retry_budget_s
        while True:
            started = time.monotonic()
            try:
                async with asyncio.timeout(max(deadline - started, 0.001)):
                    result = await self.writer.write(lines)
            except TimeoutError:
                self._count_error("live", "timeout")
                return False
            except InfluxError as e:
                self._count_error("live", e.error_class)
                if not e.retryable:
                    log.error("InfluxDB refused the write (not retried live): %s", e)
                    return False
                delay = backoff.next()
                if time.monotonic() + delay >= deadline:
                    return False
                log.warning("InfluxDB write failed (%s), retrying in %.1f s", e.error_class, delay)
                await asyncio.sleep(delay)
                continue
            self.metrics.write_seconds.observe(time.monotonic() - started)
            await self._stored("live", lines, result)
            return True

    async def _store_until_stopped(self, lines: list[str]) -> bool:
        """No spool: write until stored; False when stopping and InfluxDB stays unreachable
        past the grace period."""
        backoff = Backoff(base=0.2, cap=10.0)
        deadline: float | None = None
        while True:
            started = time.monotonic()
            try:
                result = await self.writer.write(lines)
            except InfluxError as e:
                self._count_error("live", e.error_class)
                self.influx_up = False
                if self._stopping.is_set():
                    deadline = deadline or time.monotonic() + self.shutdown_grace_s
                    if time.monotonic() >= deadline:
                        log.error("giving up %d lines at shutdown, unacked: %s", len(lines), e)
                        return False
                delay = backoff.next()
                log.warning("InfluxDB write failed (%s), retrying in %.1f s: %s",
                            e.error_class, delay, e)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            self.influx_up = True
            self.metrics.write_seconds.observe(time.monotonic() - started)
            await self._stored("live", lines, result)
            return True

    async def _stored(self, path: str, lines: list[str], result: WriteResult) -> None:
        """Count a write InfluxDB answered; dead-letter what it refused for good."""
        self.metrics.batch_size.observe(len(lines))
        self.metrics.readings_stored.inc(result.written)
        if result.splits:
            self.metrics.splits.inc(result.splits)
        if not result.partial:
            self.metrics.writes.labels(path, "ok", "").inc()
            return
        self.metrics.writes.labels(path, "partial", "").inc()
        self.metrics.dead_letters.inc(len(result.refused))
        self._dead_letters += len(result.refused)
        log.warning(
            "InfluxDB refused %d of %d lines (dead-lettered, not retried); first: %r",
            len(result.refused), len(lines), result.refused[:1],
        )  # fmt: skip
        if self.spool is not None:
            await asyncio.to_thread(self.spool.dead_letter, result.refused)

    def _count_error(self, path: str, error_class: str) -> None:
        self.metrics.writes.labels(path, "error", error_class).inc()
        self._write_errors[error_class] = self._write_errors.get(error_class, 0) + 1

    # -- drainer ------------------------------------------------------------------------------
    async def _drain(self, spool: Spool) -> None:
        """Spooled batches to InfluxDB, oldest first, in writes of up to `drain_batch` lines,
        two at a time (InfluxDB parses one body per core); a batch is deleted only after
        InfluxDB answered for it."""
        backoff = Backoff(base=0.2, cap=5.0)
        while not self._stopping.is_set():
            if spool.depth == 0:
                self._spooled.clear()
                await self._pause(1.0, self._spooled)
                continue
            batches = await asyncio.to_thread(spool.peek, self.drain_batch * DRAIN_WRITES)
            chunks = _chunks(batches, self.drain_batch)
            outcomes = await asyncio.gather(*(self._drain_chunk(c) for c in chunks))
            done = [b.id for chunk, ok in zip(chunks, outcomes, strict=True) if ok for b in chunk]
            await asyncio.to_thread(spool.remove, done)
            self._spool_full = spool.full
            if not all(outcomes):
                self.influx_up = False
                await self._pause(backoff.next())
                continue
            backoff.reset()
            if not self.influx_up:
                log.info("InfluxDB is back: live writes resume; draining %d", spool.depth)
                self.influx_up = True

    async def _drain_chunk(self, batches: list[Spooled]) -> bool:
        lines = [line for b in batches for line in b.lines]
        started = time.monotonic()
        try:
            result = await self.writer.write(lines)
        except InfluxError as e:
            self._count_error("drain", e.error_class)
            return False
        self.metrics.write_seconds.observe(time.monotonic() - started)
        await self._stored("drain", lines, result)
        self.metrics.drained.inc(len(lines))
        return True

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep, cut short by `stop()` (or by `wake`)."""
        events = [self._stopping] + ([wake] if wake is not None else [])
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

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


def _chunks(batches: list[Spooled], max_lines: int) -> list[list[Spooled]]:
    """Consecutive runs of whole batches of up to `max_lines` lines (at least one batch)."""
    out: list[list[Spooled]] = []
    size = max_lines
    for b in batches:
        if size + len(b.lines) > max_lines:
            out.append([])
            size = 0
        out[-1].append(b)
        size += len(b.lines)
    return out


def _age(at_ns: int | None) -> float | None:
    return None if at_ns is None else max(time.time_ns() - at_ns, 0) / 1e9


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
    subscriptions: Sequence[str] | None = None,
) -> Gateway:
    """A Gateway with its adapters made from settings (the sinks come from the caller);
    `subscriptions` replaces the device topic filters (a worker's `$share/...` ones)."""
    metrics = metrics or GatewayMetrics()
    endpoint = settings.mqtt
    source = MqttSource(
        endpoint.host,
        endpoint.port,
        subscriptions=[
            *(subscriptions or topics.subscriptions(settings.topic_prefix)),
            *([BROKER_DROPPED] if settings.broker_stats else []),
        ],
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
    path = settings.spool_file
    spool = (
        None
        if path is None
        else Spool(path, max_lines=settings.spool_max_readings, policy=settings.spool_full_policy)
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
        spool=spool,
        retry_budget_s=settings.influx_retry_budget_s,
        drain_batch=settings.spool_drain_batch,
        stale_after_s=settings.stale_after_s,
    )


def _ns(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1_000_000_000
