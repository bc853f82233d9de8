"""Several gateway processes on one MQTT v5 shared subscription, one rule evaluator.

One paho thread cannot receive much past ~12–25k messages/s, so ingest scales out to worker
processes, each a full `Gateway` (decode, validate, registry, unit conversion, InfluxDB write,
ack after commit) on `$share/{group}/{prefix}/+/+/telemetry`. The broker round-robins messages
over the members, so one sensor's readings land on every worker.

Rule state must live where a sensor's readings are evaluated, so evaluation is NOT spread out:
each worker hands its committed batch (measurements and rejections) over a local socket to
the one process that owns the rule engine (the parent), and acknowledges to the broker only
after the parent has taken the batch. Rules therefore see every committed reading of a sensor
in one place; batches from different workers may interleave out of device-time order, which
the engine already handles (late readings never reopen or re-raise; replays are absorbed).

Reliability notes (reliability.md):
- Each worker has its own durable session (client id `{base}-w{i}`): Mosquitto also
  round-robins to an offline member, whose share waits in its session until it returns. The
  parent therefore restarts a worker that dies, with the same client id, and deployments keep
  the worker count stable (a removed worker's session must be drained or expire).
- Each worker bounds its in-flight window with the MQTT v5 Receive Maximum; the broker's
  `max_inflight_messages` must not be lower for v5 clients to matter (Mosquitto applies the
  client's value).

Wire format between worker and parent: frames of [u32 length][u8 kind][msgpack body], where
kind is M (measurements) or R (rejections); the parent answers each frame with one byte (0 ok,
1 sink failed — the worker then still acks: the data is stored, like the in-process gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import msgspec

from domain import topics
from domain.measurement import Measurement, Rejection
from domain.ports import MeasurementSink, RejectionSink
from domain.site import Registry
from gateway.metrics import GatewayMetrics
from gateway.service import build_gateway
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

SHARE_GROUP = "gridwatch"
_HEADER = struct.Struct(">IB")
_MEASUREMENTS = ord("M")
_REJECTIONS = ord("R")
_HELLO = ord("H")  # body: the worker's index, sent once it holds its subscriptions


def worker_client_id(base: str, index: int) -> str:
    """The durable MQTT client id of worker `index` (stable across restarts)."""
    return f"{base}-w{index}"


def worker_subscriptions(prefix: str, group: str = SHARE_GROUP) -> list[str]:
    """The shared-subscription filters every worker holds."""
    return [f"$share/{group}/{f}" for f in topics.subscriptions(prefix)]


# -- parent side: the sink server -------------------------------------------------------------
class SinkServer:
    """Takes committed batches from workers over a Unix socket and hands them, one at a time,
    to the real sinks (the rule engine and the rejection store)."""

    def __init__(
        self, path: Path, measurements: MeasurementSink, rejections: RejectionSink
    ) -> None:
        self.path = path
        self.measurements = measurements
        self.rejections = rejections
        self.batches = 0
        self.readings = 0
        self.ready: set[int] = set()
        """Indexes of workers that announced their subscriptions."""
        self.by_worker: dict[int, int] = {}
        """Readings handed over per worker index (which members took part)."""
        self.changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._server: asyncio.Server | None = None
        self._m = msgspec.msgpack.Decoder(list[Measurement])
        self._r = msgspec.msgpack.Decoder(list[Rejection])

    async def __aenter__(self) -> SinkServer:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            worker = -1
            while True:
                head = await reader.readexactly(_HEADER.size)
                size, kind = _HEADER.unpack(head)
                body = await reader.readexactly(size)
                if kind == _HELLO:
                    worker = int(body)
                    self.ready.add(worker)
                    ok = True
                else:
                    ok = await self._handle(kind, body, worker)
                writer.write(b"\x00" if ok else b"\x01")
                self.changed.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _handle(self, kind: int, body: bytes, worker: int) -> bool:
        try:
            async with self._lock:
                if kind == _MEASUREMENTS:
                    batch = self._m.decode(body)
                    self.readings += len(batch)
                    self.by_worker[worker] = self.by_worker.get(worker, 0) + len(batch)
                    await self.measurements.accept(batch)
                else:
                    await self.rejections.record(self._r.decode(body))
                self.batches += 1
            return True
        except Exception:
            log.exception("a sink failed on a forwarded batch; the data is stored in InfluxDB")
            return False


# -- worker side: the remote sink -------------------------------------------------------------
class RemoteSink:
    """A worker's MeasurementSink and RejectionSink: forwards each committed batch to the
    parent and returns once the parent has handled it (so the ack follows the rules)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._enc = msgspec.msgpack.Encoder()
        self._lock = asyncio.Lock()
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        await self._send(_MEASUREMENTS, measurements)

    async def record(self, rejections: Sequence[Rejection]) -> None:
        await self._send(_REJECTIONS, rejections)

    async def hello(self, index: int) -> None:
        """Tell the parent this worker holds its subscriptions."""
        await self._send(_HELLO, None, str(index).encode())

    async def _send(self, kind: int, items: Sequence[Any] | None, raw: bytes = b"") -> None:
        body = self._enc.encode(items) if items is not None else raw
        async with self._lock:
            if self._conn is None:
                self._conn = await asyncio.open_unix_connection(str(self.path))
            reader, writer = self._conn
            try:
                writer.write(_HEADER.pack(len(body), kind) + body)
                answer = await reader.readexactly(1)
            except (asyncio.IncompleteReadError, ConnectionError):
                self._conn = None
                writer.close()
                raise
        if answer != b"\x00":
            raise RuntimeError("the rules process could not handle a batch")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


def _worker_main(
    settings: GatewaySettings, registry: Registry, index: int, group: str, path: str, level: int
) -> None:
    logging.basicConfig(
        level=level, format=f"%(asctime)s %(levelname)s w{index} %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(settings, registry, index, group, Path(path)))


async def _worker(
    settings: GatewaySettings, registry: Registry, index: int, group: str, path: Path
) -> None:
    own = settings.model_copy(
        update={"mqtt_client_id": worker_client_id(settings.mqtt_client_id, index)}
    )
    sink = RemoteSink(path)
    gateway = build_gateway(
        own,
        registry,
        measurements=sink,
        rejections=sink,
        metrics=GatewayMetrics(),
        subscriptions=worker_subscriptions(settings.topic_prefix, group),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, gateway.stop)

    async def announce() -> None:
        await gateway.source.subscribed.wait()
        await sink.hello(index)

    hello = asyncio.create_task(announce())
    try:
        await gateway.run()
    finally:
        hello.cancel()
        await sink.close()


# -- parent: the cluster ----------------------------------------------------------------------
@dataclass
class _Member:
    index: int
    process: BaseProcess
    started: float


class Cluster:
    """`await Cluster(...).run()` spawns `workers` gateway processes and serves their batches
    to the given sinks until `stop()`; a worker that dies is restarted with its client id."""

    def __init__(
        self,
        settings: GatewaySettings,
        registry: Registry,
        *,
        workers: int,
        measurements: MeasurementSink,
        rejections: RejectionSink,
        group: str = SHARE_GROUP,
    ) -> None:
        if workers < 1:
            raise ValueError("a cluster needs at least one worker")
        self.settings = settings
        self.registry = registry
        self.workers = workers
        self.group = group
        self.measurements = measurements
        self.rejections = rejections
        self.restarts = 0
        self.server: SinkServer | None = None
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

    async def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="gridwatch-cluster-") as tmp:
            path = Path(tmp) / "sinks.sock"
            async with SinkServer(path, self.measurements, self.rejections) as server:
                self.server = server
                self._members = [self._spawn(i, path) for i in range(self.workers)]
                try:
                    while not self._stopping.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), 0.5)
                        for k, m in enumerate(self._members):
                            if not m.process.is_alive() and not self._stopping.is_set():
                                log.error(
                                    "gateway worker %d exited (%s); restarting",
                                    m.index, m.process.exitcode,
                                )  # fmt: skip
                                self.restarts += 1
                                self._members[k] = self._spawn(m.index, path)
                finally:
                    await self._terminate()

    def _spawn(self, index: int, path: Path) -> _Member:
        process = self._ctx.Process(
            target=_worker_main,
            args=(
                self.settings,
                self.registry,
                index,
                self.group,
                str(path),
                logging.getLogger().getEffectiveLevel(),
            ),
            name=f"gridwatch-gateway-w{index}",
            daemon=False,
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
