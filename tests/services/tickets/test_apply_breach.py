"""The pure ticket lifecycle (`apply_breach`), without a database: a table of single steps, and
a property over any sequence of breaches, recoveries and resolves on one key."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.breach import Breach, Change, Severity
from services.tickets.lifecycle import (
    Active,
    Comparison,
    Escalated,
    Event,
    KeyState,
    Latest,
    Limit,
    Opened,
    Recovered,
    Retriggered,
    Stale,
    Updated,
    apply_breach,
)

T = 1_000_000
W, C = Severity.WARNING, Severity.CRITICAL


def breach(
    change: Change,
    at: int,
    value: float | None = 1.5,
    severity: Severity = W,
    *,
    since: int = 0,
    comparison: str = "below",
    threshold: float | None = 2.0,
) -> Breach:
    return Breach(
        sensor="pond-01",
        rule="pond.low_oxygen",
        change=change,
        severity=severity,
        since_ns=since,
        at_ns=at,
        metric="do",
        value=value,
        threshold=threshold,
        comparison=comparison,
        limit_zh="限",
        limit_en="limit",
    )


def active(**kw: object) -> Active:
    base = Active(
        severity=W,
        comparison=Comparison.BELOW,
        limit=Limit(3.0, "旧", "old"),
        opened_at_ns=0,
        first_value=2.5,
        peak_value=2.2,
        last_value=2.4,
        occurrences=1,
        recovered=False,
        last_event_ns=10 * T,
        updated_at_ns=10 * T,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize(
    ("state", "b", "expected"),
    [
        # no ticket yet
        (KeyState(), breach(Change.CLEARED, T), []),
        (KeyState(), breach(Change.RAISED, T), ["Opened"]),
        (KeyState(), breach(Change.HOLDING, T), ["Opened"]),
        # after a resolve: newer violations open a linked ticket, old data never reopens
        (KeyState(latest=Latest(7, 10 * T)), breach(Change.HOLDING, 10 * T), ["Stale"]),
        (KeyState(latest=Latest(7, 10 * T)), breach(Change.RAISED, 9 * T), ["Stale"]),
        (KeyState(latest=Latest(7, 10 * T)), breach(Change.HOLDING, 11 * T), ["Opened"]),
        (KeyState(latest=Latest(7, 10 * T)), breach(Change.CLEARED, 11 * T), []),
        # an active ticket
        (KeyState(active()), breach(Change.HOLDING, 9 * T), ["Stale"]),
        (KeyState(active()), breach(Change.HOLDING, 10 * T), ["Updated"]),  # same time: redelivery
        (KeyState(active()), breach(Change.RAISED, 11 * T), ["Updated"]),  # not recovered
        (KeyState(active()), breach(Change.CLEARED, 11 * T), ["Updated", "Recovered"]),
        (KeyState(active(recovered=True)), breach(Change.CLEARED, 11 * T), ["Updated"]),
        (
            KeyState(active(recovered=True)),
            breach(Change.RAISED, 11 * T),
            ["Updated", "Retriggered"],
        ),
        (KeyState(active(recovered=True)), breach(Change.HOLDING, 11 * T), ["Updated"]),
        (
            KeyState(active()),
            breach(Change.ESCALATED, 11 * T, severity=C),
            ["Updated", "Escalated"],
        ),
        (KeyState(active(severity=C)), breach(Change.HOLDING, 11 * T, severity=W), ["Updated"]),
        (
            KeyState(active(recovered=True)),
            breach(Change.RAISED, 11 * T, severity=C),
            ["Updated", "Retriggered", "Escalated"],
        ),
    ],
)
def test_one_step(state: KeyState, b: Breach, expected: list[str]) -> None:
    assert kinds(apply_breach(state, b)) == expected


def test_a_raise_opens_at_the_condition_start_and_links_the_resolved_ticket() -> None:
    [e] = apply_breach(KeyState(latest=Latest(7, T)), breach(Change.RAISED, 5 * T, since=3 * T))
    assert isinstance(e, Opened)
    assert (e.follows, e.at_ns, e.ticket.opened_at_ns, e.ticket.last_event_ns) == (
        7,
        3 * T,
        3 * T,
        5 * T,
    )
    t = e.ticket
    assert (t.first_value, t.peak_value, t.last_value, t.occurrences) == (1.5, 1.5, 1.5, 1)
    assert (t.severity, t.comparison, t.limit.threshold) == (W, Comparison.BELOW, 2.0)
    # a violation that is not a raise (it held through the resolve) opens at its own time
    [e] = apply_breach(KeyState(), breach(Change.HOLDING, 5 * T, since=3 * T))
    assert isinstance(e, Opened)
    assert (e.follows, e.ticket.opened_at_ns) == (None, 5 * T)


@pytest.mark.parametrize(
    ("comparison", "values", "peak"),
    [
        ("below", [2.5, 1.1, 1.8], 1.1),
        ("above", [250.0, 270.0, 240.0], 270.0),
        ("drop", [0.5, 1.5, 0.2], 1.5),  # the amount fallen: more is worse
        ("offline", [None, None], None),
    ],
)
def test_peak_follows_the_rules_direction(
    comparison: str, values: list[float | None], peak: float | None
) -> None:
    first, *rest = values
    [opened] = apply_breach(KeyState(), breach(Change.RAISED, T, first, comparison=comparison))
    assert isinstance(opened, Opened)
    t = opened.ticket
    for i, v in enumerate(rest, start=2):
        upd = apply_breach(KeyState(t), breach(Change.HOLDING, i * T, v, comparison=comparison))[0]
        assert isinstance(upd, Updated)
        t = upd.ticket
    assert (t.first_value, t.peak_value, t.last_value) == (first, peak, values[-1])


def test_escalation_takes_the_breachs_severity_and_its_stricter_limit() -> None:
    events = apply_breach(KeyState(active()), breach(Change.ESCALATED, 11 * T, 1.1, C))
    upd, esc = events
    assert isinstance(upd, Updated)
    assert isinstance(esc, Escalated)
    assert (esc.severity, upd.ticket.severity) == (C, C)
    assert upd.ticket.limit == Limit(2.0, "限", "limit")
    # an escalation that names no threshold keeps the limit the ticket had
    events = apply_breach(
        KeyState(active()), breach(Change.ESCALATED, 11 * T, 1.1, C, threshold=None)
    )
    upd = events[0]
    assert isinstance(upd, Updated)
    assert upd.ticket.limit == Limit(3.0, "旧", "old")


def test_severity_ranks_follow_the_declaration_order() -> None:
    assert [s.rank for s in Severity] == sorted(s.rank for s in Severity)
    assert W.rank < C.rank


def test_a_stale_breach_changes_nothing_else() -> None:
    assert apply_breach(KeyState(active()), breach(Change.RAISED, T, severity=C)) == [Stale()]


def test_comparison_of_the_rules_words() -> None:
    assert Comparison.of("below") is Comparison.BELOW
    for word in ("above", "drop", "stuck", "implausible", "offline", "silent", ""):
        assert Comparison.of(word) is Comparison.ABOVE


# -- the property ----------------------------------------------------------------------------


@dataclass
class Ticket:
    """The test's own record of one ticket, folded from the events."""

    id: int
    state: Active
    resolved: bool = False
    follows: int | None = None
    peaks: list[float] = field(default_factory=list)
    triggers: int = 1  # raises while recovered, counted by the test, plus the opening


Step = tuple[str, Change, Severity, float, int]  # (op, change, severity, value, time step)

steps = st.lists(
    st.tuples(
        st.sampled_from(["breach", "breach", "breach", "resolve"]),
        st.sampled_from(list(Change)),
        st.sampled_from(list(Severity)),
        st.floats(-50, 50, allow_nan=False),
        st.integers(-3, 5),  # time moves mostly forward, sometimes back (late or redelivered)
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, comparison=st.sampled_from(["below", "above", "drop"]))
def test_any_sequence_keeps_one_active_ticket_a_monotone_peak_and_counts_triggers(
    steps: list[Step], comparison: str
) -> None:
    direction = Comparison.of(comparison)
    tickets: list[Ticket] = []
    now = 100
    for op, change, severity, value, dt in steps:
        now += dt
        current = next((t for t in tickets if not t.resolved), None)
        latest = tickets[-1] if tickets else None
        if op == "resolve":
            if current is not None:
                current.resolved = True
            continue
        state = KeyState(
            current.state if current else None,
            Latest(latest.id, latest.state.last_event_ns) if latest and not current else None,
        )
        b = breach(change, now, value, severity, since=now - 1, comparison=comparison)
        events = apply_breach(state, b)
        for e in events:
            if isinstance(e, Opened):
                assert current is None, "opened a second active ticket"
                assert e.follows == (latest.id if latest else None)
                current = Ticket(len(tickets) + 1, e.ticket, follows=e.follows)
                current.peaks.append(value)
                tickets.append(current)
            elif isinstance(e, Updated):
                assert current is not None
                was = current.state
                if change is Change.RAISED and was.recovered:
                    current.triggers += 1
                current.state = e.ticket
                assert e.ticket.last_event_ns >= was.last_event_ns
                assert e.ticket.severity.rank >= was.severity.rank
                if was.peak_value is not None and e.ticket.peak_value is not None:
                    assert (
                        direction.worse(was.peak_value, e.ticket.peak_value) == e.ticket.peak_value
                    )
                if change is not Change.CLEARED:
                    current.peaks.append(value)
            elif isinstance(e, Stale):
                assert events == [Stale()]
            else:
                assert isinstance(e, Recovered | Retriggered | Escalated)
        assert sum(not t.resolved for t in tickets) <= 1
        for t in tickets:
            assert t.state.occurrences == t.triggers
            assert t.state.peak_value == (
                min(t.peaks) if direction is Comparison.BELOW else max(t.peaks)
            )
