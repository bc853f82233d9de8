"""The cluster without a broker: worker processes spawned by `Cluster` run the real worker loop
on fakes (tests/gateway/cluster_workers.py) and feed the parent's sinks over the real socket
and wire; the parent serves their metrics and one health verdict, and restarts a worker that
dies. The sink server is also tested in-process, against a RemoteSink and against junk."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from domain.measurement import Measurement, RejectReason
from domain.settings import Settings
from gateway import wire
from gateway.cluster import Cluster, SinkServer
from gateway.front import Sinks
from gateway.health import Status
from gateway.identity import worker_settings
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink, MemoryStatusSink
from gateway.worker import RemoteSink, WorkerJob
from tests.gateway.cluster_workers import PER_WORKER, crash_once_worker, fake_worker
from tests.gateway.ingest_site import registry

START_S = 60.0
"""Spawning a worker imports the package afresh: seconds on a busy machine."""


async def until(what: str, check: Callable[[], bool], limit_s: float = START_S) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not check():  # noqa: ASYNC110 - polling plain counters
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def memory_sinks() -> tuple[Sinks, MemoryMeasurementSink, MemoryRejectionSink, MemoryStatusSink]:
    m, r, s = MemoryMeasurementSink(), MemoryRejectionSink(), MemoryStatusSink()
    return Sinks(m, r, s), m, r, s


def cluster(tmp_path: Path, sinks: Sinks, worker: Callable[[WorkerJob], None]) -> Cluster:
    settings = Settings.flat(topic_prefix="sensors", spool_dir=tmp_path)
    return Cluster(settings, registry(), sinks, workers=2, worker=worker)


def summed(c: Cluster, name: str, **labels: str) -> float:
    return sum(
        c.metrics_registry.get_sample_value(name, {**labels, "worker": w}) or 0.0 for w in "01"
    )


async def test_two_workers_feed_the_parents_sinks_and_show_in_its_metrics_and_health(
    tmp_path: Path,
) -> None:
    sinks, measurements, rejections, statuses = memory_sinks()
    c = cluster(tmp_path, sinks, fake_worker)
    task = asyncio.create_task(c.run())
    try:
        async with asyncio.timeout(START_S):
            await c.wait_ready()
        await until("every reading", lambda: len(measurements.measurements) == 2 * PER_WORKER)
        await until(
            "reports of the final counts",
            lambda: summed(c, "gridwatch_gateway_readings_stored_total") == 2 * PER_WORKER,
        )
        assert c.server is not None
        assert c.server.by_worker == {0: PER_WORKER, 1: PER_WORKER}
        assert sorted(m.seq or 0 for m in measurements.measurements) == list(range(2 * PER_WORKER))
        assert rejections.counts == {RejectReason.MALFORMED: 2}
        assert statuses.latest == {"pond-qp-01": True}
        assert len(statuses.history) == 2
        messages = summed(c, "gridwatch_gateway_messages_total", channel="telemetry")
        assert messages == 2 * (PER_WORKER + 1)
        health = c.health()
        assert (health.status, health.problems) == (Status.OK, [])
        assert health.facts.broker_connected
    finally:
        c.stop()
        async with asyncio.timeout(60):
            await task
    assert c.restarts == 0


async def test_a_worker_that_dies_is_restarted_and_its_share_still_arrives(
    tmp_path: Path,
) -> None:
    sinks, measurements, _, _ = memory_sinks()
    c = cluster(tmp_path, sinks, crash_once_worker)
    task = asyncio.create_task(c.run())
    try:
        await until("every reading", lambda: len(measurements.measurements) == 2 * PER_WORKER)
        assert c.restarts == 2
        assert c.metrics_registry.get_sample_value("gridwatch_gateway_worker_restarts_total") == 2
    finally:
        c.stop()
        async with asyncio.timeout(60):
            await task


def test_a_cluster_whose_workers_have_not_reported_is_failing(tmp_path: Path) -> None:
    sinks, *_ = memory_sinks()
    health = cluster(tmp_path, sinks, fake_worker).health()
    assert health.status is Status.FAILING
    assert health.problems[:2] == [
        "gateway worker 0 has not reported for 5 s",
        "gateway worker 1 has not reported for 5 s",
    ]


async def test_the_sink_server_answers_each_frame_and_survives_junk(tmp_path: Path) -> None:
    failing: list[bool] = [False]

    class Flaky:
        async def accept(self, items: Sequence[Measurement]) -> None:
            if failing[0]:
                raise RuntimeError("the rules are down")
            kept.extend(items)

    kept: list[Measurement] = []
    path = tmp_path / "s.sock"
    async with SinkServer(path, Sinks(Flaky(), MemoryRejectionSink())) as server:
        sink = RemoteSink(path, 7)
        m = Measurement("pond-qp-01", "pond", "qp-g1", "qingping", 1, {"do": 5.0})
        await sink.accept([m, m])
        assert kept == [m, m]
        assert server.by_worker == {7: 2}
        failing[0] = True
        with pytest.raises(RuntimeError, match="could not handle"):
            await sink.accept([m])  # the worker counts a sink error (and still acks)
        failing[0] = False

        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(wire.HEADER.pack(3, ord("Z")) + b"abc")
        assert await reader.read() == b"", "the server closes a connection that sent junk"
        writer.close()
        assert server.wire_errors == 1

        await sink.accept([m])  # other connections are unaffected
        assert len(kept) == 3
        await sink.close()


def test_each_worker_has_its_own_client_id_and_spool(tmp_path: Path) -> None:
    base = Settings.flat(mqtt_client_id="gw", spool_dir=tmp_path)
    files = {worker_settings(base, i).spool_file for i in range(3)}
    ids = {worker_settings(base, i).mqtt.client_id for i in range(3)}
    assert ids == {"gw-w0", "gw-w1", "gw-w2"}
    assert files == {tmp_path / f"gw-w{i}.sqlite" for i in range(3)}
    fixed = base.replace(spool_path=tmp_path / "spool.sqlite")
    assert worker_settings(fixed, 1).spool_file == tmp_path / "spool-w1.sqlite"


_PARENT = """
import asyncio, sys
from pathlib import Path
from tests.gateway.cluster_workers import fake_worker
from tests.gateway.test_cluster import cluster, memory_sinks

async def main() -> None:
    c = cluster(Path(sys.argv[1]), memory_sinks()[0], fake_worker)
    task = asyncio.create_task(c.run())
    await c.wait_ready()
    print(*[m.process.pid for m in c._members], flush=True)
    await task

asyncio.run(main())
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; whoever adopted it reaps it


def test_workers_exit_when_the_rules_process_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the parent (the OOM killer's choice: it holds the rule engine) leaves no
    worker consuming for nobody: each sees its parent's sentinel close and exits."""
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2
        assert all(_running(p) for p in workers)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(_running(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in workers if _running(p)], "a worker outlived its rules process"
    finally:
        for pid in [parent.pid, *workers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
