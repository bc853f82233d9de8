"""Test fakes shipped in the package (like structlog.testing), one per seam of the gateway:
in-memory sinks (domain.ports) that keep what they are given, a message source without a
broker (gateway.source.MessageSource) and an InfluxDB behind httpx's MockTransport, so the
service and the cluster are tested without Mosquitto or influxd and assert on plain lists."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from types import TracebackType

import httpx

from domain.measurement import Measurement, Rejection, RejectReason
from gateway.source import Inbox, InboxSource, Message


class MemoryMeasurementSink:
    """A MeasurementSink that keeps every measurement it accepted, in order."""

    def __init__(self) -> None:
        self.measurements: list[Measurement] = []

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        self.measurements.extend(measurements)


class MemoryRejectionSink:
    """A RejectionSink keeping the newest `limit` rejections (newest last) and a count per
    reason of all it was ever given."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self.rejections: list[Rejection] = []
        self.counts: dict[RejectReason, int] = {}

    async def record(self, rejections: Sequence[Rejection]) -> None:
        for r in rejections:
            self.counts[r.reason] = self.counts.get(r.reason, 0) + 1
        self.rejections.extend(rejections)
        del self.rejections[: max(len(self.rejections) - self.limit, 0)]

    def recent(self, limit: int = 100) -> list[Rejection]:
        """Newest first, like `GET /api/v1/rejections`."""
        return self.rejections[::-1][:limit]


class MemoryStatusSink:
    """A StatusSink keeping the last status per sensor and every change in order."""

    def __init__(self) -> None:
        self.latest: dict[str, bool] = {}
        self.history: list[tuple[str, bool, int]] = []

    async def status(self, sensor: str, online: bool, at_ns: int) -> None:
        self.latest[sensor] = online
        self.history.append((sensor, online, at_ns))


class FakeSource(InboxSource):
    """A MessageSource without a broker: `deliver(topic, payload)` stands for the broker
    handing a message over; `acked` is what the gateway acknowledged, in order. Entering
    "connects" (sets `subscribed`), leaving "disconnects"; `log` records both."""

    def __init__(self, *, receive_maximum: int = 10_000, session_persistent: bool = True) -> None:
        self.receive_maximum = receive_maximum
        self.session_persistent: bool | None = session_persistent
        self.subscribed = asyncio.Event()
        self.acked: list[Message] = []
        self.log: list[str] = []
        """"connect", "disconnect" (tests assert the stop order against other logs)."""
        self.inbox = Inbox()
        self._mid = 0

    async def __aenter__(self) -> FakeSource:
        self.log.append("connect")
        self.subscribed.set()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.log.append("disconnect")
        self.subscribed.clear()

    def deliver(self, topic: str, payload: bytes | str, *, qos: int = 1) -> Message:
        """Put one message in the inbox, as the broker would."""
        self._mid = self._mid % 65_535 + 1
        data = payload.encode() if isinstance(payload, str) else payload
        m = Message(topic, data, qos, False, self._mid, 0, time.time_ns())
        self.inbox.append(m)
        self.inbox.wake_if_ready()
        return m

    def ack(self, messages: Iterable[Message]) -> int:
        qos1 = [m for m in messages if m.qos]
        self.acked.extend(qos1)
        return len(qos1)


class FakeInflux:
    """An InfluxDB 1.x for `httpx.MockTransport`: `InfluxWriter(url, transport=fake.transport)`.
    It stores the lines of each accepted write in `writes`, answers `/query` with an empty
    result, and can be taken down (`up = False`: connection refused) or held (`hold`: writes
    wait until it is set) to stand for an outage or a frozen server."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.up = True
        self.log = log if log is not None else []
        """"write" per stored write (pass a FakeSource's `log` to see the order of both)."""
        self.writes: list[list[str]] = []
        self.attempts = 0
        """Write requests received, stored or not."""
        self.hold = asyncio.Event()
        self.hold.set()
        self.transport = httpx.MockTransport(self._handle)

    @property
    def lines(self) -> list[str]:
        return [line for w in self.writes for line in w]

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/write":
            self.attempts += 1
            await self.hold.wait()
        if not self.up:
            raise httpx.ConnectError("connection refused (FakeInflux is down)", request=request)
        if request.url.path == "/query":
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        if request.url.path == "/write":
            self.writes.append(request.content.decode().split("\n"))
            self.log.append("write")
            return httpx.Response(204)
        return httpx.Response(404, text="not found")
