"""The database engine and its schema: one place that knows SQLite from PostgreSQL.

`open_database(url)` builds the engine and runs the Alembic migrations to head, so every hub
process (gateway, API, `gridwatch token`) meets the same schema without a separate step.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from domain.endpoints import DEFAULT_DB_URL

BUSY_TIMEOUT_MS = 5_000
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument (the settings' db.url), else the SQLite file under ./var/.

    A plain `postgresql://` URL is pointed at psycopg 3, the driver we ship."""
    chosen = url or DEFAULT_DB_URL
    if chosen.startswith(("postgresql://", "postgres://")):
        chosen = "postgresql+psycopg://" + chosen.split("://", 1)[1]
    return chosen


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (API) never block the writer (gateway)
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (see `database_url`); creates the SQLite file's folder."""
    u = make_url(database_url(url))
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(u, pool_pre_ping=True)


_MIGRATING = threading.Lock()
"""Alembic's `context` is module-global: two migrations in one process must take turns."""

_PG_MIGRATION_LOCK = 0x67726964  # "grid": any constant shared by every GridWatch process


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent). Concurrent starters take turns:
    threads of one process on a lock, processes sharing a PostgreSQL on an advisory lock held
    for the migration's transaction, so the later one finds the schema at head. Alembic is
    imported here, not with the module: a process that only connects (a gateway worker
    following the registry) does not pay for it."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _MIGRATING, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str | None = None) -> Engine:
    """An engine with the schema migrated to head: what every process calls at start."""
    engine = make_engine(url)
    migrate(engine)
    return engine
