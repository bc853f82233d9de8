"""How a hub process gets its registry at start: the database's, seeded once from the site
file when the database holds none (the file is an import from then on: `gridwatch site
apply`)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from adapters import heap
from domain.site import Registry, load_site
from services.db.engine import open_database
from services.registry.changes import RegistryEmpty
from services.registry.store import NoticeOutbox, RegistryStore

log = logging.getLogger(__name__)


def attach(engine: Engine, registry: Registry, outbox: NoticeOutbox | None = None) -> RegistryStore:
    """Seed the database from `registry`'s site when it holds no registry yet, then make
    `registry` the committed version (swapped in place: its holders see it). Changes made
    through the store owe `outbox` their tickets' notices."""
    store = RegistryStore(engine, outbox=outbox)
    if store.seed(registry.site) is not None:
        log.info("registry seeded from the site file (%d sensors)", len(registry))
    committed = store.registry()
    if committed.version != registry.version:
        registry.swap(committed)
    return store


def open_registry(db_url: str | None, site: Path | None) -> Registry:
    """The committed registry of the database at `db_url`, seeded from `site` when empty.
    RegistryEmpty when the database holds none and no site file is named."""
    engine = open_database(db_url)
    try:
        store = RegistryStore(engine)
        if store.version() == 0:
            if site is None:
                raise RegistryEmpty(
                    "no registry in the database and no site file: pass --site FILE or set "
                    "GRIDWATCH_SITE (it seeds the database once)"
                )
            with heap.paused():  # a bulk build: the whole site parsed and written
                store.seed(load_site(site))
        return store.registry()
    finally:
        engine.dispose()
