"""Hands notices to every channel in the background, so neither the rule engine's loop nor an
API request waits for a slow webhook. The queue is bounded; overflow is counted, not fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from services.notify.channel import Channel
from services.tickets.schemas import NOTIFIED, Notice

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self, channels: Sequence[Channel], maxsize: int = 10_000, drain_s: float = 10.0
    ) -> None:
        self.channels = list(channels)
        self.drain_s = drain_s
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.delivered = 0

    def submit(self, notices: Sequence[Notice]) -> None:
        """Queue what deserves a notification (others are silently skipped: no storms)."""
        for n in notices:
            if n.event not in NOTIFIED or not self.channels:
                continue
            try:
                self._queue.put_nowait(n)
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("notification queue full; ticket %s %s dropped", n.ticket.id, n.event)

    async def _run(self) -> None:
        while True:
            n = await self._queue.get()
            try:
                await asyncio.gather(*(c.send(n) for c in self.channels))
                self.delivered += 1
            except Exception:  # a channel bug must not stop the others' deliveries
                log.exception("notification of ticket %s failed", n.ticket.id)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Wait until everything queued has been handed to the channels (tests, shutdown)."""
        await self._queue.join()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="notify-dispatch")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.join(), self.drain_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
