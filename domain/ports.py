"""The seams between packages: what the gateway hands on, and who may take it.

The gateway knows nothing of rules or tickets; the composition root gives it sinks that
satisfy these protocols (the rule engine, the rejection store), so ingest and services meet
only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.measurement import Measurement, Rejection
from domain.site import Registry


class MeasurementSink(Protocol):
    """Takes validated measurements after they are durably stored (e.g. the rule engine)."""

    async def accept(self, measurements: Sequence[Measurement]) -> None: ...


class RejectionSink(Protocol):
    """Keeps rejections where an API process can read them later."""

    async def record(self, rejections: Sequence[Rejection]) -> None: ...


class StatusSink(Protocol):
    """Takes a device's retained online/offline status."""

    async def status(self, sensor: str, online: bool, at_ns: int) -> None: ...


class RegistryFeed(Protocol):
    """Keeps a process's Registry at the committed version (swapping it in place) until
    cancelled: what a gateway worker process runs beside its gateway. Picklable: it crosses
    the spawn of a worker process."""

    async def follow(self, registry: Registry) -> None: ...
