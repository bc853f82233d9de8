"""One gateway worker process of a cluster (gateway/cluster.py): a full Gateway on the shared
subscription whose sinks are the parent, reached over the wire (gateway/wire.py).

`RemoteSink` is the worker's measurement, rejection and status sink: it forwards a committed
batch and returns once the parent has handled it, so the worker's ack follows the rules. Beside
the gateway a reporter sends the parent the worker's health facts and metrics, at once when the
subscriptions are held and then every `REPORT_EVERY_S`, and a last time after the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters import heap
from adapters.logs import configure_logging
from domain import topics
from domain.measurement import Measurement, Rejection
from domain.ports import RegistryFeed
from domain.settings import Settings
from domain.site import Registry
from gateway import wire
from gateway.front import Sinks
from gateway.identity import worker_settings
from gateway.metrics import snapshot
from gateway.service import Gateway, build_gateway

log = logging.getLogger(__name__)

SHARE_GROUP = "gridwatch"
REPORT_EVERY_S = 1.0
EXIT_PARENT_GONE = 70
"""A worker's exit status when its rules process died under it."""


def worker_subscriptions(prefix: str, group: str = SHARE_GROUP) -> list[str]:
    """The shared-subscription filters every worker holds."""
    return [f"$share/{group}/{f}" for f in topics.subscriptions(prefix)]


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """What the parent gives a worker process (pickled across the spawn)."""

    settings: Settings
    registry: Registry
    index: int
    group: str
    socket: str
    log_level: int
    statuses: bool
    """Whether the parent has a status sink (else status messages are not forwarded)."""
    feed: RegistryFeed | None = None
    """Keeps the worker's registry at the committed version (the live registry)."""


class RemoteSink:
    """The parent's sinks, as seen from a worker: each call is one frame and its answer."""

    def __init__(self, path: Path, index: int) -> None:
        self.path = path
        self.index = index
        self._lock = asyncio.Lock()
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        await self.send(wire.Measurements(list(measurements)))

    async def record(self, rejections: Sequence[Rejection]) -> None:
        await self.send(wire.Rejections(list(rejections)))

    async def status(self, sensor: str, online: bool, at_ns: int) -> None:
        await self.send(wire.Statuses([(sensor, online, at_ns)]))

    async def send(self, frame: wire.Frame) -> None:
        """Send one frame and wait for the parent's answer; RuntimeError if a sink failed."""
        data = wire.encode(frame)
        async with self._lock:
            if self._conn is None:
                reader, writer = await asyncio.open_unix_connection(str(self.path))
                writer.write(wire.encode(wire.Hello(self.index)))
                self._conn = reader, writer
                await self._answer(reader, writer)
            reader, writer = self._conn
            writer.write(data)
            answer = await self._answer(reader, writer)
        if answer != wire.OK:
            raise RuntimeError("the rules process could not handle a batch")

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        try:
            return await reader.readexactly(1)
        except (asyncio.IncompleteReadError, ConnectionError):
            self._conn = None
            writer.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


def run_worker(job: WorkerJob) -> None:
    """The worker process's entry point (multiprocessing target)."""
    configure_logging(job.settings.log, tag=f"w{job.index}", level=job.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work(job))


async def _work(job: WorkerJob) -> None:
    sink = RemoteSink(Path(job.socket), job.index)
    gateway = build_gateway(
        worker_settings(job.settings, job.index),  # its own client id, login and spool
        job.registry,
        Sinks(sink, sink, sink if job.statuses else None),
        subscriptions=worker_subscriptions(job.settings.topic_prefix, job.group),
    )
    heap.settle()  # the worker's registry copy and modules: out of the GC's walks
    follower = None
    if job.feed is not None:
        follower = asyncio.create_task(job.feed.follow(job.registry), name="registry-follow")
    try:
        await serve_worker(gateway, sink)
    finally:
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


async def serve_worker(gateway: Gateway, sink: RemoteSink) -> None:
    """Run `gateway` until SIGTERM/SIGINT, reporting to the parent beside it; end at once if
    the parent dies (`_exit_with_parent`)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, gateway.stop)
    _exit_with_parent(loop)
    reporter = asyncio.create_task(_report(gateway, sink), name="reporter")
    try:
        await gateway.run()
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
        await _send_report(gateway, sink)  # the final counts
        await sink.close()


def _exit_with_parent(loop: asyncio.AbstractEventLoop) -> None:
    """A worker whose rules process is gone (killed with SIGKILL, or by the OOM killer) must not
    go on: its batches would reach no rule engine but still be acknowledged (a failing sink is
    not fatal), and the restarted parent's new worker with the same client id would fight it
    for the session. So when the parent's sentinel closes the worker exits at once, without a
    graceful stop: what it has not acknowledged the broker redelivers, and a repeat overwrites
    itself in InfluxDB — the same as a crash of the whole gateway."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return  # not spawned by a cluster (tests run the loop in-process)

    def gone() -> None:
        log.error("the rules process (pid %s) is gone; exiting unacknowledged", parent.pid)
        logging.shutdown()
        os._exit(EXIT_PARENT_GONE)

    loop.add_reader(parent.sentinel, gone)


async def _report(gateway: Gateway, sink: RemoteSink) -> None:
    await gateway.wait_ready()
    while True:
        await _send_report(gateway, sink)
        await asyncio.sleep(REPORT_EVERY_S)


async def _send_report(gateway: Gateway, sink: RemoteSink) -> None:
    report = wire.Report(gateway.facts(), snapshot(gateway.metrics.registry))
    try:
        await sink.send(report)
    except (OSError, RuntimeError, asyncio.IncompleteReadError) as e:
        log.warning("could not report to the rules process: %s", e)
