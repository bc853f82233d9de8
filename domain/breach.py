"""What the rule engine tells the ticket service: a change in a (sensor, rule) condition.

The engine is pure and evaluates on event time; the ticket service turns these into tickets,
timeline events and notifications. One value type crosses that boundary, defined here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a condition is, declared from mild to worst: the order is what escalation
    follows (`rank`), so a new level needs no change where tickets escalate."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {s: i for i, s in enumerate(Severity, start=1)}


class Change(StrEnum):
    """How the condition of one (sensor, rule) changed with one reading or clock tick."""

    RAISED = "raised"  # held for the rule's `for` duration: a ticket opens (or re-triggers)
    HOLDING = "holding"  # still violating: update last/peak value; reopens after a resolve
    ESCALATED = "escalated"  # warning -> critical while active
    CLEARED = "cleared"  # cleared past the hysteresis for the clear duration: recovered
    INHIBITED = "inhibited"  # rule `inhibited` raised or escalated, but this rule's ticket
    # covers the same readings: a note on this rule's ticket, not a ticket (rules' `inhibits:`)


@dataclass(frozen=True, slots=True)
class Breach:
    """One change of one rule's condition at one sensor.

    `since_ns` is the event time the condition began to hold (what `opened_at` reports);
    `at_ns` the event time of the reading or tick that caused this change. `comparison` is how
    the value relates to `threshold` ("below", "above", "outside", "drop", "offline", ...), and
    `limit_zh`/`limit_en` name what crossing it means (e.g. "轻度黑臭" / "light black-odorous").
    `source` names the standard or practice behind the number and `provenance` its tag from
    domain.md (S, S?, P, D): only S may be called a national limit. An INHIBITED breach is
    about `rule`'s ticket (the more specific rule, active) and carries what the `inhibited`
    rule found (its severity, metric, value and limit) for the note on that ticket.
    """

    sensor: str
    rule: str
    change: Change
    severity: Severity
    since_ns: int
    at_ns: int
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    comparison: str = ""
    limit_zh: str = ""
    limit_en: str = ""
    source: str = ""
    provenance: str = ""
    inhibited: str = ""
