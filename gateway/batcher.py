"""The Batcher: messages from a MessageSource into batches, by size and by time.

A batch closes when it holds `max_messages` messages or `batch_size` measurements, or when its
first message is `batch_interval_s` old (a reading waits 0 to one window before its write).
`max_messages` stays under half the source's in-flight window: acks come only after the
commit, so a batch that waited for more than the broker will send unacknowledged would only
ever be closed by the timer.

Wake-ups are chunked: after a batch's first message the Batcher asks the source for
`WAKE_CHUNK` messages at a time (or the end of the window), not one — each wake-up is a trip
from paho's thread through the event loop, and py-spy put ~6 % of a worker in them.

Ingest is pure and never raises, so what the Batcher hands over is data: measurements,
rejections and statuses beside the messages they came from. Broker statistics (`$SYS/…`) are
read and acknowledged at once; they are not readings. On `stop()` the Batcher takes what is
already in the source's inbox into a last batch and then hands over `None`: a graceful stop
commits what arrived, and nothing after it is taken.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from domain import topics
from domain.measurement import Measurement, Rejection, RejectReason
from domain.site import Registry
from gateway.ingest import IngestPolicy, ingest, parse_status
from gateway.metrics import GatewayMetrics
from gateway.source import Message, MessageSource

BROKER_DROPPED = "$SYS/broker/publish/messages/dropped"
WAKE_CHUNK = 256
"""Messages the Batcher lets gather before it takes them into a batch that is under way."""


@dataclass(slots=True)
class Batch:
    """Messages taken from the broker and what they became; committed and acked together."""

    messages: list[Message] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    statuses: list[tuple[str, bool, int]] = field(default_factory=list)
    started: float = 0.0


class Batcher:
    """`run()` fills batches from `source`; `next()` hands them over, `None` after a stop."""

    def __init__(
        self,
        source: MessageSource,
        registry: Registry,
        *,
        policy: IngestPolicy,
        metrics: GatewayMetrics,
        batch_size: int = 5_000,
        batch_interval_s: float = 0.25,
    ) -> None:
        self.source = source
        self.registry = registry
        self.policy = policy
        self.metrics = metrics
        self.batch_size = batch_size
        self.batch_interval_s = batch_interval_s
        self.max_messages = max(1, min(batch_size, source.receive_maximum // 2))
        self.unacked = 0
        """Messages handed over and not yet settled (committed or given back)."""
        self.last_reading_ns: int | None = None
        self.broker_dropped: int | None = None
        self._stopping = asyncio.Event()
        self._batches: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=2)

    def stop(self) -> None:
        """Stop taking messages: what the inbox holds goes into a last batch, then `None`."""
        self._stopping.set()
        self.source.interrupt()

    async def next(self) -> Batch | None:
        """The next full or due batch; `None` once stopped and everything was handed over."""
        return await self._batches.get()

    def settled(self, batch: Batch) -> None:
        """The batch is done with (acknowledged, or left to the broker at a stop)."""
        self.unacked -= len(batch.messages)
        self.metrics.queue_depth.set(self.unacked + self.source.pending)

    async def run(self) -> None:
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
        self.unacked += len(batch.messages)
        self.metrics.queue_depth.set(self.unacked + self.source.pending)
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
        if placement is None and self.registry.is_retired(parsed.sensor):
            reject(RejectReason.RETIRED_SENSOR, f"status of retired sensor {parsed.sensor!r}")
        elif placement is None:
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
