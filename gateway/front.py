"""The ingest front as the composition root sees it: what it is given and what it offers.

A process runs one front: a `Gateway` (gateway/service.py) in-process, or a `Cluster` of
gateway worker processes (gateway/cluster.py). Both take their committed batches to the same
`Sinks` and offer the same `Front`, so `gridwatch up`, `gridwatch gateway`, the benchmarks and
the tests start, watch and stop either the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry

from domain.ports import MeasurementSink, RejectionSink, StatusSink
from gateway.health import Health


@dataclass(frozen=True, slots=True)
class Sinks:
    """Where committed batches go (the rules and the rejection store in a hub; memory in tests).
    Each sees a batch after it is durable and before the broker forgets it."""

    measurements: MeasurementSink
    rejections: RejectionSink
    statuses: StatusSink | None = None


class Front(Protocol):
    """Ingest that runs until stopped."""

    async def run(self) -> None:
        """Run until `stop()`; returns after a graceful stop."""
        ...

    def stop(self) -> None:
        """Begin a graceful stop: take no more messages, commit what is held (SIGTERM)."""
        ...

    async def wait_ready(self) -> None:
        """Until the front holds its subscriptions (every worker, for a cluster)."""
        ...

    def health(self) -> Health:
        """What is wrong right now, if anything."""
        ...

    @property
    def metrics_registry(self) -> CollectorRegistry:
        """What `--metrics-port` serves: the front's figures (a cluster's from its workers)."""
        ...
