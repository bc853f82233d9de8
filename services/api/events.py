"""Live ticket events for open dashboard pages: an in-process broadcaster with one bounded
queue per page, and the server-sent-events body each page reads.

Anything may call `publish(event_dict)` from any thread; services.api.live publishes each new
timeline line as a `LiveEvent` (the line and the ticket's brief, not its timeline). A page
receives only the events its principal may see (a crew only its own grid cells' tickets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.auth.principal import Principal

Event = Mapping[str, Any]

KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies and the browser from dropping an idle stream."""


class _Closed:
    """Sentinel telling a subscription the hub is shutting down."""


_CLOSED = _Closed()


@dataclass(eq=False)
class Subscription:
    """One listener's bounded queue on the event loop it reads from."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | _Closed]
    dropped: int = 0

    def offer(self, item: Event | _Closed) -> None:
        """Enqueue without blocking; a slow reader loses its oldest events, never the hub."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
                    self.dropped += 1

    async def next(self, idle_s: float) -> Event | None:
        """The next event, None after `idle_s` seconds of quiet; StopAsyncIteration if closed."""
        try:
            async with asyncio.timeout(idle_s):
                item = await self.queue.get()
        except TimeoutError:
            return None
        if isinstance(item, _Closed):
            raise StopAsyncIteration
        return item


@dataclass
class EventHub:
    """Fan-out of ticket events to every open event stream in this process."""

    max_queued: int = 256
    published: int = 0
    _subs: set[Subscription] = field(default_factory=set)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self._subs)

    def publish(self, event: Event) -> None:
        """Hand `event` (a JSON-able dict, e.g. a LiveEvent dumped in JSON mode) to every
        subscriber. Safe from any thread and never blocks; a closed loop's subscriber is
        forgotten."""
        self.published += 1
        for sub in list(self._subs):
            try:
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # its loop has closed
                self._subs.discard(sub)

    def close(self) -> None:
        """End every open stream (call before stopping the server so it need not wait)."""
        for sub in list(self._subs):
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.offer, _CLOSED)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A subscription for the duration of the `async with` block."""
        sub = Subscription(asyncio.get_running_loop(), asyncio.Queue(self.max_queued))
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)


def event_grid(event: Event) -> str | None:
    """The grid cell an event belongs to: `grid`, or that of the `ticket` it carries."""
    grid = event.get("grid")
    ticket = event.get("ticket")
    if grid is None and isinstance(ticket, Mapping):
        grid = ticket.get("grid")
    return grid if isinstance(grid, str) else None


def visible(principal: Principal, event: Event) -> bool:
    """A crew sees events of its own grid cells only; an event without a grid is not shown to
    crews (never another grid's data)."""
    if principal.scope is None:
        return True
    grid = event_grid(event)
    return grid is not None and principal.sees_grid(grid)


def sse_message(event: Event, seq: int) -> str:
    return f"id: {seq}\ndata: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def event_stream(
    hub: EventHub, principal: Principal, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[str]:
    """The text/event-stream body for one page: events it may see, and keep-alive comments."""
    async with hub.subscribe() as sub:
        yield "retry: 5000\n: connected\n\n"
        seq = 0
        while True:
            try:
                event = await sub.next(keepalive_s)
            except StopAsyncIteration:
                return
            if event is None:
                yield ": keep-alive\n\n"
            elif visible(principal, event):
                seq += 1
                yield sse_message(event, seq)
