"""The ticket lifecycle of contract §4 as a pure function: `apply_breach(state, breach)` says
what one breach does to one (sensor, rule) key, in events; it touches no database.

Why a pure core: the rules — stale breaches are ignored, a re-trigger after recovery counts an
occurrence, the peak follows the rule's direction, a worse severity escalates, a violation after
a resolve opens a new ticket linking the old one — are the part worth testing exhaustively, and
a database only gets in the way of that. `TicketService` reads the key's state under a row lock,
calls `apply_breach`, and writes what the events say, inside its transaction and retries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import ClassVar

from domain.breach import Breach, Change, Severity


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    NOTIFIED = "notified"  # one delivery attempt to one channel (services.notify)


class EventKind(StrEnum):
    """The kinds of line on a ticket's timeline."""

    OPENED = "opened"
    RETRIGGERED = "retriggered"
    ESCALATED = "escalated"  # warning -> critical
    SUPERVISOR = "escalated_to_supervisor"  # not acknowledged in time
    RECOVERED = "recovered"
    ACKNOWLEDGED = "acknowledged"
    COMMENTED = "commented"
    RESOLVED = "resolved"
    ON_SITE = "on_site"  # the crew arrived at the asset (optional position in the note)
    PHOTO = "photo"  # a photo was attached (its id on the line)
    REPORTED = "reported"  # a resident reported a problem (what they saw in the note)
    REASSIGNED = "reassigned"  # its sensor moved to another grid cell (registry)
    RETIRED = "retired"  # resolved because its sensor was retired (registry)


class Comparison(StrEnum):
    """Which way a rule's value is bad: what "worse" means for the peak a ticket reports.

    Rules say more than two words ("drop", "stuck", "offline", ...), but for the peak only the
    direction matters: `below` limits get worse downwards, everything else upwards (a drop is
    the amount fallen; `outside` bands are resolved by the rule to the side they crossed).
    """

    ABOVE = "above"
    BELOW = "below"

    @classmethod
    def of(cls, comparison: str) -> Comparison:
        """The direction of a breach's `comparison` text."""
        return cls.BELOW if comparison == cls.BELOW.value else cls.ABOVE

    def worse(self, a: float, b: float) -> float:
        """The worse of two values."""
        return min(a, b) if self is Comparison.BELOW else max(a, b)


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit a ticket is measured against; escalation replaces it by the stricter one."""

    threshold: float | None
    limit_zh: str = ""
    limit_en: str = ""
    source: str = ""
    provenance: str = ""

    @classmethod
    def of(cls, b: Breach) -> Limit:
        return cls(b.threshold, b.limit_zh, b.limit_en, b.source, b.provenance)


@dataclass(frozen=True, slots=True)
class Active:
    """What the lifecycle knows of a key's active (not resolved) ticket."""

    severity: Severity
    comparison: Comparison
    limit: Limit
    opened_at_ns: int
    first_value: float | None
    peak_value: float | None
    last_value: float | None
    occurrences: int
    recovered: bool
    last_event_ns: int  # the newest breach event time applied: older ones are stale
    updated_at_ns: int


@dataclass(frozen=True, slots=True)
class Latest:
    """The key's newest ticket when none is active: the one a new ticket follows."""

    id: int
    last_event_ns: int


@dataclass(frozen=True, slots=True)
class KeyState:
    """One (sensor, rule) key: its active ticket, or else its newest resolved one (or none)."""

    active: Active | None = None
    latest: Latest | None = None


# -- events: what a breach did ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stale:
    """The breach is older than what the key has seen (redelivery, replay): nothing changes."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A new ticket; `follows` is the resolved ticket of the same key it links, if any."""

    kind: ClassVar[EventKind] = EventKind.OPENED
    ticket: Active
    follows: int | None
    at_ns: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Updated:
    """The active ticket's fields after the breach (always first when the ticket changes)."""

    ticket: Active


@dataclass(frozen=True, slots=True)
class Retriggered:
    kind: ClassVar[EventKind] = EventKind.RETRIGGERED
    occurrences: int
    at_ns: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Escalated:
    kind: ClassVar[EventKind] = EventKind.ESCALATED
    severity: Severity
    at_ns: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Recovered:
    kind: ClassVar[EventKind] = EventKind.RECOVERED
    at_ns: int
    value: float | None


Timeline = Opened | Retriggered | Escalated | Recovered
"""Events that become a line on the timeline (and a notice)."""

Event = Stale | Updated | Timeline


def apply_breach(state: KeyState, b: Breach) -> list[Event]:
    """What breach `b` does to the key in `state`.

    Returns [] when nothing happens (a clear with no active ticket), [Stale()] for a breach
    older than the key's history, [Opened] for a new ticket, or [Updated, *timeline] for the
    active ticket: its new fields, then Recovered, or Retriggered and/or Escalated.
    """
    if state.active is None:
        return _open(state.latest, b)
    t = state.active
    if b.at_ns < t.last_event_ns:
        return [Stale()]
    timeline: list[Timeline] = []
    if b.change is Change.CLEARED:
        if not t.recovered:
            t = replace(t, recovered=True)
            timeline.append(Recovered(b.at_ns, b.value))
    else:
        t = _with_value(t, b.value)
        if b.change is Change.RAISED and t.recovered:
            t = replace(t, recovered=False, occurrences=t.occurrences + 1)
            timeline.append(Retriggered(t.occurrences, b.at_ns, b.value))
        if b.severity.rank > t.severity.rank:
            limit = Limit.of(b) if b.threshold is not None else t.limit
            t = replace(t, severity=b.severity, limit=limit)
            timeline.append(Escalated(b.severity, b.at_ns, b.value))
    t = replace(
        t,
        last_event_ns=max(t.last_event_ns, b.at_ns),
        updated_at_ns=max(t.updated_at_ns, b.at_ns),
    )
    return [Updated(t), *timeline]


def _open(latest: Latest | None, b: Breach) -> list[Event]:
    if b.change is Change.CLEARED:
        return []
    if latest is not None and b.at_ns <= latest.last_event_ns:
        return [Stale()]  # old data never reopens a resolved ticket
    # a raise knows when the condition began; a violation that reopens after a resolve does not
    opened = b.since_ns if b.change is Change.RAISED else b.at_ns
    t = Active(
        severity=b.severity,
        comparison=Comparison.of(b.comparison),
        limit=Limit.of(b),
        opened_at_ns=opened,
        first_value=b.value,
        peak_value=b.value,
        last_value=b.value,
        occurrences=1,
        recovered=False,
        last_event_ns=b.at_ns,
        updated_at_ns=b.at_ns,
    )
    return [Opened(t, latest.id if latest is not None else None, opened, b.value)]


def _with_value(t: Active, value: float | None) -> Active:
    if value is None:
        return t
    peak = value if t.peak_value is None else t.comparison.worse(t.peak_value, value)
    first = value if t.first_value is None else t.first_value
    return replace(t, last_value=value, peak_value=peak, first_value=first)
