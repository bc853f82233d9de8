"""A stopped registry watcher holds no database connection: its read in a worker thread is
waited for, not abandoned — an abandoned one gave its connection back to an engine the process
had disposed meanwhile (psycopg: "connection deleted while still open" at exit)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import Engine

from services.db.engine import make_engine, migrate
from services.registry.store import RegistryStore
from services.registry.watcher import RegistryWatcher
from tests.sites import qingping_site

SENSOR = {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "asset": "清平塘"}


class SlowStore(RegistryStore):
    """A real store whose version read, once armed, takes 0.3 s (a slow database)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.armed = False
        self.entered = threading.Event()
        self.finished = threading.Event()

    def version(self) -> int:
        if not self.armed:
            return super().version()
        self.entered.set()
        threading.Event().wait(0.3)
        try:
            return super().version()
        finally:
            self.finished.set()


async def test_a_cancelled_watcher_waits_for_its_database_read(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate(engine)
    store = SlowStore(engine)
    store.seed(qingping_site([SENSOR]))
    watcher = RegistryWatcher(store, store.registry(), poll_s=0.05)
    store.armed = True
    task = asyncio.create_task(watcher.run())
    assert await asyncio.to_thread(store.entered.wait, 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # The cancel completed only after the thread had finished (and returned its connection).
    assert store.finished.is_set()
    assert task.cancelled()
    engine.dispose()
