"""`RegistryWatcher`: a process's `Registry` follows the database within a second or so.

It polls the registry's version (one indexed read, every `poll_s`) and, on PostgreSQL, also
LISTENs on `gridwatch_registry` so a commit wakes it at once. A newer version is read whole in a
worker thread and swapped into the shared `Registry` object in one attribute store
(`Registry.swap`): a reading being judged meanwhile keeps the placement it looked up. The
listeners (the rule engine's `follow`, metrics) run after the swap, on the loop, with the
previous and the new snapshot. Several watchers may share one Registry (`gridwatch up` runs
the API's and the rules'): each keeps its own last version, so each one's listeners run once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from domain.site import Registry
from services.registry.changes import RegistryEmpty
from services.registry.store import CHANNEL, RegistryStore

log = logging.getLogger(__name__)

POLL_S = 1.0

Listener = Callable[[Registry, Registry], None]
"""Called with (previous snapshot, new snapshot) after a swap."""

T = TypeVar("T")


async def _in_thread(fn: Callable[[], T]) -> T:
    """`fn()` in a worker thread; a cancel waits for the thread to finish before it goes on.

    A thread cannot be interrupted: `asyncio.to_thread` abandoned by a cancel keeps running and
    gives its pooled connection back later — to an engine the process may have disposed by
    then (psycopg warns "connection deleted while still open" at exit). Waiting for it makes
    a stopped watcher hold no connection.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class RegistryWatcher:
    def __init__(
        self,
        store: RegistryStore,
        registry: Registry,
        *,
        poll_s: float = POLL_S,
        listeners: tuple[Listener, ...] = (),
    ) -> None:
        self.store = store
        self.registry = registry
        self.poll_s = poll_s
        self.listeners: list[Listener] = list(listeners)
        self._last = registry.snapshot()
        self._wake = asyncio.Event()
        self.swaps = 0
        self.errors = 0
        self.last_swap_ns: int | None = None

    @property
    def version(self) -> int:
        return self._last.version

    async def check(self) -> bool:
        """Take a newer committed version if there is one; whether it did."""
        v = await _in_thread(self.store.version)
        if v == self._last.version:
            return False
        if self.registry.version != v:
            try:
                newer = await _in_thread(self.store.registry)
            except RegistryEmpty:
                return False
            if newer.version > self.registry.version:
                self.registry.swap(newer)
        new = self.registry.snapshot()
        old, self._last = self._last, new
        self.swaps += 1
        self.last_swap_ns = time.time_ns()
        log.info("registry version %d → %d (%d sensors)", old.version, new.version, len(new))
        for listener in self.listeners:
            try:
                listener(old, new)
            except Exception:
                self.errors += 1
                log.exception("a registry listener failed")
        return True

    async def run(self) -> None:
        """Follow the database until cancelled."""
        listener = None
        engine = self.store.engine
        if engine.dialect.name == "postgresql":
            listener = asyncio.create_task(self._listen(), name="registry-listen")
        try:
            while True:
                try:
                    await self.check()
                except Exception:  # a database hiccup: try again at the next poll
                    self.errors += 1
                    log.exception("registry check failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self) -> None:
        """PostgreSQL LISTEN: wake the loop on every committed change (polling stays as the
        safety net when the connection drops)."""
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("registry LISTEN connection lost (%s); polling meanwhile", e)
                await asyncio.sleep(5)
