"""The Committer: makes encoded batches durable and owns what that depends on — the InfluxDB
writer, the disk spool, and the knowledge of whether InfluxDB is taking writes.

Durable means written to InfluxDB or, when InfluxDB stays down, slow or frozen past a short
retry budget, appended to the fsync'd spool (gateway/spool.py). After one spooled batch, live
batches go straight to the spool (no budget spent per batch) until the drainer's next
successful write shows InfluxDB is back; the drainer runs beside live traffic, oldest first.
So live ingest never stalls on InfluxDB and the broker's queue does not fill during an outage.
A full spool with policy `refuse` holds the batch (retrying, so the caller does not ack it) —
backpressure: the in-flight window fills and the broker keeps the rest; `drop_oldest` deletes
the oldest spooled readings, counted. Without a spool a batch retries until stored.

At a stop, a batch nothing will take within `shutdown_grace_s` is given up (`commit` returns
False, the caller leaves it unacknowledged with the broker); the spool is closed on exit and
what it holds is drained by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

from adapters.influx.errors import InfluxError
from adapters.influx.writer import InfluxWriter, WriteResult
from gateway.backoff import Backoff
from gateway.metrics import GatewayMetrics
from gateway.spool import Spool, Spooled

DRAIN_WRITES = 2
"""Drain writes in flight at once (InfluxDB parses one body per core)."""

log = logging.getLogger(__name__)


class Committer:
    """`async with committer:` opens the writer; `commit(lines)` until stored or spooled;
    `drain()` is the spool drainer's loop (run it beside, when there is a spool)."""

    def __init__(
        self,
        writer: InfluxWriter,
        *,
        metrics: GatewayMetrics,
        spool: Spool | None = None,
        retry_budget_s: float = 5.0,
        drain_batch: int = 50_000,
        shutdown_grace_s: float = 10.0,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.spool = spool
        self.retry_budget_s = retry_budget_s
        self.drain_batch = drain_batch
        self.shutdown_grace_s = shutdown_grace_s
        self.influx_up = True
        """False after a live batch went to the spool, until the drainer writes again."""
        self.spool_full = False
        self.spool_dropped = 0
        self.spool_refused = 0
        self.dead_letters = 0
        self.write_errors: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._spooled = asyncio.Event()

    async def __aenter__(self) -> Committer:
        try:
            await self.writer.__aenter__()
        except BaseException:
            self._close_spool()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.writer.__aexit__(et, e, tb)
        finally:
            self._close_spool()

    def _close_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()

    def stop(self) -> None:
        """Stopping: the drainer ends, and a batch nothing takes is given up after the grace."""
        self._stopping.set()

    # -- committing ---------------------------------------------------------------------------
    async def commit(self, lines: list[str]) -> bool:
        """Make the lines durable: InfluxDB within the retry budget, else the spool; without a
        spool, retry until stored. False only when stopping and nothing would take them within
        the grace period (then nothing is acked and the broker keeps the messages)."""
        if not lines:
            return True
        spool = self.spool
        if spool is None:
            return await self._store_until_stopped(lines)
        backoff = Backoff(base=0.2, cap=5.0)
        deadline: float | None = None
        refused = False
        while True:
            if self.influx_up:
                if await self._write_live(lines):
                    self.spool_full = False
                    return True
                self.influx_up = False
                log.warning("InfluxDB unavailable: spooling readings until it is back")
            if spool.fits(len(lines)):
                result = await asyncio.to_thread(spool.append, lines)
                if result.stored:
                    self.spool_full = spool.full
                    self.metrics.spooled.inc(len(lines))
                    if result.dropped:
                        self.spool_dropped += result.dropped
                        self.metrics.spool_dropped.inc(result.dropped)
                        log.error(
                            "spool full: dropped the %d oldest spooled readings (policy "
                            "drop_oldest)",
                            result.dropped,
                        )
                    self._spooled.set()
                    return True
            self.spool_full = True
            if not refused:  # count a refused batch once, however long it waits
                refused = True
                self.spool_refused += len(lines)
                self.metrics.spool_refused.inc(len(lines))
                await asyncio.to_thread(spool.note_refused, len(lines))
                log.error(
                    "spool full (%d readings): holding %d readings unacknowledged (policy "
                    "refuse); the broker keeps the rest",
                    spool.depth,
                    len(lines),
                )
            if self._stopping.is_set():
                deadline = deadline or time.monotonic() + self.shutdown_grace_s
                if time.monotonic() >= deadline:
                    return False
            await asyncio.sleep(backoff.next())

    async def _write_live(self, lines: list[str]) -> bool:
        """Write within the retry budget; False when the budget ran out or InfluxDB refused
        the request itself (the spool keeps the lines and the drainer retries)."""
        backoff = Backoff(base=0.1, cap=2.0)
        deadline = time.monotonic() + self.retry_budget_s
        while True:
            started = time.monotonic()
            try:
                async with asyncio.timeout(max(deadline - started, 0.001)):
                    result = await self.writer.write(lines)
            except TimeoutError:
                self._count_error("live", "timeout")
                return False
            except InfluxError as e:
                self._count_error("live", e.error_class)
                if not e.retryable:
                    log.error("InfluxDB refused the write (not retried live): %s", e)
                    return False
                delay = backoff.next()
                if time.monotonic() + delay >= deadline:
                    return False
                log.warning("InfluxDB write failed (%s), retrying in %.1f s", e.error_class, delay)
                await asyncio.sleep(delay)
                continue
            self.metrics.write_seconds.observe(time.monotonic() - started)
            await self._stored("live", lines, result)
            return True

    async def _store_until_stopped(self, lines: list[str]) -> bool:
        """No spool: write until stored; False when stopping and InfluxDB stays unreachable
        past the grace period."""
        backoff = Backoff(base=0.2, cap=10.0)
        deadline: float | None = None
        while True:
            started = time.monotonic()
            try:
                result = await self.writer.write(lines)
            except InfluxError as e:
                self._count_error("live", e.error_class)
                self.influx_up = False
                if self._stopping.is_set():
                    deadline = deadline or time.monotonic() + self.shutdown_grace_s
                    if time.monotonic() >= deadline:
                        log.error("giving up %d lines at shutdown, unacked: %s", len(lines), e)
                        return False
                delay = backoff.next()
                log.warning(
                    "InfluxDB write failed (%s), retrying in %.1f s: %s", e.error_class, delay, e
                )
                await asyncio.sleep(delay)
                continue
            self.influx_up = True
            self.metrics.write_seconds.observe(time.monotonic() - started)
            await self._stored("live", lines, result)
            return True

    async def _stored(self, path: str, lines: list[str], result: WriteResult) -> None:
        """Count a write InfluxDB answered; dead-letter what it refused for good."""
        self.metrics.batch_size.observe(len(lines))
        self.metrics.readings_stored.inc(result.written)
        if result.splits:
            self.metrics.splits.inc(result.splits)
        if not result.partial:
            self.metrics.writes.labels(path, "ok", "").inc()
            return
        self.metrics.writes.labels(path, "partial", "").inc()
        self.metrics.dead_letters.inc(len(result.refused))
        self.dead_letters += len(result.refused)
        log.warning(
            "InfluxDB refused %d of %d lines (dead-lettered, not retried); first: %r",
            len(result.refused),
            len(lines),
            result.refused[:1],
        )
        if self.spool is not None:
            await asyncio.to_thread(self.spool.dead_letter, result.refused)

    def _count_error(self, path: str, error_class: str) -> None:
        self.metrics.writes.labels(path, "error", error_class).inc()
        self.write_errors[error_class] = self.write_errors.get(error_class, 0) + 1

    # -- draining -----------------------------------------------------------------------------
    async def drain(self) -> None:
        """Spooled batches to InfluxDB, oldest first, in writes of up to `drain_batch` lines,
        `DRAIN_WRITES` at a time; a batch is deleted only after InfluxDB answered for it.
        Returns at `stop()` (at once without a spool)."""
        spool = self.spool
        if spool is None:
            return
        backoff = Backoff(base=0.2, cap=5.0)
        while not self._stopping.is_set():
            if spool.depth == 0:
                self._spooled.clear()
                await self._pause(1.0, self._spooled)
                continue
            batches = await asyncio.to_thread(spool.peek, self.drain_batch * DRAIN_WRITES)
            chunks = _chunks(batches, self.drain_batch)
            outcomes = await asyncio.gather(*(self._drain_chunk(c) for c in chunks))
            done = [b.id for chunk, ok in zip(chunks, outcomes, strict=True) if ok for b in chunk]
            await asyncio.to_thread(spool.remove, done)
            self.spool_full = spool.full
            if not all(outcomes):
                self.influx_up = False
                await self._pause(backoff.next())
                continue
            backoff.reset()
            if not self.influx_up:
                log.info("InfluxDB is back: live writes resume; draining %d", spool.depth)
                self.influx_up = True

    async def _drain_chunk(self, batches: list[Spooled]) -> bool:
        lines = [line for b in batches for line in b.lines]
        started = time.monotonic()
        try:
            result = await self.writer.write(lines)
        except InfluxError as e:
            self._count_error("drain", e.error_class)
            return False
        self.metrics.write_seconds.observe(time.monotonic() - started)
        await self._stored("drain", lines, result)
        self.metrics.drained.inc(len(lines))
        return True

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep, cut short by `stop()` (or by `wake`)."""
        events = [self._stopping] + ([wake] if wake is not None else [])
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()


def _chunks(batches: list[Spooled], max_lines: int) -> list[list[Spooled]]:
    """Consecutive runs of whole batches of up to `max_lines` lines (at least one batch)."""
    out: list[list[Spooled]] = []
    size = max_lines
    for b in batches:
        if size + len(b.lines) > max_lines:
            out.append([])
            size = 0
        out[-1].append(b)
        size += len(b.lines)
    return out
