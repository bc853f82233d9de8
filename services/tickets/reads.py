"""Reading tickets: one ticket, filtered lists, the timeline in pages, and new timeline lines
as the live stream follows them.

A timeline grows with every comment, so no read carries all of it: lists and live events carry
a `TicketBrief` (counts, no timeline), a single ticket the newest `RECENT` lines, and
`events(before=...)` pages back by event id (ids only grow, so a page boundary never moves and
every line is returned exactly once).

Reads are apart from `TicketService` (the writes) because they share nothing with it but the
engine: no lifecycle, no locks, no retries. Crews are scoped by `grids`; a ticket of another
grid is "not found", never "forbidden", so its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from services.db.models import Photo, Ticket, TicketEvent
from services.tickets.errors import TicketNotFound
from services.tickets.lifecycle import EventKind, Status
from services.tickets.schemas import (
    EventCounts,
    EventPage,
    LiveEvent,
    PhotoPublic,
    TicketBrief,
    TicketEventPublic,
    TicketPublic,
    iso,
)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Query of GET /tickets; `grids` limits a crew to its own cells (None: everything)."""

    status: str | None = None
    grid: str | None = None
    community: str | None = None
    kind: str | None = None
    severity: str | None = None
    since_ns: int | None = None
    sensor: str | None = None
    grids: frozenset[str] | None = None
    limit: int = 100


RECENT = 20
"""Timeline lines a single-ticket read (and a notice) carries: the newest, enough for a crew to
see what happened lately; GET /tickets/{id}/events pages back from there."""

MAX_PAGE = 200


class TicketReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, ticket_id: int, grids: frozenset[str] | None = None) -> TicketPublic:
        """One ticket with the newest `RECENT` lines of its timeline."""
        with Session(self.engine) as s:
            return public(s, _visible(s, ticket_id, grids))

    def events(
        self,
        ticket_id: int,
        grids: frozenset[str] | None = None,
        *,
        before: int | None = None,
        limit: int = MAX_PAGE,
    ) -> EventPage:
        """The timeline lines older than event id `before` (None: the newest), at most
        `limit`, oldest first."""
        with Session(self.engine) as s:
            _visible(s, ticket_id, grids)
            return page(s, ticket_id, before, min(limit, MAX_PAGE))

    def find(self, f: TicketFilter) -> list[TicketBrief]:
        with Session(self.engine) as s:
            found = list(s.scalars(_query(f)))
            counts = count_events(s, [t.id for t in found])
            return [TicketBrief.of(t, counts.get(t.id, EventCounts())) for t in found]

    def events_since(self, last_id: int, limit: int = 500) -> tuple[int, list[LiveEvent]]:
        """Timeline lines recorded after event id `last_id`, each with its ticket's brief as it
        is now, and the newest id seen: how an API process follows tickets changed by any
        process. Each line travels alone: a ticket's history is never resent."""
        with Session(self.engine) as s:
            rows = list(
                s.scalars(
                    select(TicketEvent)
                    .where(TicketEvent.id > last_id)
                    .order_by(TicketEvent.id)
                    .limit(limit)
                )
            )
            if not rows:
                return last_id, []
            ids = sorted({e.ticket_id for e in rows})
            counts = count_events(s, ids)
            briefs = {
                t.id: TicketBrief.of(t, counts.get(t.id, EventCounts()))
                for t in s.scalars(select(Ticket).where(Ticket.id.in_(ids)))
            }
            live = [
                LiveEvent(event=e.kind, ticket=briefs[e.ticket_id], entry=TicketEventPublic.of(e))
                for e in rows
            ]
        return rows[-1].id, live

    def last_event_id(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.max(TicketEvent.id))) or 0


def public(s: Session, t: Ticket) -> TicketPublic:
    """`t` with its counts and the newest page of its timeline, read in session `s` (the
    writes call this inside their transaction, so a notice shows what it committed)."""
    counts = count_events(s, [t.id]).get(t.id, EventCounts())
    return TicketPublic.with_page(t, counts, page(s, t.id, None, RECENT), photos_of(s, t.id))


def photos_of(s: Session, ticket_id: int) -> list[PhotoPublic]:
    """The ticket's photos, oldest first, without their bytes."""
    rows = s.execute(
        select(
            Photo.id,
            Photo.uploaded_by,
            Photo.uploaded_at_ns,
            Photo.width,
            Photo.height,
            Photo.stored_bytes,
        )
        .where(Photo.ticket_id == ticket_id)
        .order_by(Photo.id)
    ).all()
    return [
        PhotoPublic(
            id=r.id,
            uploaded_by=r.uploaded_by,
            uploaded_at=iso(r.uploaded_at_ns),
            width=r.width,
            height=r.height,
            bytes=r.stored_bytes,
        )
        for r in rows
    ]


def page(s: Session, ticket_id: int, before: int | None, limit: int) -> EventPage:
    q = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if before is not None:
        q = q.where(TicketEvent.id < before)
    rows = list(s.scalars(q.order_by(TicketEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit][::-1]
    return EventPage(
        events=[TicketEventPublic.of(e) for e in rows],
        next=rows[0].id if more and rows else None,
    )


def count_events(s: Session, ticket_ids: list[int]) -> dict[int, EventCounts]:
    if not ticket_ids:
        return {}
    comments = func.count().filter(TicketEvent.kind == EventKind.COMMENTED.value)
    rows = s.execute(
        select(TicketEvent.ticket_id, func.count(), comments)
        .where(TicketEvent.ticket_id.in_(ticket_ids))
        .group_by(TicketEvent.ticket_id)
    ).all()
    return {tid: EventCounts(events=n, comments=c) for tid, n, c in rows}


def _visible(s: Session, ticket_id: int, grids: frozenset[str] | None) -> Ticket:
    t = s.get(Ticket, ticket_id)
    if t is None or (grids is not None and t.grid not in grids):
        raise TicketNotFound(ticket_id)
    return t


def _query(f: TicketFilter) -> Select[Ticket]:
    q = select(Ticket)
    if f.status == "active":
        q = q.where(Ticket.status != Status.RESOLVED.value)
    elif f.status is not None:
        q = q.where(Ticket.status == f.status)
    for col, val in (
        (Ticket.grid, f.grid),
        (Ticket.community, f.community),
        (Ticket.kind, f.kind),
        (Ticket.severity, f.severity),
        (Ticket.sensor, f.sensor),
    ):
        if val is not None:
            q = q.where(col == val)
    if f.since_ns is not None:
        q = q.where(Ticket.opened_at_ns >= f.since_ns)
    if f.grids is not None:
        q = q.where(Ticket.grid.in_(sorted(f.grids)))
    return q.order_by(Ticket.id.desc()).limit(f.limit)
