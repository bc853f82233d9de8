"""Invariants of the engine over random event-time series (Hypothesis)."""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.breach import Breach, Change
from services.rules import RuleEngine
from services.rules.state import RuleStateStore
from tests.services.rules.conftest import MIN, T0, feed

Series = list[tuple[int, dict[str, float]]]

# Values clustered around the pond limits so rules flap, hold, escalate and clear.
near = st.sampled_from
pond_reading = st.fixed_dictionaries(
    {
        "do": near([0.1, 1.9, 2.0, 2.05, 2.9, 3.0, 3.1, 3.2, 6.0]),
        "orp": near([-250.0, -199.0, 49.0, 51.0, 53.0, 150.0]),
        "nh3n": near([1.0, 1.95, 2.05, 7.9, 8.1, 16.0]),
        "transparency": near([5.0, 10.0, 24.0, 26.0, 40.0]),
        "ph": near([5.4, 5.9, 6.1, 7.5, 9.1, 9.6]),
    }
)


@st.composite
def series(draw: st.DrawFn, max_size: int = 80) -> Series:
    gaps = draw(st.lists(st.integers(1, 40), min_size=1, max_size=max_size))
    out: Series = []
    t = T0
    for gap in gaps:
        t += gap * MIN
        out.append((t, draw(pond_reading)))
    return out


def check_lifecycle(breaches: list[Breach]) -> None:
    """Per (sensor, rule): RAISED only when idle, ESCALATED/HOLDING/CLEARED only when active."""
    active: dict[tuple[str, str], bool] = {}
    for b in breaches:
        key = (b.sensor, b.rule)
        if b.change is Change.RAISED:
            assert not active.get(key), f"second RAISED without CLEARED: {b}"
            active[key] = True
        else:
            assert active.get(key), f"{b.change} while not active: {b}"
            if b.change is Change.CLEARED:
                active[key] = False


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(series())
def test_a_noisy_series_never_raises_twice_without_clearing(
    make_engine: Callable[..., RuleEngine], s: Series
) -> None:
    check_lifecycle(feed(make_engine(), "pond-01", s))


@SETTINGS
@given(series(), st.randoms(use_true_random=False))
def test_late_old_readings_never_raise_in_the_past(
    make_engine: Callable[..., RuleEngine], s: Series, rnd: object
) -> None:
    """Deliver the series with some readings late: nothing is raised for an event time before
    one already evaluated, and the result is that of the in-order readings alone."""
    assert isinstance(rnd, random.Random)
    delivered = s[:]
    for i in range(len(delivered)):  # move some readings later in the delivery order
        if rnd.random() < 0.3:
            j = rnd.randrange(i, len(delivered))
            delivered[i], delivered[j] = delivered[j], delivered[i]
    engine = make_engine()
    newest = 0
    got: list[Breach] = []
    in_order: Series = []
    for ts, fields in delivered:
        for b in feed(engine, "pond-01", [(ts, fields)]):
            assert b.at_ns >= newest
            got.append(b)
        if ts > newest:
            in_order.append((ts, fields))
            newest = ts
    check_lifecycle(got)
    assert got == feed(make_engine(), "pond-01", in_order)


@SETTINGS
@given(series(max_size=40), st.sets(st.integers(0, 39), max_size=4))
def test_restarts_from_persisted_state_change_nothing(
    make_engine: Callable[..., RuleEngine],
    new_store: Callable[[], RuleStateStore],
    s: Series,
    restarts: set[int],
) -> None:
    one_run = feed(make_engine(), "pond-01", s)
    store = new_store()
    engine = make_engine()
    got: list[Breach] = []
    for i, item in enumerate(s):
        if i in restarts:
            store.save(engine.changes())
            engine = make_engine(state=store.load())
            assert feed(engine, "pond-01", s[:i]) == []  # a replay of what came before
        got += feed(engine, "pond-01", [item])
    assert got == one_run
