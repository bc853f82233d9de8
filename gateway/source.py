"""What the gateway needs from its message source (the MQTT adapter, or a fake in tests).

The contract the Batcher and the Gateway rely on, so that neither knows about paho: messages
come in batches and stay unacknowledged until `ack` (after the commit); `interrupt` ends the
taking at a stop; the rest are facts for the health report. `gateway.mqttsession.MqttSession` is
the real one, `gateway.testing.FakeSource` the one without a broker. `Inbox` is the receiving half
they all share, so the waiting and interrupting rules are written once.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import NamedTuple, Protocol, Self


class Message(NamedTuple):
    """One received message; `mid` and `generation` identify it for the acknowledgement.

    A NamedTuple, not a frozen dataclass: one is built per message on the receive path, and a
    frozen dataclass's `__init__` (an `object.__setattr__` per field) cost 1.0 µs against 0.3."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    generation: int
    received_ns: int


class MessageSource(Protocol):
    """An async context manager: entering connects (retrying in the background if need be),
    leaving disconnects; messages not acknowledged by then are redelivered to the next session."""

    receive_maximum: int
    """The most messages the broker hands over unacknowledged (the in-flight window)."""
    subscribed: asyncio.Event
    """Set while the source holds its subscriptions (health: connected to the broker)."""
    session_persistent: bool | None
    """Whether the broker keeps our session across a disconnect (None: not known yet)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def receive(self, max_messages: int, min_messages: int = 1) -> list[Message]:
        """Up to `max_messages`, waiting until `min_messages` are there (cancellable: nothing
        is taken then); [] at once after `interrupt`."""
        ...

    def take(self, max_messages: int) -> list[Message]:
        """Up to `max_messages` of those already received, without waiting."""
        ...

    def interrupt(self) -> None:
        """Stop handing out messages; what was not taken stays unacknowledged."""
        ...

    @property
    def pending(self) -> int:
        """Messages received and not yet taken."""
        ...

    def ack(self, messages: Iterable[Message]) -> int:
        """Acknowledge messages to the broker; returns how many were acknowledged."""
        ...


class Inbox:
    """Messages received and not yet taken, and the one wait for them.

    A source appends as the broker hands messages over and then calls `wake_if_ready` (on the
    event loop); the batcher's `receive` sleeps until enough are there, so a batching caller
    is woken once per chunk, not once per message. `append` may be called from another thread
    (a deque's append is atomic): such a source reads `ready` there and calls `wake` on the loop
    through `call_soon_threadsafe`.
    """

    def __init__(self) -> None:
        self._messages: collections.deque[Message] = collections.deque()
        self._ready = asyncio.Event()
        self._want = 1
        self._interrupted = False
        self.append: Callable[[Message], None] = self._messages.append
        """The deque's own append: one per message on the hot path, no Python frame around it."""

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def ready(self) -> bool:
        """Whether the waiting `receive` has the messages it waits for."""
        return len(self._messages) >= self._want

    def wake(self) -> None:
        """Let the waiting `receive` look again (it goes back to sleep if it has too few)."""
        self._ready.set()

    def wake_if_ready(self) -> None:
        if len(self._messages) >= self._want:
            self._ready.set()

    async def receive(self, max_messages: int, min_messages: int = 1) -> list[Message]:
        """Up to `max_messages` received messages, waiting until at least `min_messages` are
        there (wrap the call in `asyncio.timeout` to bound the wait; nothing is taken when it is
        cancelled — `take` then collects what came meanwhile)."""
        want = max(1, min(min_messages, max_messages))
        while len(self._messages) < want:
            if self._interrupted:
                return []
            # Set before the length check: a thread appending reads it after its append, so
            # either it sees the new want and wakes us, or the check below sees its message.
            self._want = want
            self._ready.clear()
            if len(self._messages) >= want:
                break
            await self._ready.wait()
        return self.take(max_messages)

    def take(self, max_messages: int) -> list[Message]:
        """Up to `max_messages` of the messages already received, without waiting."""
        messages = self._messages
        return [messages.popleft() for _ in range(min(max_messages, len(messages)))]

    def interrupt(self) -> None:
        """Stop handing out messages: a waiting `receive` returns [] now, and every later one
        at once. What was not taken stays unacknowledged, for the broker to redeliver."""
        self._interrupted = True
        self._ready.set()


class InboxSource:
    """The receiving half of a MessageSource, served from its `inbox`: a source class inherits
    it and fills `self.inbox`; connecting and acknowledging stay its own."""

    inbox: Inbox

    async def receive(self, max_messages: int, min_messages: int = 1) -> list[Message]:
        """See `Inbox.receive`."""
        return await self.inbox.receive(max_messages, min_messages)

    def take(self, max_messages: int) -> list[Message]:
        """See `Inbox.take`."""
        return self.inbox.take(max_messages)

    def interrupt(self) -> None:
        """See `Inbox.interrupt`."""
        self.inbox.interrupt()

    @property
    def pending(self) -> int:
        """Messages received and not yet taken."""
        return len(self.inbox)
