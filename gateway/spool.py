"""The gateway's disk spool: encoded line-protocol batches kept in SQLite while InfluxDB cannot
take them, so the broker can be acknowledged (and its queue stays empty) during an outage.

Durability: WAL journal with `synchronous=FULL`, so a committed `append` survives a crash or a
power cut; only then does the gateway acknowledge the messages. Batches keep their arrival
order (an autoincrement id) and drain oldest first. A drained batch is deleted after InfluxDB
stored it: a crash in between writes it again, which overwrites itself (same measurement, tags
and device time).

Full: past `max_lines` the spool either refuses new batches (`refuse`: the gateway stops
acknowledging and the broker holds the messages) or deletes the oldest batches to make room
(`drop_oldest`: a counted loss). Both are counted in the `meta` table, so they survive restarts.

Lines InfluxDB refused for good (a partial write) go to `dead_letters` with the error and the
time, never to be retried.

The class is synchronous and thread-safe (one connection behind a lock): the gateway calls it
through `asyncio.to_thread` so an fsync never blocks the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from domain.sections import FullPolicy


@dataclass(frozen=True, slots=True)
class Spooled:
    """One stored batch: its id (arrival order), when it was spooled and its lines."""

    id: int
    created_ns: int
    lines: list[str]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """`stored` False: refused (full, policy refuse). `dropped` lines of older batches deleted
    to make room (policy drop_oldest)."""

    stored: bool
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    line: str
    error: str
    at_ns: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns INTEGER NOT NULL,
    line TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class Spool:
    """`with Spool(path, max_lines=...) as spool:` append, peek, remove, dead_letter."""

    def __init__(
        self, path: Path, *, max_lines: int = 5_000_000, policy: FullPolicy = FullPolicy.REFUSE
    ) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self.path = path
        self.max_lines = max_lines
        self.policy = policy
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lines = 0
        self._batches = 0
        self._oldest: int | None = None
        self._recount()
        self._counters: dict[str, int] = dict(self._db.execute("SELECT key, value FROM meta"))

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- state --------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Lines (readings) waiting for InfluxDB."""
        return self._lines

    @property
    def batches(self) -> int:
        return self._batches

    @property
    def full(self) -> bool:
        return self._lines >= self.max_lines

    def oldest_ns(self) -> int | None:
        """When the oldest waiting batch was spooled (None: empty)."""
        return self._oldest

    def counter(self, key: str) -> int:
        """A persistent count: `dropped` (lines lost to drop_oldest), `refused` (lines refused
        while full), `dead_letters`."""
        return self._counters.get(key, 0)

    # -- writing ------------------------------------------------------------------------------
    def append(self, lines: Sequence[str], now_ns: int | None = None) -> AppendResult:
        """Store one batch durably (committed and fsync'd on return) unless the spool is full
        and refuses; with drop_oldest, delete the oldest batches until it fits."""
        if not lines:
            return AppendResult(True)
        n = len(lines)
        blob = "\n".join(lines).encode()
        at = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            db = self._db
            if self._lines + n > self.max_lines and self.policy is FullPolicy.REFUSE:
                return AppendResult(False)
            dropped = 0
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._lines + n > self.max_lines:
                    excess = self._lines + n - self.max_lines
                    dropped = self._drop_oldest(excess)
                db.execute(
                    "INSERT INTO batches (created_ns, lines, body) VALUES (?, ?, ?)", (at, n, blob)
                )
                if dropped:
                    self._bump("dropped", dropped)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._recount()
                raise
            self._lines += n - dropped
            self._batches += 1
            if dropped or self._oldest is None:
                self._oldest = self._first_created()
        return AppendResult(True, dropped)

    def _drop_oldest(self, excess: int) -> int:
        """Delete whole batches, oldest first, until `excess` lines are gone (inside the
        caller's transaction); returns the lines deleted."""
        dropped = 0
        gone = 0
        for batch_id, lines in self._db.execute("SELECT id, lines FROM batches ORDER BY id"):
            if dropped >= excess:
                break
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            dropped += lines
            gone += 1
        self._batches -= gone
        return dropped

    def _recount(self) -> None:
        row = self._db.execute("SELECT COALESCE(SUM(lines), 0), COUNT(*) FROM batches").fetchone()
        self._lines, self._batches = row[0], row[1]
        self._oldest = self._first_created()

    def _first_created(self) -> int | None:
        row = self._db.execute("SELECT created_ns FROM batches ORDER BY id LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def note_refused(self, lines: int) -> None:
        """Count a batch the full spool refused (once per batch, however often retried)."""
        with self._lock:
            self._bump("refused", lines)

    def fits(self, lines: int) -> bool:
        """Whether a batch of `lines` would be stored now (always, with drop_oldest)."""
        return self.policy is FullPolicy.DROP_OLDEST or self._lines + lines <= self.max_lines

    def _bump(self, key: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
            (key, n),
        )
        self._counters[key] = self._counters.get(key, 0) + n

    # -- draining -----------------------------------------------------------------------------
    def peek(self, max_lines: int) -> list[Spooled]:
        """The oldest batches, in order, up to `max_lines` lines (at least one batch)."""
        out: list[Spooled] = []
        total = 0
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_ns, lines, body FROM batches ORDER BY id LIMIT 10000"
            )
            for batch_id, created, n, blob in rows:
                if out and total + n > max_lines:
                    break
                out.append(Spooled(batch_id, created, blob.decode().split("\n")))
                total += n
        return out

    def remove(self, ids: Iterable[int]) -> None:
        """Delete batches InfluxDB has stored (one transaction)."""
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                removed = 0
                for batch_id in ids:
                    row = db.execute(
                        "DELETE FROM batches WHERE id = ? RETURNING lines", (batch_id,)
                    ).fetchone()
                    if row is not None:
                        removed += row[0]
                        self._batches -= 1
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._recount()
                raise
            self._lines -= removed
            self._oldest = self._first_created()

    # -- dead letters -------------------------------------------------------------------------
    def dead_letter(self, refused: Sequence[tuple[str, str]], now_ns: int | None = None) -> None:
        """Keep lines InfluxDB refused for good, with its error; they are never retried."""
        if not refused:
            return
        at = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO dead_letters (at_ns, line, error) VALUES (?, ?, ?)",
                [(at, line, error[:2000]) for line, error in refused],
            )
            self._bump("dead_letters", len(refused))
            db.execute("COMMIT")

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT line, error, at_ns FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [DeadLetter(line, error, at) for line, error, at in rows]
