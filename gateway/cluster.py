"""Several gateway processes on one MQTT v5 shared subscription, one rule evaluator.

One paho thread cannot receive much past ~12–25k messages/s, so ingest scales out to worker
processes (gateway/worker.py), each a full `Gateway` (decode, validate, registry, unit
conversion, InfluxDB write or spool, ack after commit) on `$share/{group}/{prefix}/+/+/telemetry`.
The broker round-robins messages over the members, so one sensor's readings land on every
worker.

Rule state must live where a sensor's readings are evaluated, so evaluation is NOT spread out:
each worker hands its committed batch over a local socket (gateway/wire.py) to the one process
that owns the sinks (this one: the rule engine, the rejection store), and acknowledges to the
broker only after the parent has taken the batch. Rules therefore see every committed reading
of a sensor in one place; batches from different workers may interleave out of device-time
order, which the engine already handles (late readings never reopen or re-raise).

The workers also report their health facts and metrics every second: `health()` is the
cluster's one verdict (gateway/health.py `combine`) and `metrics_registry` serves each
worker's figures with a `worker` label, for `--metrics-port`.

Reliability notes (reliability.md):
- Each worker has its own durable session (client id `{base}-w{i}`) and its own spool:
  Mosquitto also round-robins to an offline member, whose share waits in its session until it
  returns. The parent therefore restarts a worker that dies, with the same client id, and
  deployments keep the worker count stable (a removed worker's session must be drained or
  expire).
- Each worker bounds its in-flight window with the MQTT v5 Receive Maximum; the broker's
  `max_inflight_messages` must not be lower for v5 clients to matter.
- A worker starts while InfluxDB is down, like the single process: it spools, acknowledges,
  and its drainer writes the spool when InfluxDB returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from domain.ports import RegistryFeed
from domain.settings import Settings
from domain.site import Registry
from gateway import wire
from gateway.front import Sinks
from gateway.health import Facts, Health, Status, assess, combine
from gateway.metrics import Family, WorkerCollector
from gateway.worker import REPORT_EVERY_S, SHARE_GROUP, WorkerJob, run_worker

log = logging.getLogger(__name__)

STALE_REPORT_S = 5 * REPORT_EVERY_S
"""A worker whose last report is older than this is counted as not running."""


@dataclass(frozen=True, slots=True)
class _Reported:
    at: float
    report: wire.Report


class SinkServer:
    """Takes frames from workers over a Unix socket: batches go, one at a time, to the real
    sinks; reports are kept, the latest per worker."""

    def __init__(self, path: Path, sinks: Sinks) -> None:
        self.path = path
        self.sinks = sinks
        self.batches = 0
        self.readings = 0
        self.wire_errors = 0
        self.ready: set[int] = set()
        """Indexes of workers that reported holding their subscriptions."""
        self.by_worker: dict[int, int] = {}
        """Readings handed over per worker index (which members took part)."""
        self.reports: dict[int, _Reported] = {}
        self.changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SinkServer:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        worker = -1
        try:
            while True:
                frame = await wire.read(reader)
                ok = True
                if isinstance(frame, wire.Hello):
                    worker = frame.index
                elif isinstance(frame, wire.Report):
                    self.reports[worker] = _Reported(time.monotonic(), frame)
                    if frame.facts.broker_connected:
                        self.ready.add(worker)
                else:
                    ok = await self._handle(frame, worker)
                writer.write(wire.OK if ok else wire.FAILED)
                self.changed.set()
        except wire.WireError as e:
            self.wire_errors += 1
            log.error("closing the connection of gateway worker %d: %s", worker, e)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _handle(self, frame: wire.Frame, worker: int) -> bool:
        sinks = self.sinks
        try:
            async with self._lock:
                if isinstance(frame, wire.Measurements):
                    self.readings += len(frame.items)
                    self.by_worker[worker] = self.by_worker.get(worker, 0) + len(frame.items)
                    await sinks.measurements.accept(frame.items)
                elif isinstance(frame, wire.Rejections):
                    await sinks.rejections.record(frame.items)
                elif isinstance(frame, wire.Statuses) and sinks.statuses is not None:
                    for sensor, online, at_ns in frame.items:
                        await sinks.statuses.status(sensor, online, at_ns)
                self.batches += 1
            return True
        except Exception:
            log.exception("a sink failed on a forwarded batch; the data is stored in InfluxDB")
            return False


@dataclass
class _Member:
    index: int
    process: BaseProcess
    started: float


class Cluster:
    """`await Cluster(...).run()` spawns `workers` gateway processes and serves their batches
    to `sinks` until `stop()`; a worker that dies is restarted with its client id. `worker` is
    the process entry point (tests give one on fakes)."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        sinks: Sinks,
        *,
        workers: int,
        group: str = SHARE_GROUP,
        worker: Callable[[WorkerJob], None] = run_worker,
        feed: RegistryFeed | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a cluster needs at least one worker")
        self.settings = settings
        self.registry = registry
        self.sinks = sinks
        self.workers = workers
        self.group = group
        self.worker = worker
        self.feed = feed  # each worker follows the live registry with it
        self.server: SinkServer | None = None
        self.metrics_registry = CollectorRegistry()
        self.metrics_registry.register(WorkerCollector(self._families))
        self._restarts = Counter(
            "gridwatch_gateway_worker_restarts",
            "Gateway worker processes restarted after they died",
            registry=self.metrics_registry,
        )
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._ctx = multiprocessing.get_context("spawn")
        self._members: list[_Member] = []

    async def wait_ready(self) -> None:
        """Until every worker holds its subscriptions."""
        while self.server is None or len(self.server.ready) < self.workers:
            if self.server is not None:
                self.server.changed.clear()
                await self.server.changed.wait()
            else:
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        """Stop every worker gracefully (each commits what it holds), then return from run."""
        self._stopping.set()

    # -- what the workers report --------------------------------------------------------------
    def _fresh(self) -> dict[int, wire.Report]:
        server = self.server
        if server is None:
            return {}
        now = time.monotonic()
        return {i: r.report for i, r in server.reports.items() if now - r.at <= STALE_REPORT_S}

    def _families(self) -> Mapping[int, Sequence[Family]]:
        server = self.server  # counters stay served after a worker's last report (no reset)
        reports = {} if server is None else dict(server.reports)  # a scrape runs in a thread
        return {i: r.report.families for i, r in reports.items()}

    def health(self) -> Health:
        """One verdict for the cluster: the workers' facts combined; a worker that has not
        reported lately is a problem of its own."""
        fresh = self._fresh()
        silent = [i for i in range(self.workers) if i not in fresh]
        facts = (
            combine([r.facts for r in fresh.values()])
            if fresh
            else Facts(
                broker_connected=False,
                session_persistent=None,
                influx_up=True,
                spool_enabled=self.settings.spool.enabled,
            )
        )
        health = assess(facts, stale_after_s=self.settings.gateway.stale_after_s)
        if not silent:
            return health
        problems = [
            f"gateway worker {i} has not reported for {STALE_REPORT_S:.0f} s" for i in silent
        ]
        return Health(Status.FAILING, problems + health.problems, facts)

    # -- running ------------------------------------------------------------------------------
    async def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="gridwatch-cluster-") as tmp:
            path = Path(tmp) / "sinks.sock"
            async with SinkServer(path, self.sinks) as server:
                self.server = server
                self._members = [self._spawn(i, path) for i in range(self.workers)]
                try:
                    while not self._stopping.is_set():
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(0.5):
                                await self._stopping.wait()
                        for k, m in enumerate(self._members):
                            if not m.process.is_alive() and not self._stopping.is_set():
                                log.error(
                                    "gateway worker %d exited (%s); restarting",
                                    m.index,
                                    m.process.exitcode,
                                )
                                self.restarts += 1
                                self._restarts.inc()
                                self._members[k] = self._spawn(m.index, path)
                finally:
                    await self._terminate()

    def _spawn(self, index: int, path: Path) -> _Member:
        job = WorkerJob(
            settings=self.settings,
            registry=self.registry,
            index=index,
            group=self.group,
            socket=str(path),
            log_level=logging.getLogger().getEffectiveLevel(),
            statuses=self.sinks.statuses is not None,
            feed=self.feed,
        )
        process = self._ctx.Process(
            target=self.worker, args=(job,), name=f"gridwatch-gateway-w{index}", daemon=False
        )
        process.start()
        return _Member(index, process, time.monotonic())

    async def _terminate(self) -> None:
        for m in self._members:
            if m.process.is_alive() and m.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.process.pid, signal.SIGTERM)
        for m in self._members:
            await asyncio.to_thread(m.process.join, 60)
            if m.process.is_alive():
                log.error("gateway worker %d did not stop; killing it", m.index)
                m.process.kill()
                await asyncio.to_thread(m.process.join, 5)
