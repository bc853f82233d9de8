"""The gateway's Prometheus metrics, on a CollectorRegistry the service owns (no global
registry: two gateways in one test process do not share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        self.points_refused = Counter(
            "gridwatch_gateway_points_refused",
            "Lines InfluxDB refused in a partial write (not retried)",
            registry=r,
        )
        self.writes = Counter(
            "gridwatch_gateway_writes",
            "InfluxDB write attempts by outcome (ok, partial, error) and error class",
            ["outcome", "error"],
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
