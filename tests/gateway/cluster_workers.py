"""Worker entry points for the cluster's unit tests, spawned by `Cluster` as the real one is:
the real worker loop (`serve_worker`: RemoteSink, reports, SIGTERM) around a Gateway on fakes
(no broker, no InfluxDB), which has `PER_WORKER` readings, one status and one malformed
message waiting in its inbox."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from adapters.influx.writer import InfluxWriter
from gateway.batcher import Batcher
from gateway.committer import Committer
from gateway.front import Sinks
from gateway.ingest import IngestPolicy
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway
from gateway.testing import FakeInflux, FakeSource
from gateway.worker import RemoteSink, WorkerJob, serve_worker

PER_WORKER = 50
TOPIC = "sensors/pond/pond-qp-01/telemetry"
STATUS = "sensors/pond/pond-qp-01/status"


def fake_worker(job: WorkerJob) -> None:
    asyncio.run(_work(job))


def crash_once_worker(job: WorkerJob) -> None:
    """Dies at its first start (as a worker killed by the OOM killer would), then works."""
    marker = job.settings.spool.dir / f"crashed-{job.index}"
    if not marker.exists():
        marker.touch()
        os._exit(3)
    fake_worker(job)


async def _work(job: WorkerJob) -> None:
    source = FakeSource()
    metrics = GatewayMetrics()
    batcher = Batcher(
        source,
        job.registry,
        policy=IngestPolicy(prefix=job.settings.topic_prefix),
        metrics=metrics,
        batch_interval_s=0.05,
    )
    writer = InfluxWriter("http://influx.test", transport=FakeInflux().transport)
    sink = RemoteSink(Path(job.socket), job.index)
    gateway = Gateway(
        batcher,
        Committer(writer, metrics=metrics),
        Sinks(sink, sink, sink if job.statuses else None),
    )
    t0 = int(time.time()) - 3600
    for i in range(PER_WORKER):
        seq = job.index * PER_WORKER + i
        body = {"ts": t0 + seq, "seq": seq, "values": {"do": 5.0, "ph": 7.0}}
        source.deliver(TOPIC, json.dumps(body))
    source.deliver(STATUS, "online")
    source.deliver(TOPIC, "{not json")
    await serve_worker(gateway, sink)
