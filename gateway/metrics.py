"""The gateway's Prometheus metrics, on a CollectorRegistry the service owns (no global
registry: two gateways in one test process do not share counters).

A cluster's workers each count in their own process; `snapshot` turns a worker's registry into
plain `Family` values it sends to the parent (gateway/wire.py), and the parent's
`WorkerCollector` serves the latest of each with a `worker` label — so the parent's endpoint
shows every worker's figures, and `sum without (worker)` gives the cluster's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from domain.measurement import RejectReason


class GatewayMetrics:
    """Counters and gauges of the data path; label values are small fixed sets."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "gridwatch_gateway_messages", "MQTT messages received", ["channel"], registry=r
        )
        self.readings_stored = Counter(
            "gridwatch_gateway_readings_stored",
            "Measurements (one per sensor and instant) written to InfluxDB",
            registry=r,
        )
        self.rejections = Counter(
            "gridwatch_gateway_rejections",
            "Refused values, readings or messages",
            ["reason"],
            registry=r,
        )
        for reason in RejectReason:
            self.rejections.labels(reason.value)
        self.dead_letters = Counter(
            "gridwatch_gateway_dead_letters",
            "Lines InfluxDB refused for good in a partial write: dead-lettered, never retried",
            registry=r,
        )
        self.writes = Counter(
            "gridwatch_gateway_writes",
            "InfluxDB write attempts by path (live, drain), outcome (ok, partial, error) and "
            "error class (timeout, unavailable, http_5xx, refused)",
            ["path", "outcome", "error"],
            registry=r,
        )
        self.splits = Counter(
            "gridwatch_gateway_write_splits",
            "Batches halved because InfluxDB answered 413 (body too large)",
            registry=r,
        )
        # -- spool (gateway/spool.py) --
        self.spooled = Counter(
            "gridwatch_gateway_spooled_readings",
            "Readings committed to the disk spool because InfluxDB could not take them",
            registry=r,
        )
        self.drained = Counter(
            "gridwatch_gateway_drained_readings",
            "Spooled readings written to InfluxDB",
            registry=r,
        )
        self.spool_dropped = Counter(
            "gridwatch_gateway_spool_dropped_readings",
            "Spooled readings deleted to make room (policy drop_oldest): lost",
            registry=r,
        )
        self.spool_refused = Counter(
            "gridwatch_gateway_spool_refused_readings",
            "Readings a full spool refused (policy refuse): left unacknowledged with the broker",
            registry=r,
        )
        self.spool_depth = Gauge(
            "gridwatch_gateway_spool_depth", "Readings waiting in the disk spool", registry=r
        )
        self.spool_oldest_age = Gauge(
            "gridwatch_gateway_spool_oldest_age_seconds",
            "Age of the oldest spooled batch (0 when empty)",
            registry=r,
        )
        self.spool_full = Gauge(
            "gridwatch_gateway_spool_full", "1 while the spool is at its size limit", registry=r
        )
        self.registry_version = Gauge(
            "gridwatch_registry_version",
            "The site registry's version this gateway judges readings by",
            registry=r,
        )
        # -- health (gateway/health.py) --
        self.broker_connected = Gauge(
            "gridwatch_gateway_broker_connected",
            "1 while connected and subscribed to the broker",
            registry=r,
        )
        self.session_persistent = Gauge(
            "gridwatch_gateway_mqtt_session_persistent",
            "1 when the broker granted a session expiry > 0 (the session survives a disconnect)",
            registry=r,
        )
        self.broker_dropped = Gauge(
            "gridwatch_gateway_broker_dropped_messages",
            "The broker's $SYS/broker/publish/messages/dropped (-1: not reported)",
            registry=r,
        )
        self.last_reading_age = Gauge(
            "gridwatch_gateway_last_reading_age_seconds",
            "Seconds since the last valid reading arrived (-1: none yet)",
            registry=r,
        )
        self.influx_up = Gauge(
            "gridwatch_gateway_influx_up",
            "1 while live writes go to InfluxDB, 0 while they go to the spool",
            registry=r,
        )
        self.health = Gauge(
            "gridwatch_gateway_health",
            "Overall health: 0 ok, 1 degraded, 2 failing (see the JSON health for why)",
            registry=r,
        )
        self.batch_size = Histogram(
            "gridwatch_gateway_batch_size",
            "Measurements per InfluxDB write",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
            registry=r,
        )
        self.write_seconds = Histogram(
            "gridwatch_gateway_write_seconds",
            "Duration of one successful InfluxDB write",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.queue_depth = Gauge(
            "gridwatch_gateway_queue_depth",
            "MQTT messages received and not yet acknowledged",
            registry=r,
        )
        self.sink_errors = Counter(
            "gridwatch_gateway_sink_errors",
            "Exceptions raised by a measurement, rejection or status sink",
            ["sink"],
            registry=r,
        )
        self.connects = Counter(
            "gridwatch_gateway_mqtt_connects", "Successful MQTT (re)connections", registry=r
        )


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family as plain data: name, type, help and (sample name, labels, value)."""

    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]]


def snapshot(registry: CollectorRegistry) -> list[Family]:
    """Every family of `registry` with its current samples (function gauges evaluated now)."""
    return [
        Family(
            m.name, m.type, m.documentation, [(s.name, dict(s.labels), s.value) for s in m.samples]
        )
        for m in registry.collect()
    ]


class WorkerCollector(Collector):
    """Serves the latest snapshot of each worker, its samples labelled `worker="<index>"`."""

    def __init__(self, latest: Callable[[], Mapping[int, Sequence[Family]]]) -> None:
        self.latest = latest

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for index, families in sorted(self.latest().items()):
            for f in families:
                metric = merged.get(f.name)
                if metric is None:
                    metric = merged[f.name] = Metric(f.name, f.help, f.kind)
                for name, labels, value in f.samples:
                    metric.add_sample(name, {**labels, "worker": str(index)}, value)
        return list(merged.values())
