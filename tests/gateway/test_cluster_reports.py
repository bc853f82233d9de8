"""What a cluster's parent makes of its workers' reports: one set of health facts
(gateway/health.py `combine`) and their metrics served with a `worker` label
(gateway/metrics.py `snapshot`, `WorkerCollector`)."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import CollectorRegistry, generate_latest

from gateway.health import Facts, Status, assess, combine
from gateway.metrics import GatewayMetrics, WorkerCollector, snapshot

FINE = Facts(broker_connected=True, session_persistent=True, influx_up=True, spool_enabled=True)


def test_combined_facts_are_as_bad_as_the_worst_worker_and_add_up_the_counts() -> None:
    a = replace(
        FINE,
        spool_depth=5,
        spool_oldest_age_s=10.0,
        write_errors={"timeout": 1},
        last_reading_age_s=3.0,
        broker_dropped=4,
    )
    b = replace(
        FINE,
        influx_up=False,
        spool_depth=7,
        spool_oldest_age_s=30.0,
        write_errors={"timeout": 2, "refused": 1},
        last_reading_age_s=1.0,
    )
    both = combine([a, b])
    assert both.influx_up is False
    assert both.broker_connected is True
    assert both.spool_depth == 12
    assert both.spool_oldest_age_s == 30.0
    assert both.write_errors == {"timeout": 3, "refused": 1}
    assert both.last_reading_age_s == 1.0, "the cluster is as fresh as its freshest worker"
    assert both.broker_dropped == 4
    assert assess(both).status is Status.DEGRADED
    assert combine([FINE, replace(FINE, broker_connected=False)]).broker_connected is False
    assert combine([FINE, replace(FINE, session_persistent=None)]).session_persistent is None


def test_the_parent_serves_each_workers_figures_with_a_worker_label() -> None:
    w0, w1 = GatewayMetrics(), GatewayMetrics()
    w0.readings_stored.inc(30)
    w1.readings_stored.inc(12)
    w1.rejections.labels("malformed").inc(2)
    w0.batch_size.observe(30)
    reports = {0: snapshot(w0.registry), 1: snapshot(w1.registry)}
    parent = CollectorRegistry()
    parent.register(WorkerCollector(lambda: reports))

    def value(name: str, **labels: str) -> float | None:
        return parent.get_sample_value(name, labels)

    assert value("gridwatch_gateway_readings_stored_total", worker="0") == 30
    assert value("gridwatch_gateway_readings_stored_total", worker="1") == 12
    assert value("gridwatch_gateway_rejections_total", reason="malformed", worker="1") == 2
    assert value("gridwatch_gateway_batch_size_count", worker="0") == 1
    text = generate_latest(parent).decode()
    types = [line for line in text.splitlines() if line.startswith("# TYPE")]
    own = [
        line
        for line in generate_latest(w0.registry).decode().splitlines()
        if line.startswith("# TYPE")
    ]
    assert types == own, "one family each, of the type the worker gave it"
    assert 'gridwatch_gateway_readings_stored_total{worker="1"} 12.0' in text
