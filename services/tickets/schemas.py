"""The public shape of a ticket: what the API returns and what notifications carry (one schema
for both, so an app reading MQTT and one calling the API see the same fields).

Two sizes: `TicketPublic` (one ticket with the newest page of its timeline) and `TicketBrief`
(no timeline: lists, the live stream). The timeline itself pages (`EventPage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.instants import from_ns
from services.db.models import Photo, Ticket, TicketEvent
from services.tickets.lifecycle import EventKind

NOTIFIED = frozenset(
    {
        EventKind.OPENED,
        EventKind.ESCALATED,
        EventKind.SUPERVISOR,
        EventKind.RECOVERED,
        EventKind.RESOLVED,
        EventKind.REASSIGNED,
        EventKind.RETIRED,
    }
)
"""Only these reach crews' phones: no storm of updates per reading. A registry change's
`reassigned` tells the new grid's crew a ticket is theirs now, `retired` that it closed."""


def iso(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return from_ns(ns)


class Summary(BaseModel):
    zh: str
    en: str


class TicketEventPublic(BaseModel):
    """One line of the timeline; `id` orders the timeline and is the paging cursor."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    actor: str
    at: datetime | None
    recorded_at: datetime | None
    severity: str | None = None
    value: float | None = None
    note: str = ""
    photos: list[int] = []  # a `photo` line's photo, the photos a resolve carries

    @classmethod
    def of(cls, e: TicketEvent) -> TicketEventPublic:
        return cls(
            id=e.id,
            kind=e.kind,
            actor=e.actor,
            at=iso(e.at_ns),
            recorded_at=iso(e.recorded_at_ns),
            severity=e.severity,
            value=e.value,
            note=e.note,
            photos=[int(p) for p in (e.photos or "").split()],
        )


class PhotoPublic(BaseModel):
    """A photo of a ticket: GET /photos/{id} (and `?size=thumb`) for its JPEG."""

    model_config = ConfigDict(frozen=True)

    id: int
    uploaded_by: str
    uploaded_at: datetime | None
    width: int
    height: int
    bytes: int  # stored size (image and thumbnail)

    @classmethod
    def of(cls, p: Photo) -> PhotoPublic:
        return cls(
            id=p.id,
            uploaded_by=p.uploaded_by,
            uploaded_at=iso(p.uploaded_at_ns),
            width=p.width,
            height=p.height,
            bytes=p.stored_bytes,
        )


class EventPage(BaseModel):
    """A page of a ticket's timeline, oldest first. `next` is the `before=` cursor of the page
    older than this one, null when this page begins the timeline."""

    model_config = ConfigDict(frozen=True)

    events: list[TicketEventPublic]
    next: int | None


@dataclass(frozen=True, slots=True)
class EventCounts:
    """How long a ticket's timeline is (lists show it without carrying it)."""

    events: int = 0
    comments: int = 0


class TicketBrief(BaseModel):
    """A ticket without its timeline: what lists and live events carry. A timeline grows with
    every comment, so only the single-ticket read carries (a page of) it; `event_count` and
    `comment_count` say how long it is."""

    model_config = ConfigDict(frozen=True)

    id: int
    sensor: str
    kind: str
    metric: str | None
    rule: str
    severity: str
    status: str
    grid: str
    community: str
    assignee: str
    assignee_name: str
    opened_at: datetime | None
    updated_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    first_value: float | None
    peak_value: float | None
    last_value: float | None
    threshold: float | None
    source: str
    provenance: str
    occurrences: int
    recovered: bool
    previous_id: int | None
    summary: Summary
    event_count: int
    comment_count: int

    @classmethod
    def of(cls, t: Ticket, counts: EventCounts) -> TicketBrief:
        return cls(**_fields(t, counts))


class TicketPublic(TicketBrief):
    """A ticket with the newest page of its timeline (`events`, oldest first, contract §4);
    `events_next` is the `before=` cursor of GET /tickets/{id}/events for the older ones."""

    events: list[TicketEventPublic]
    events_next: int | None
    photos: list[PhotoPublic] = []

    @classmethod
    def with_page(
        cls,
        t: Ticket,
        counts: EventCounts,
        page: EventPage,
        photos: list[PhotoPublic] | None = None,
    ) -> TicketPublic:
        return cls(
            **_fields(t, counts), events=page.events, events_next=page.next, photos=photos or []
        )


def _fields(t: Ticket, counts: EventCounts) -> dict[str, Any]:
    return {
        "id": t.id,
        "sensor": t.sensor,
        "kind": t.kind,
        "metric": t.metric,
        "rule": t.rule,
        "severity": t.severity,
        "status": t.status,
        "grid": t.grid,
        "community": t.community,
        "assignee": t.assignee,
        "assignee_name": t.assignee_name,
        "opened_at": iso(t.opened_at_ns),
        "updated_at": iso(t.updated_at_ns),
        "acknowledged_at": iso(t.acknowledged_at_ns),
        "resolved_at": iso(t.resolved_at_ns),
        "escalated_at": iso(t.escalated_at_ns),
        "first_value": t.first_value,
        "peak_value": t.peak_value,
        "last_value": t.last_value,
        "threshold": t.threshold,
        "source": t.source,
        "provenance": t.provenance,
        "occurrences": t.occurrences,
        "recovered": t.recovered,
        "previous_id": t.previous_id,
        "summary": Summary(zh=t.summary_zh, en=t.summary_en),
        "event_count": counts.events,
        "comment_count": counts.comments,
    }


class Notice(BaseModel):
    """A ticket event worth telling crews about: the MQTT and webhook payload. The ticket
    carries the newest page of its timeline (bounded, however long the timeline is)."""

    model_config = ConfigDict(frozen=True)

    event: str
    ticket: TicketPublic


class LiveEvent(BaseModel):
    """What the dashboard's live stream sends for each new timeline line: the line itself
    (`entry`) and the ticket's brief, never the whole timeline."""

    model_config = ConfigDict(frozen=True)

    event: str
    ticket: TicketBrief
    entry: TicketEventPublic
