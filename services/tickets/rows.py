"""Between the ticket rows and the rest: a new row as its route makes it, the lifecycle's view
of a row and back, the timeline line, and the sentence a crew reads. Kept apart so the service
is only what it does with them (transactions, retries, routing)."""

from __future__ import annotations

from typing import Any

from domain.breach import Severity
from domain.site import Registry
from services.db.models import Ticket, TicketEvent
from services.tickets.lifecycle import Active, Comparison, EventKind, Limit, Status
from services.tickets.routing import Route, route
from services.tickets.text import Facts, Place, summary


def new_ticket(r: Route, sensor: str, rule: str, now: int, **fields: Any) -> Ticket:
    """An open ticket of (`sensor`, `rule`) for whom route `r` names, created on the hub clock
    at `now`; `fields` are its other columns."""
    return Ticket(
        sensor=sensor,
        rule=rule,
        kind=r.kind,
        status=Status.OPEN.value,
        grid=r.grid,
        community=r.community,
        assignee=r.assignee,
        assignee_name=r.assignee_name,
        supervisor=r.supervisor,
        created_at_ns=now,
        **fields,
    )


def summarise(registry: Registry, t: Ticket) -> None:
    """Write the ticket's sentence (Chinese and English) from its current fields."""
    r = route(registry, t.sensor, t.rule)
    place = Place(r.community_name, r.grid_name, r.asset) if r else Place(t.community, t.grid, "")
    t.summary_zh, t.summary_en = summary(
        Facts(
            rule=t.rule,
            kind=t.kind,
            metric=t.metric,
            # the worst value the crew must deal with, not a recovering last one
            value=t.peak_value if t.peak_value is not None else t.last_value,
            threshold=t.threshold,
            comparison=t.comparison,
            limit_zh=t.limit_zh,
            limit_en=t.limit_en,
            source=t.source,
            provenance=t.provenance,
            since_ns=t.opened_at_ns,
            at_ns=t.last_event_ns,
        ),
        place,
    )


def line(
    t: Ticket,
    kind: EventKind,
    actor: str,
    at_ns: int,
    now: int,
    *,
    value: float | None = None,
    note: str = "",
) -> TicketEvent:
    """A timeline line of `t`, at event time `at_ns`, recorded by the hub at `now`."""
    return TicketEvent(
        ticket=t,
        kind=kind.value,
        actor=actor,
        at_ns=at_ns,
        recorded_at_ns=now,
        severity=t.severity,
        value=value,
        note=note,
    )


def active_of(t: Ticket | None) -> Active | None:
    """The lifecycle's view of an active ticket row."""
    if t is None:
        return None
    return Active(
        severity=Severity(t.severity),
        comparison=Comparison.of(t.comparison),
        limit=Limit(t.threshold, t.limit_zh, t.limit_en, t.source, t.provenance),
        opened_at_ns=t.opened_at_ns,
        first_value=t.first_value,
        peak_value=t.peak_value,
        last_value=t.last_value,
        occurrences=t.occurrences,
        recovered=t.recovered,
        last_event_ns=t.last_event_ns,
        updated_at_ns=t.updated_at_ns,
    )


def write(t: Ticket, a: Active) -> None:
    """Copy the lifecycle's fields onto the row."""
    t.severity = a.severity.value
    t.threshold = a.limit.threshold
    t.limit_zh, t.limit_en = a.limit.limit_zh, a.limit.limit_en
    t.source, t.provenance = a.limit.source, a.limit.provenance
    t.opened_at_ns = a.opened_at_ns
    t.first_value, t.peak_value, t.last_value = a.first_value, a.peak_value, a.last_value
    t.occurrences = a.occurrences
    t.recovered = a.recovered
    t.last_event_ns = a.last_event_ns
    t.updated_at_ns = a.updated_at_ns
