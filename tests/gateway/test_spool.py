"""The disk spool on its own: order, durability across a reopen (as after a crash), both full
policies with their counts, and dead letters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.spool import FullPolicy, Spool


def lines(tag: str, n: int) -> list[str]:
    return [f"pond,sensor={tag} do={i}.0 {1_700_000_000_000_000_000 + i}" for i in range(n)]


def test_batches_come_back_in_arrival_order_and_leave_when_removed(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        for tag in ("a", "b", "c"):
            assert spool.append(lines(tag, 3)).stored
        assert (spool.depth, spool.batches) == (9, 3)
        first = spool.peek(6)
        assert [b.lines for b in first] == [lines("a", 3), lines("b", 3)]
        spool.remove(b.id for b in first)
        assert (spool.depth, spool.batches) == (3, 1)
        assert [b.lines for b in spool.peek(100)] == [lines("c", 3)]


def test_peek_returns_at_least_one_batch_even_when_it_is_larger_than_asked(
    tmp_path: Path,
) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        spool.append(lines("big", 10))
        spool.append(lines("next", 1))
        (only,) = spool.peek(2)
        assert len(only.lines) == 10


def test_what_was_committed_survives_a_process_that_never_closed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    crashed = Spool(path)
    crashed.append(lines("a", 5), now_ns=123)
    # No close(): a second connection sees the committed WAL, as a restarted gateway would.
    with Spool(path) as again:
        assert (again.depth, again.batches, again.oldest_ns()) == (5, 1, 123)
        assert again.peek(10)[0].lines == lines("a", 5)
    crashed.close()


def test_the_database_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Spool(path):
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()


def test_refuse_policy_keeps_what_it_has_and_refuses_what_does_not_fit(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", max_lines=5, policy=FullPolicy.REFUSE) as spool:
        assert spool.append(lines("a", 4)).stored
        assert not spool.fits(2)
        result = spool.append(lines("b", 2))
        assert (result.stored, result.dropped) == (False, 0)
        assert spool.depth == 4
        spool.note_refused(2)
        assert spool.counter("refused") == 2
        assert spool.append(lines("c", 1)).stored
        assert spool.full


def test_drop_oldest_deletes_whole_old_batches_and_counts_them_across_restarts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    with Spool(path, max_lines=6, policy=FullPolicy.DROP_OLDEST) as spool:
        spool.append(lines("a", 3))
        spool.append(lines("b", 3))
        assert spool.fits(3)
        result = spool.append(lines("c", 3))
        assert (result.stored, result.dropped) == (True, 3)
        assert [b.lines[0] for b in spool.peek(100)] == [lines("b", 1)[0], lines("c", 1)[0]]
    with Spool(path, max_lines=6, policy=FullPolicy.DROP_OLDEST) as again:
        assert (again.depth, again.counter("dropped")) == (6, 3)


def test_dead_letters_keep_the_line_and_the_error_newest_first(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        spool.dead_letter([("bad 1", "type conflict"), ("bad 2", "unable to parse")], now_ns=7)
        spool.dead_letter([("bad 3", "413")], now_ns=8)
        assert [(d.line, d.error, d.at_ns) for d in spool.dead_letters()] == [
            ("bad 3", "413", 8),
            ("bad 2", "unable to parse", 7),
            ("bad 1", "type conflict", 7),
        ]
        assert spool.counter("dead_letters") == 3
        assert spool.depth == 0


def test_a_limit_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_lines"):
        Spool(tmp_path / "s.sqlite", max_lines=0)
