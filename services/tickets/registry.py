"""What a registry change does to tickets, inside the registry's own transaction: a moved
sensor's active tickets follow it to the new grid cell's crew (`reassigned`), a retired
sensor's active tickets are resolved (`retired`). One transaction, so the registry and the
tickets never disagree about where a sensor is."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.site import Registry
from services.db.models import Ticket
from services.tickets.lifecycle import EventKind, Status
from services.tickets.reads import public
from services.tickets.routing import route
from services.tickets.rows import line, summarise
from services.tickets.schemas import Notice


def _active(s: Session, sensor: str) -> list[Ticket]:
    return list(
        s.scalars(
            select(Ticket)
            .where(Ticket.sensor == sensor, Ticket.status != Status.RESOLVED.value)
            .order_by(Ticket.id)
            .with_for_update()
        )
    )


def reassign(s: Session, registry: Registry, sensor: str, actor: str, now: int) -> list[Ticket]:
    """Re-route `sensor`'s active tickets by `registry` (the new version); those it moved."""
    moved: list[Ticket] = []
    for t in _active(s, sensor):
        r = route(registry, t.sensor, t.rule)
        if r is None or (r.grid, r.assignee) == (t.grid, t.assignee):
            continue
        note = f"{t.grid} → {r.grid} ({r.assignee_name})"
        t.grid, t.community = r.grid, r.community
        t.assignee, t.assignee_name, t.supervisor = r.assignee, r.assignee_name, r.supervisor
        t.updated_at_ns = max(t.updated_at_ns, now)
        summarise(registry, t)
        s.add(line(t, EventKind.REASSIGNED, actor, now, now, note=note))
        moved.append(t)
    return moved


def retire(s: Session, sensor: str, actor: str, now: int) -> list[Ticket]:
    """Resolve `sensor`'s active tickets: the sensor is retired. Those it resolved."""
    done: list[Ticket] = []
    for t in _active(s, sensor):
        t.status = Status.RESOLVED.value
        t.resolved_at_ns = now
        if t.acknowledged_at_ns is None:
            t.acknowledged_at_ns = now
        t.updated_at_ns = max(t.updated_at_ns, now)
        s.add(line(t, EventKind.RETIRED, actor, now, now, note="传感器已停用 / sensor retired"))
        done.append(t)
    return done


def notices(s: Session, tickets: Sequence[Ticket], kind: EventKind) -> list[Notice]:
    """The `kind` event of each ticket, as the ticket service announces its own: the new
    grid's crew is told a ticket came to them, the old one that a retired sensor's closed."""
    s.flush()
    return [Notice(event=kind.value, ticket=public(s, t)) for t in tickets]
