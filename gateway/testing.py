"""In-memory sinks for tests and for running the gateway before the real stores are wired
(shipped in the package, like structlog.testing): they satisfy domain.ports and keep what they
are given, so a test asserts on plain lists."""

from __future__ import annotations

from collections.abc import Sequence

from domain.measurement import Measurement, Rejection, RejectReason


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
