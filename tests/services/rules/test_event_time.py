"""Event time, ordering, restarts and maintenance windows (contract §4, reliability.md)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from domain.breach import Change
from services.rules import RuleEngine
from services.rules.state import RuleStateStore
from tests.services.rules.conftest import HOUR, MIN, T0, changes, feed, reading

R, C = Change.RAISED, Change.CLEARED


def low_oxygen_episode() -> list[tuple[int, dict[str, float]]]:
    """90 min of do 2.5 then 90 min of do 4.0, one reading every 5 min: raise, then clear."""
    return [(T0 + i * 5 * MIN, {"do": 2.5 if i < 18 else 4.0}) for i in range(36)]


def test_a_late_old_reading_changes_nothing(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    series = low_oxygen_episode()[:13]
    late_good = (T0 + 10 * MIN, {"do": 8.0})  # would break the pending hour if evaluated
    out = feed(engine, "pond-01", [*series[:8], late_good, *series[8:]])
    assert changes(out, "pond.low_oxygen") == [R]
    assert engine.ignored_old == 1


def test_an_equal_timestamp_is_ignored(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    feed(engine, "sewer-01", [(T0, {"h2s": 1.0})])
    assert feed(engine, "sewer-01", [(T0, {"h2s": 50.0})]) == []


def test_old_data_never_reopens_after_clear(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    episode = low_oxygen_episode()
    assert changes(feed(engine, "pond-01", episode), "pond.low_oxygen") == [R, C]
    assert feed(engine, "pond-01", episode) == []  # redelivery of the whole episode


def test_a_shuffled_batch_of_cached_readings_raises_once_at_the_first_breach(
    make_engine: Callable[..., RuleEngine],
) -> None:
    """A device uploads its cache late: sorted by the caller, it is judged as if live."""
    live = make_engine()
    cached = make_engine()
    episode = low_oxygen_episode()
    shuffled = episode[:]
    random.Random(4).shuffle(shuffled)  # noqa: S311  (a reproducible test order)
    expected = feed(live, "pond-01", episode)
    got = feed(cached, "pond-01", sorted(shuffled))
    assert got == expected
    assert next(b for b in got if b.change is R).since_ns == T0


def test_restart_mid_pending_resumes_the_pending_duration(
    make_engine: Callable[..., RuleEngine],
    new_store: Callable[[], RuleStateStore],
) -> None:
    store = new_store()
    series = low_oxygen_episode()
    first = make_engine()
    assert feed(first, "pond-01", series[:8]) == []  # 35 min pending
    store.save(first.changes())
    second = make_engine(state=store.load(), started_ns=T0 + 40 * MIN)
    out = feed(second, "pond-01", series[8:13])
    raised = [b for b in out if b.change is R]
    assert [(b.since_ns, b.at_ns) for b in raised] == [(T0, T0 + HOUR)]


def test_restart_gives_the_same_breaches_as_one_run(
    make_engine: Callable[..., RuleEngine],
    new_store: Callable[[], RuleStateStore],
) -> None:
    series = low_oxygen_episode()
    one_run = feed(make_engine(), "pond-01", series)
    store = new_store()
    out = []
    engine = make_engine()
    for i, item in enumerate(series):
        if i % 7 == 6:  # restart every seven readings
            store.save(engine.changes())
            engine = make_engine(state=store.load())
        out.extend(feed(engine, "pond-01", [item]))
    assert out == one_run


def test_replay_after_restart_yields_nothing_new(
    make_engine: Callable[..., RuleEngine], new_store: Callable[[], RuleStateStore]
) -> None:
    store = new_store()
    engine = make_engine()
    feed(engine, "pond-01", low_oxygen_episode()[:20])
    store.save(engine.changes())
    restarted = make_engine(state=store.load())
    assert feed(restarted, "pond-01", low_oxygen_episode()[:20]) == []


def test_changes_are_json_and_idle_rules_are_deleted(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    feed(engine, "pond-01", low_oxygen_episode()[:13])
    first = engine.changes()
    assert first[("pond-01", "pond.low_oxygen")] is not None
    json.dumps({f"{k[0]}|{k[1]}": v for k, v in first.items()})
    assert engine.changes() == {}  # nothing new since
    feed(engine, "pond-01", low_oxygen_episode()[13:])
    assert engine.changes()[("pond-01", "pond.low_oxygen")] is None


def test_state_of_a_removed_rule_is_deleted(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine(
        state={
            ("pond-01", "pond.gone"): {"active": 1},
            ("pond-01", "pond.low_oxygen"): {"active": "x"},
        }
    )
    assert engine.changes() == {
        ("pond-01", "pond.gone"): None,
        ("pond-01", "pond.low_oxygen"): None,
    }
    assert engine.state_errors == 1


def test_maintenance_window_holds_back_new_tickets(
    make_engine: Callable[..., RuleEngine],
) -> None:
    """Inside the window nothing opens; a problem outlasting it opens with its true start."""
    engine = make_engine(maintenance=[("pond-01", T0, T0 + 2 * HOUR)])
    series = [(T0 + i * 5 * MIN, {"do": 2.5}) for i in range(30)]
    out = [b for b in feed(engine, "pond-01", series) if b.change is R]
    assert [(b.since_ns, b.at_ns) for b in out] == [(T0, T0 + 2 * HOUR)]


def test_maintenance_window_of_another_sensor_changes_nothing(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine(maintenance=[("water-01", T0, T0 + 2 * HOUR)])
    assert changes(feed(engine, "sewer-01", [(T0, {"h2s": 30.0})])) == [R]


def test_evaluate_accepts_readings_of_unknown_sensors(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    m = reading("hs-99", T0, pressure=0.1)
    assert engine.evaluate(m) == []


def test_a_rule_back_at_rest_starts_its_next_episode_afresh(
    make_engine: Callable[..., RuleEngine],
) -> None:
    """A cleared rule's row is deleted and its state freed; the next episode is judged from
    its own start, and its row comes back."""
    engine = make_engine()
    feed(engine, "pond-01", low_oxygen_episode())  # raised and cleared
    assert engine.changes()[("pond-01", "pond.low_oxygen")] is None
    assert engine.active() == []
    later = T0 + 10 * HOUR
    second = [(later + i * 5 * MIN, {"do": 2.5}) for i in range(13)]
    assert feed(engine, "pond-01", second[:12]) == []  # 55 min pending: nothing yet
    assert engine.changes()[("pond-01", "pond.low_oxygen")] == {
        "active": 0,
        "since": None,
        "pending_since": later,
        "crit_since": None,
        "clear_since": None,
    }
    raised = [b for b in feed(engine, "pond-01", second[12:]) if b.change is R]
    assert [(b.rule, b.since_ns, b.at_ns) for b in raised] == [
        ("pond.low_oxygen", later, later + HOUR)
    ]
    assert ("pond-01", "pond.low_oxygen") in engine.active()


def test_a_pending_that_recovers_leaves_no_row(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    feed(engine, "pond-01", [(T0, {"do": 2.5})])
    assert engine.changes()[("pond-01", "pond.low_oxygen")] is not None
    feed(engine, "pond-01", [(T0 + 5 * MIN, {"do": 6.0})])
    assert engine.changes()[("pond-01", "pond.low_oxygen")] is None
    feed(engine, "pond-01", [(T0 + 10 * MIN, {"do": 6.1})])
    assert ("pond-01", "pond.low_oxygen") not in engine.changes()
