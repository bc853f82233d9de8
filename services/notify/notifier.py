"""The channel workers: one asyncio task per channel, so a slow or dead channel never delays
another, plus the escalation chains' clock.

A worker's round: wait for its rate limit, claim the channel's due outbox rows (several when
they came within a group window; one for MQTT and webhooks), render them as one message in the
channel's language, send it once (bounded by a timeout), record the outcome. Nothing is held
in memory that the outbox does not have: a restart, or a second hub process, picks up where
this one stopped.

Rate limits are per channel in this process (a sliding minute, and Feishu's 5 a second): two
hub processes sending to one robot may together exceed it, and the robot's "throttled" answer
is then retried like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine

from domain.channels import ChannelSpec, ChannelType
from services.notify.chains import escalate_due
from services.notify.directory import Directory
from services.notify.message import render
from services.notify.outbox import Claimed, Outbox
from services.notify.outcome import Outcome
from services.notify.robots import DINGTALK_MAX, FEISHU_MAX, WECOM_TEXT_MAX
from services.notify.senders import SINGLE, Sender, Senders

log = logging.getLogger(__name__)

SIZE_LIMITS = {
    ChannelType.WECOM: WECOM_TEXT_MAX - 16,
    ChannelType.DINGTALK: DINGTALK_MAX - 2_000,  # links and @mentions are added after
    ChannelType.FEISHU: FEISHU_MAX - 1_000,
}
"""Bytes a grouped message may take, so it names fewer tickets rather than being cut."""

MAX_GROUP = 200
"""Rows one message may carry (it names MAX_NAMED of them and counts the rest)."""


class RateLimit:
    """At most `per_min` sends in any 60 s (and `per_s` in any second, when given)."""

    def __init__(
        self, per_min: int, per_s: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_min = per_min
        self.per_s = per_s
        self.clock = clock
        self.sent: deque[float] = deque()

    def wait_s(self) -> float:
        now = self.clock()
        while self.sent and self.sent[0] <= now - 60.0:
            self.sent.popleft()
        wait = 0.0
        if len(self.sent) >= self.per_min:
            wait = self.sent[-self.per_min] + 60.0 - now
        if self.per_s is not None and len(self.sent) >= self.per_s:
            wait = max(wait, self.sent[-self.per_s] + 1.0 - now)
        return max(0.0, wait)

    def note(self) -> None:
        self.sent.append(self.clock())


class Notifier:
    """Runs a worker per channel of the directory and the escalation clock, until closed."""

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        directory: Directory,
        senders: Senders,
        *,
        rates: dict[ChannelType, int] | None = None,
        poll_s: float = 1.0,
        send_timeout_s: float = 10.0,
        refresh_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.directory = directory
        self.senders = senders
        self.rates = rates or {
            ChannelType.WECOM: 20,
            ChannelType.DINGTALK: 20,
            ChannelType.FEISHU: 100,
        }
        self.poll_s = poll_s
        self.send_timeout_s = send_timeout_s
        self.refresh_s = refresh_s
        self.attempts: Counter[tuple[str, str]] = Counter()  # (type, outcome) → messages
        self.notices: Counter[tuple[str, str]] = Counter()  # (type, outcome) → outbox rows
        self.messages: Counter[str] = Counter()  # channel id → messages sent
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: dict[str, asyncio.Event] = {}

    def limit_of(self, spec: ChannelSpec) -> RateLimit | None:
        per_min = spec.rate_per_min or self.rates.get(spec.type)
        if per_min is None:
            return None
        return RateLimit(per_min, 5 if spec.type is ChannelType.FEISHU else None)

    def wake(self) -> None:
        """New rows may be due now (after a local enqueue): workers look at once."""
        for ev in self._wake.values():
            ev.set()

    # -- the loops ----------------------------------------------------------------------------
    async def _refresh(self) -> None:
        while True:
            wanted = {c.id for c in self.directory.channels()}
            for cid in wanted - set(self._workers):
                self._wake[cid] = asyncio.Event()
                self._workers[cid] = asyncio.create_task(self._worker(cid), name=f"notify-{cid}")
            for cid in set(self._workers) - wanted:
                self._workers.pop(cid).cancel()
                self._wake.pop(cid, None)
            await asyncio.sleep(self.refresh_s)

    async def _escalations(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(escalate_due, self.outbox, self.engine):
                    self.wake()
            except Exception:
                log.exception("escalation round failed")
            await asyncio.sleep(self.poll_s)

    async def _worker(self, channel_id: str) -> None:
        limit: RateLimit | None = None
        sender: Sender | None = None
        spec_seen: ChannelSpec | None = None
        while True:
            spec = self.directory.channel(channel_id)
            if spec is None:
                return
            if spec != spec_seen:  # new, or changed in the registry
                spec_seen, sender, limit = spec, self.senders.of(spec), self.limit_of(spec)
            assert sender is not None  # noqa: S101 - set with spec_seen
            try:
                await self._round(spec, sender, limit)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database hiccuped: try again soon
                log.exception("notify worker %s failed a round", channel_id)
                await asyncio.sleep(self.poll_s)

    async def _round(self, spec: ChannelSpec, sender: Sender, limit: RateLimit | None) -> None:
        if limit is not None and (wait := limit.wait_s()) > 0:
            await asyncio.sleep(wait)
            return
        size = 1 if spec.type in SINGLE else MAX_GROUP
        got = await asyncio.to_thread(self.outbox.claim, self.engine, spec, size)
        if not isinstance(got, Claimed):
            pause = self.poll_s
            if got is not None:
                pause = min(pause, max(0.0, (got - self.outbox.clock()) / 1e9))
            ev = self._wake.get(spec.id)
            if ev is not None:
                ev.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(pause, 0.005)):
                        await ev.wait()
            else:
                await asyncio.sleep(pause)
            return
        message = render(got.items, spec.lang, self.directory.tz, SIZE_LIMITS.get(spec.type))
        try:
            async with asyncio.timeout(self.send_timeout_s):
                outcome = await sender.send(message)
        except TimeoutError:
            outcome = Outcome("retry", f"no answer in {self.send_timeout_s:g} s")
        except Exception as e:  # a sender's bug: recorded, retried, never silent
            log.exception("channel %s raised", spec.id)
            outcome = Outcome("retry", f"{type(e).__name__}: {e}")
        if limit is not None:
            limit.note()
        final = await asyncio.to_thread(self.outbox.finish, self.engine, spec, got, outcome)
        self.attempts[(str(spec.type), final)] += 1
        self.notices[(str(spec.type), final)] += len(got.ids)
        if final == "sent":
            self.messages[spec.id] += 1
        elif final == "failed":
            log.warning("channel %s: %d notices failed: %s", spec.id, len(got.ids), outcome.detail)

    async def __aenter__(self) -> Self:
        self._tasks = [
            asyncio.create_task(self._refresh(), name="notify-channels"),
            asyncio.create_task(self._escalations(), name="notify-escalations"),
        ]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        tasks = [*self._tasks, *self._workers.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        await self.senders.aclose()
