"""The public shape of a ticket: what the API returns and what notifications carry (one schema
for both, so an app reading MQTT and one calling the API see the same fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from services.db.models import Ticket, TicketEvent


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    OPENED = "opened"
    RETRIGGERED = "retriggered"
    ESCALATED = "escalated"  # warning -> critical
    SUPERVISOR = "escalated_to_supervisor"  # not acknowledged in time
    RECOVERED = "recovered"
    ACKNOWLEDGED = "acknowledged"
    COMMENTED = "commented"
    RESOLVED = "resolved"


NOTIFIED = frozenset(
    {
        EventKind.OPENED,
        EventKind.ESCALATED,
        EventKind.SUPERVISOR,
        EventKind.RECOVERED,
        EventKind.RESOLVED,
    }
)
"""Only these reach crews' phones: no storm of updates per reading."""


def iso(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


class Summary(BaseModel):
    zh: str
    en: str


class TicketEventPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    actor: str
    at: datetime | None
    recorded_at: datetime | None
    severity: str | None = None
    value: float | None = None
    note: str = ""

    @classmethod
    def of(cls, e: TicketEvent) -> TicketEventPublic:
        return cls(
            kind=e.kind,
            actor=e.actor,
            at=iso(e.at_ns),
            recorded_at=iso(e.recorded_at_ns),
            severity=e.severity,
            value=e.value,
            note=e.note,
        )


class TicketPublic(BaseModel):
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
    events: list[TicketEventPublic]

    @classmethod
    def of(cls, t: Ticket) -> TicketPublic:
        return cls(
            id=t.id,
            sensor=t.sensor,
            kind=t.kind,
            metric=t.metric,
            rule=t.rule,
            severity=t.severity,
            status=t.status,
            grid=t.grid,
            community=t.community,
            assignee=t.assignee,
            assignee_name=t.assignee_name,
            opened_at=iso(t.opened_at_ns),
            updated_at=iso(t.updated_at_ns),
            acknowledged_at=iso(t.acknowledged_at_ns),
            resolved_at=iso(t.resolved_at_ns),
            escalated_at=iso(t.escalated_at_ns),
            first_value=t.first_value,
            peak_value=t.peak_value,
            last_value=t.last_value,
            threshold=t.threshold,
            source=t.source,
            provenance=t.provenance,
            occurrences=t.occurrences,
            recovered=t.recovered,
            previous_id=t.previous_id,
            summary=Summary(zh=t.summary_zh, en=t.summary_en),
            events=[TicketEventPublic.of(e) for e in t.events],
        )


class Notice(BaseModel):
    """A ticket event worth telling crews about: the MQTT and webhook payload."""

    model_config = ConfigDict(frozen=True)

    event: str
    ticket: TicketPublic
