"""A gateway worker's registry feed: in a module of its own so that the worker process, which
unpickles it, imports the registry's watcher and store and not the whole hub (rules, tickets,
notifications) that `gridwatch.hub` composes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.site import Registry
from services.db.engine import make_engine
from services.registry.store import RegistryStore
from services.registry.watcher import POLL_S, RegistryWatcher


@dataclass(frozen=True, slots=True)
class DbRegistryFeed:
    """A gateway worker's `RegistryFeed`: its own watcher on the hub's database (no
    migration: the parent ran it)."""

    db_url: str | None
    poll_s: float = POLL_S

    async def follow(self, registry: Registry) -> None:
        engine = await asyncio.to_thread(make_engine, self.db_url)
        try:
            await RegistryWatcher(RegistryStore(engine), registry, poll_s=self.poll_s).run()
        finally:
            engine.dispose()
