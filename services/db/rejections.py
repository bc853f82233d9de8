"""Where refused input is kept for `GET /rejections`: the newest N in SQL, written in batches.

`record` only appends to a bounded in-memory buffer (the gateway's receive loop never waits on
the database); a background task flushes the buffer in one INSERT per batch in a worker thread
and trims the table to the newest `keep` rows. If the database is unavailable, the buffer keeps
the newest `keep` and counts what it had to drop: bounded, counted, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from domain.measurement import Rejection
from services.db.models import RejectionRow

log = logging.getLogger(__name__)

DEFAULT_KEEP = 10_000
MAX_TEXT = 512


@dataclass(frozen=True, slots=True)
class StoredRejection:
    id: int
    reason: str
    topic: str
    sensor: str | None
    metric: str | None
    detail: str
    payload_head: str
    received_at_ns: int


class RejectionStore:
    """Implements domain.ports.RejectionSink; use as `async with RejectionStore(engine)`."""

    def __init__(
        self, engine: Engine, keep: int = DEFAULT_KEEP, flush_interval_s: float = 0.5
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.flush_interval_s = flush_interval_s
        self._buffer: deque[Rejection] = deque(maxlen=keep)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.recorded = 0
        self.stored = 0
        self.dropped = 0  # buffer overflow while the database lagged
        self.write_errors = 0

    async def record(self, rejections: Sequence[Rejection]) -> None:
        for r in rejections:
            if len(self._buffer) == self._buffer.maxlen:
                self.dropped += 1
            self._buffer.append(r)
        self.recorded += len(rejections)
        self._wake.set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="rejection-store-flush")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            await asyncio.sleep(self.flush_interval_s)

    async def flush(self) -> None:
        """Write what is buffered now (also called on the way down)."""
        if not self._buffer:
            return
        batch = list(self._buffer)
        self._buffer.clear()
        try:
            await asyncio.to_thread(self._insert, batch)
        except SQLAlchemyError as e:
            self.write_errors += 1
            log.warning("cannot store %d rejections: %s", len(batch), e)
            room = self.keep - len(self._buffer)
            keep = batch[-room:] if room > 0 else []
            self.dropped += len(batch) - len(keep)
            self._buffer.extendleft(reversed(keep))
        else:
            self.stored += len(batch)

    def _insert(self, batch: list[Rejection]) -> None:
        rows = [
            {
                "reason": str(r.reason),
                "topic": r.topic[:300],
                "sensor": r.sensor[:64] if r.sensor else None,
                "metric": r.metric[:64] if r.metric else None,
                "detail": r.detail[:MAX_TEXT],
                "payload_head": r.payload_head[:MAX_TEXT],
                "received_at_ns": r.received_at_ns,
            }
            for r in batch[-self.keep :]
        ]
        with Session(self.engine) as s, s.begin():
            s.execute(insert(RejectionRow), rows)
            newest = s.scalar(select(func.max(RejectionRow.id)))
            if newest is not None:
                s.execute(delete(RejectionRow).where(RejectionRow.id <= newest - self.keep))

    def recent(self, limit: int = 100) -> list[StoredRejection]:
        """The newest stored rejections, newest first."""
        with Session(self.engine) as s:
            rows = s.scalars(
                select(RejectionRow).order_by(RejectionRow.id.desc()).limit(max(0, limit))
            )
            return [
                StoredRejection(
                    r.id,
                    r.reason,
                    r.topic,
                    r.sensor,
                    r.metric,
                    r.detail,
                    r.payload_head,
                    r.received_at_ns,
                )
                for r in rows
            ]
