"""Precedence between rules (`inhibits:`): the black-odorous grade taken from an indicator that
has its own rule is folded into that rule's ticket as a note, never a second ticket for the
same readings. `RuleEngine.judge` applies it; `evaluate` still reports every rule's own
condition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.breach import Breach, Change, Severity
from domain.site import Registry
from services.rules import RuleBook, RuleEngine
from services.rules.book import default_rules_text
from services.rules.overrides import RuleError
from services.rules.state import RuleStateStore
from tests.services.rules.conftest import MIN, T0, reading
from tests.services.rules.test_properties import series

R, H, C, NOTE = Change.RAISED, Change.HOLDING, Change.CLEARED, Change.INHIBITED
HEALTHY = {"do": 6.0, "orp": 150.0, "nh3n": 1.0, "transparency": 40.0}
GRADE = "pond.black_odorous"
Series = list[tuple[int, dict[str, float]]]


def pond(minutes: int, start: int = 0, **worse: float) -> Series:
    return [(T0 + (start + m) * MIN, {**HEALTHY, **worse}) for m in range(0, minutes, 10)]


def judge(engine: RuleEngine, s: Series, sensor: str = "pond-01") -> list[Breach]:
    out: list[Breach] = []
    for ts, fields in s:
        out.extend(engine.judge(reading(sensor, ts, **fields)))
    return out


def book_with(registry: Registry, overrides: dict[str, Any]) -> RuleBook:
    return RuleBook(yaml.safe_load(default_rules_text()), overrides, registry=registry)


def story(out: list[Breach]) -> list[tuple[str, Change, str]]:
    """(rule, change, inhibited) of the pond rules, HOLDING left out."""
    return [
        (b.rule, b.change, b.inhibited)
        for b in out
        if b.change is not H and b.rule.startswith("pond.")
    ]


def test_the_issues_pond_one_ticket_and_a_note(make_engine: Callable[..., RuleEngine]) -> None:
    """DO alone at 1.5 mg/L for 90 minutes: pond.low_oxygen (critical) opens, and the grade
    taken from the same oxygen readings is a note on it, not a second ticket."""
    out = judge(make_engine(), pond(100, do=1.5) + pond(130, 100))
    assert story(out) == [
        ("pond.low_oxygen", R, ""),
        ("pond.low_oxygen", NOTE, GRADE),  # "also meets 轻度黑臭 by DO"
        ("pond.low_oxygen", C, ""),
    ]
    note = next(b for b in out if b.change is NOTE)
    assert (note.metric, note.severity, note.limit_zh, note.value) == (
        "do",
        Severity.WARNING,
        "轻度黑臭",
        1.5,
    )


def test_evaluate_still_reports_the_grade(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    raw = [b for ts, f in pond(100, do=1.5) for b in engine.evaluate(reading("pond-01", ts, **f))]
    assert [(b.rule, b.change) for b in raw if b.change is R] == [
        ("pond.low_oxygen", R),
        (GRADE, R),
    ]


CASES: list[tuple[str, dict[str, Any], Series, list[tuple[str, Change, str]]]] = [
    (
        "heavy by ORP is a note on the reducing-water ticket",
        {},
        pond(70, do=1.0) + pond(70, 70, do=1.0, orp=-250.0),
        [
            ("pond.low_oxygen", R, ""),
            ("pond.low_oxygen", NOTE, GRADE),
            ("pond.reducing", R, ""),
            ("pond.reducing", NOTE, GRADE),  # the grade escalated by ORP: 重度黑臭
        ],
    ),
    (
        "murky water opens at once; the grade an hour later is a note on it",
        {},
        pond(70, transparency=20.0),
        [("pond.murky", R, ""), ("pond.murky", NOTE, GRADE)],
    ),
    (
        "the grade's `for` runs out first: held, folded when low oxygen opens",
        {"rules": {"pond.low_oxygen": {"for": "2h"}}},
        pond(130, do=1.5),
        [("pond.low_oxygen", R, ""), ("pond.low_oxygen", NOTE, GRADE)],
    ),
    (
        "an override narrowing low oxygen below the grade: the grade stands alone",
        {"rules": {"pond.low_oxygen": {"warning": {"value": 1.5}, "critical": {"value": 1.0}}}},
        pond(130, do=1.8),
        [(GRADE, R, "")],
    ),
    (
        "low oxygen switched off for the pond: the grade opens its own ticket",
        {"sensors": {"pond-01": {"pond.low_oxygen": {"enabled": False}}}},
        pond(70, do=1.5) + pond(130, 70),
        [(GRADE, R, ""), (GRADE, C, "")],
    ),
    (
        "precedence switched off (`inhibits: []`): two tickets, as before",
        {"rules": {"pond.low_oxygen": {"inhibits": []}}},
        pond(70, do=1.5),
        [("pond.low_oxygen", R, ""), (GRADE, R, "")],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "s", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_precedence(
    make_engine: Callable[..., RuleEngine],
    registry: Registry,
    overrides: dict[str, Any],
    s: Series,
    expected: list[tuple[str, Change, str]],
) -> None:
    engine = make_engine(book=book_with(registry, overrides))
    assert story(judge(engine, s)) == expected


def test_the_fold_survives_a_restart(
    make_engine: Callable[..., RuleEngine], new_store: Callable[[], RuleStateStore]
) -> None:
    first = make_engine()
    s = pond(100, do=1.5) + pond(130, 100)
    assert [b.change for b in judge(first, s[:8]) if b.rule.startswith("pond")].count(NOTE) == 1
    store = new_store()
    store.save(first.changes())
    assert store.load()[("pond-01", GRADE)]["folded"] == "pond.low_oxygen"
    second = make_engine(state=store.load())
    assert story(judge(second, s[8:])) == [("pond.low_oxygen", C, "")]  # no second note


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"pond.low_oxygen": {"inhibits": ["pond.nope"]}}, "name another rule"),
        ({"pond.low_oxygen": {"inhibits": ["pond.low_oxygen"]}}, "name another rule"),
        ({"pond.ph": {"inhibits": [GRADE]}}, "no indicator 'ph'"),
        ({"pond.low_oxygen": {"inhibits": ["pond.ammonia"]}}, "watches 'nh3n', not 'do'"),
        ({"pond.low_oxygen": {"inhibits": ["sensor.stuck"]}}, "only threshold and grade"),
    ],
)
def test_a_wrong_inhibits_fails_at_start(
    registry: Registry, patch: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        book_with(registry, {"rules": patch})


def _tickets_are_one(out: list[Breach], inhibitors: set[str]) -> None:
    """Model the tickets the judged stream opens (nobody resolves): the grade never has a
    ticket while an inhibiting rule's ticket is open, and every note lands on an open one."""
    opened: set[str] = set()
    recovered: set[str] = set()
    for b in out:
        if b.change is R:
            opened.add(b.rule)
            recovered.discard(b.rule)
        elif b.change is C:
            recovered.add(b.rule)
        elif b.change is NOTE:
            assert b.rule in opened, f"a note for {b.rule}, which has no ticket: {b}"
            assert b.inhibited == GRADE
        if b.rule == GRADE and b.change is R:
            assert not (opened & inhibitors) - recovered, f"two tickets for one problem: {b}"


INHIBITORS = {"pond.low_oxygen", "pond.ammonia", "pond.reducing", "pond.murky"}
_books: dict[str, RuleBook] = {}
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(series(), st.sampled_from(["0", "1h", "2h", "3h"]))
def test_the_same_readings_never_raise_two_tickets_that_precedence_says_are_one(
    make_engine: Callable[..., RuleEngine], registry: Registry, s: Series, for_: str
) -> None:
    """With the shipped limits (each indicator's own limit contains the grade's) the grade
    never opens a ticket of its own, whatever the indicators' `for`, and every note lands on
    an indicator's open ticket."""
    book = _books.get(for_)
    if book is None:
        book = _books[for_] = book_with(registry, {"rules": {r: {"for": for_} for r in INHIBITORS}})
    judged = judge(make_engine(book=book), s)
    _tickets_are_one(judged, INHIBITORS)
    assert [b for b in judged if b.rule == GRADE and b.change is not C] == []
