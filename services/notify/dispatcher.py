"""Hands notices to every channel in the background, so neither the rule engine's loop nor an
API request waits for a slow webhook.

Each channel has its own bounded queue and its own worker (a lane): a webhook that hangs until
its timeout, retried with backoff, delays only the webhook's next notice, never the MQTT one
behind it. Delivery stays at-least-once per channel as far as a channel's own retries go; a
lane's overflow is counted, not fatal, and never blocks the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from services.notify.channel import Channel
from services.tickets.schemas import NOTIFIED, Notice

log = logging.getLogger(__name__)


class _Lane:
    """One channel's queue and the worker that empties it, one notice at a time (in order)."""

    def __init__(self, channel: Channel, maxsize: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize)
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.delivered = 0

    def offer(self, n: Notice) -> None:
        try:
            self.queue.put_nowait(n)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning(
                "%s notification queue full; ticket %s %s dropped",
                self.channel.name,
                n.ticket.id,
                n.event,
            )

    async def run(self) -> None:
        while True:
            n = await self.queue.get()
            try:
                await self.channel.send(n)
                self.delivered += 1
            except Exception:  # a channel bug must not end its lane
                log.exception("%s notification of ticket %s failed", self.channel.name, n.ticket.id)
            finally:
                self.queue.task_done()


class Dispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        maxsize: int = 10_000,
        drain_s: float = 10.0,
        wake: Callable[[], None] | None = None,
    ) -> None:
        """`wake` is told after every submit: the outbox's channel workers (services.notify.
        notifier) then look for the rows the ticket transaction wrote at once."""
        self.channels = list(channels)
        self.wake = wake
        self.drain_s = drain_s
        self._lanes = [_Lane(c, maxsize) for c in self.channels]

    @property
    def dropped(self) -> int:
        """Notices some channel's full queue refused (one per channel that missed it)."""
        return sum(lane.dropped for lane in self._lanes)

    @property
    def delivered(self) -> int:
        """Notices handed to a channel (one per channel)."""
        return sum(lane.delivered for lane in self._lanes)

    def submit(self, notices: Sequence[Notice]) -> None:
        """Queue what deserves a notification on every channel (others are silently skipped:
        no storms). Never blocks."""
        for n in notices:
            if n.event not in NOTIFIED:
                continue
            for lane in self._lanes:
                lane.offer(n)

    async def join(self) -> None:
        """Wait until everything queued has been handed to the channels (tests, shutdown)."""
        await asyncio.gather(*(lane.queue.join() for lane in self._lanes))

    async def __aenter__(self) -> Self:
        for lane in self._lanes:
            lane.task = asyncio.create_task(lane.run(), name=f"notify-{lane.channel.name}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.drain_s):
                await self.join()
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
