"""What became of the notices: a ticket's delivery attempts per channel, and each channel's
health (contract §8; the dashboard's deliveries panel and failing-channels page).

Every attempt is a `notified` line on the ticket's timeline whose note `attempt_note` writes and
`parse_note` reads back — one format in one module, so the timeline stays readable as text and
the API still answers in fields: channel, type, event, outcome, attempt, the channel's answer.

Outcomes: `sent`, `failed` (for good: a wrong key or signature, a refused address, or retries
exhausted), `throttled` (the robot said "too fast"; retried) and `retrying` (a 5xx, a timeout;
retried). A row still owed (nothing tried yet, or waiting for its retry) is `pending`.

Channel health reads the outbox (`notify_outbox`): counts of sent / failed / pending rows
created in a recent window, the last error and the last success; a channel is failing when its
latest finished attempt failed, or when a row has been tried and still waits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.channels import ChannelSpec
from services.db.models import OutboxRow, Ticket, TicketEvent
from services.notify.outcome import Outcome
from services.tickets.errors import TicketNotFound
from services.tickets.schemas import iso

NOTIFIED_KIND = "notified"

DeliveryOutcome = Literal["sent", "failed", "throttled", "retrying"]
WORDS: dict[str, DeliveryOutcome] = {
    "sent": "sent",
    "failed": "failed",
    "throttled, will retry": "throttled",
    "will retry": "retrying",
}

_NOTE = re.compile(
    r"^(?P<channel>\S+) \((?P<type>[a-z]+)\) (?P<event>\S+): (?P<word>[a-z, ]+?), "
    r"attempt (?P<attempt>\d+)(?:, 1 of (?P<group>\d+) in one message)? — (?P<detail>.*)$",
    re.DOTALL,
)
_CODE = re.compile(r"^(?:error|throttled \()\s*(?P<code>-?\d+)\s*(?P<msg>.*?)\)?$", re.DOTALL)
_HTTP = re.compile(r"^(?P<code>HTTP \d{3})\s*(?P<msg>.*)$", re.DOTALL)


def outcome_word(status: str, outcome: Outcome) -> str:
    """The note's word for a recorded attempt (`status`: sent | failed | retry)."""
    if status == "retry":
        return "throttled, will retry" if outcome.throttled else "will retry"
    return status


def attempt_note(
    channel: str, type_: str, event: str, word: str, attempt: int, group: int, detail: str
) -> str:
    """The text of a `notified` line (cut to the column's 1,000 characters)."""
    grouped = f", 1 of {group} in one message" if group > 1 else ""
    return f"{channel} ({type_}) {event}: {word}, attempt {attempt}{grouped} — {detail}"[:1000]


class Attempt(BaseModel):
    """One delivery attempt of one notice to one channel."""

    event_id: int
    at: datetime | None
    event: str  # the ticket event the notice told of: opened, escalated, …
    outcome: DeliveryOutcome
    attempt: int
    grouped: int | None = None  # sent in one message with this many notices
    code: str | None = None  # the channel's answer code: 93000, 45009, "HTTP 503", 0
    message: str = ""  # the channel's words, or our reason (a timeout)
    detail: str = ""


class Pending(BaseModel):
    """A notice still owed to the channel: waiting for its window, quiet hours or a retry."""

    event: str
    due_at: datetime | None
    attempts: int
    last_error: str = ""


class ChannelDeliveries(BaseModel):
    channel: str
    type: str
    state: DeliveryOutcome | Literal["pending"]  # the latest attempt's outcome, else pending
    attempts: list[Attempt]  # oldest first
    pending: list[Pending]


class TicketDeliveries(BaseModel):
    ticket: int
    channels: list[ChannelDeliveries]


def parse_answer(detail: str) -> tuple[str | None, str]:
    """(code, message) from an outcome's detail: `error 93000 invalid …`, `throttled (45009
    …)`, `HTTP 503`, `ok`; other details (a timeout, an SMTP reply) are the message alone."""
    if detail == "ok":
        return "0", "ok"
    m = _CODE.match(detail)
    if m:
        return m["code"], m["msg"].strip()
    m = _HTTP.match(detail)
    if m:
        return m["code"], m["msg"].strip()
    return None, detail


def parse_note(event_id: int, at_ns: int, note: str) -> tuple[str, str, Attempt] | None:
    """(channel, type, attempt) of a `notified` note, or None for a note of another shape."""
    m = _NOTE.match(note)
    if m is None or m["word"] not in WORDS:
        return None
    code, message = parse_answer(m["detail"])
    attempt = Attempt(
        event_id=event_id,
        at=iso(at_ns),
        event=m["event"],
        outcome=WORDS[m["word"]],
        attempt=int(m["attempt"]),
        grouped=int(m["group"]) if m["group"] else None,
        code=code,
        message=message,
        detail=m["detail"],
    )
    return m["channel"], m["type"], attempt


def ticket_deliveries(
    engine: Engine, ticket_id: int, grids: frozenset[str] | None, types: dict[str, str]
) -> TicketDeliveries:
    """The ticket's attempts and owed notices by channel (`types`: channel id -> type, for
    channels with pending rows only). A crew's ticket of another grid is not found."""
    by: dict[str, ChannelDeliveries] = {}

    def entry(channel: str, type_: str) -> ChannelDeliveries:
        if channel not in by:
            by[channel] = ChannelDeliveries(
                channel=channel, type=type_, state="pending", attempts=[], pending=[]
            )
        return by[channel]

    with Session(engine) as s:
        t = s.get(Ticket, ticket_id)
        if t is None or (grids is not None and t.grid not in grids):
            raise TicketNotFound(ticket_id)
        lines = s.execute(
            select(TicketEvent.id, TicketEvent.at_ns, TicketEvent.note)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == NOTIFIED_KIND)
            .order_by(TicketEvent.id)
        ).all()
        owed = s.execute(
            select(
                OutboxRow.channel,
                OutboxRow.event,
                OutboxRow.due_at_ns,
                OutboxRow.attempts,
                OutboxRow.last_error,
            )
            .where(OutboxRow.ticket_id == ticket_id, OutboxRow.status == "pending")
            .order_by(OutboxRow.id)
        ).all()
    for line in lines:
        parsed = parse_note(line.id, line.at_ns, line.note)
        if parsed is None:
            continue
        channel, type_, attempt = parsed
        e = entry(channel, type_)
        e.attempts.append(attempt)
        e.state = attempt.outcome
    for row in owed:
        e = entry(row.channel, types.get(row.channel, ""))
        e.pending.append(
            Pending(
                event=row.event,
                due_at=iso(row.due_at_ns),
                attempts=row.attempts,
                last_error=row.last_error,
            )
        )
    return TicketDeliveries(ticket=ticket_id, channels=[by[c] for c in sorted(by)])


class ChannelHealth(BaseModel):
    """One channel's recent outcomes, from the outbox."""

    channel: str
    type: str
    configured: bool  # still a channel of the registry (else only its rows remain)
    failing: bool
    sent: int  # rows created in the window, by status
    failed: int
    pending: int
    retrying: int  # pending rows already tried at least once
    last_error: str
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_ticket: int | None  # the ticket of the latest failed row


class ChannelHealthList(BaseModel):
    since: datetime | None
    count: int
    failing: int
    channels: list[ChannelHealth]


def channel_health(
    engine: Engine, channels: Sequence[ChannelSpec], since_ns: int
) -> ChannelHealthList:
    """Every channel of the registry and every channel the outbox still names, failing ones
    first (most failures first), then by id. Counts cover rows created since `since_ns`; the
    last error and last success are the latest ever recorded."""
    with Session(engine) as s:
        counts: dict[str, dict[str, int]] = {}
        for channel, status, tried, n in s.execute(
            select(
                OutboxRow.channel,
                OutboxRow.status,
                OutboxRow.attempts > 0,
                func.count(),
            )
            .where(OutboxRow.created_at_ns >= since_ns)
            .group_by(OutboxRow.channel, OutboxRow.status, OutboxRow.attempts > 0)
        ):
            c = counts.setdefault(channel, {})
            c[status] = c.get(status, 0) + n
            if status == "pending" and tried:
                c["retrying"] = c.get("retrying", 0) + n
        success: dict[str, int | None] = dict(
            s.execute(
                select(OutboxRow.channel, func.max(OutboxRow.done_at_ns))
                .where(OutboxRow.status == "sent")
                .group_by(OutboxRow.channel)
            ).all()
        )
        failure_ids: dict[str, int] = dict(
            s.execute(
                select(OutboxRow.channel, func.max(OutboxRow.id))
                .where(OutboxRow.last_error != "")
                .group_by(OutboxRow.channel)
            ).all()
        )
        errors = {
            r.channel: r
            for r in s.execute(
                select(
                    OutboxRow.channel,
                    OutboxRow.last_error,
                    OutboxRow.done_at_ns,
                    OutboxRow.due_at_ns,
                    OutboxRow.status,
                    OutboxRow.ticket_id,
                ).where(OutboxRow.id.in_(list(failure_ids.values()) or [-1]))
            )
        }
    types = {c.id: c.type.value for c in channels}
    ids = [c.id for c in channels] + sorted((set(counts) | set(success) | set(errors)) - set(types))
    out: list[ChannelHealth] = []
    for cid in ids:
        c = counts.get(cid, {})
        err = errors.get(cid)
        # a pending row's last attempt was just before its next due time; a done row's at done
        err_ns = None if err is None else (err.done_at_ns or err.due_at_ns)
        ok_ns = success.get(cid)
        latest_failed = err is not None and err.status == "failed" and (ok_ns or 0) < (err_ns or 0)
        out.append(
            ChannelHealth(
                channel=cid,
                type=types.get(cid, ""),
                configured=cid in types,
                failing=latest_failed or c.get("retrying", 0) > 0,
                sent=c.get("sent", 0),
                failed=c.get("failed", 0),
                pending=c.get("pending", 0),
                retrying=c.get("retrying", 0),
                last_error=err.last_error if err is not None else "",
                last_error_at=iso(err_ns) if err is not None and err.status == "failed" else None,
                last_success_at=iso(ok_ns),
                last_ticket=err.ticket_id if err is not None else None,
            )
        )
    out.sort(key=lambda h: (not h.failing, -h.failed, -h.retrying, h.channel))
    return ChannelHealthList(
        since=iso(since_ns),
        count=len(out),
        failing=sum(h.failing for h in out),
        channels=out,
    )
