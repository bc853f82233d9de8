"""The durable outbox (table `notify_outbox`): what is owed to which channel, written in the same
transaction as the ticket event that caused it, so a notice exists exactly when its event does.

- `Outbox.enqueue(session, notices)` — inside the ticket service's transaction: one row per
  (notice, channel that takes it). A row's `due_at` is when it may go: the end of the channel's
  open group window (a notice joins a window opened less than a window ago, so a burst is one
  message), the end of the channel's quiet hours for a warning, or now for MQTT and webhooks.
- `claim(...)` — a channel worker leases the due rows of its channel (SELECT … FOR UPDATE SKIP
  LOCKED on PostgreSQL, and a conditional UPDATE under a fresh lease token everywhere), so two
  hub processes never take the same row; a lease that runs out (a process died mid-send) makes
  the row claimable again.
- `finish(...)` — records an attempt: sent, failed (for good), or pending again after a
  backoff; each attempt a `notified` line on the ticket's timeline.
Escalation chains, which write their steps' rows through `add`, are services/notify/chains.py.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from domain.channels import ROBOTS, ChannelSpec
from domain.site import Person, Registry
from services.db.models import OutboxRow, TicketEvent
from services.notify.deliveries import attempt_note, outcome_word
from services.notify.directory import Directory
from services.notify.message import Item, Mention
from services.notify.outcome import Outcome
from services.notify.senders import SINGLE
from services.tickets.lifecycle import EventKind
from services.tickets.schemas import NOTIFIED, Notice

log = logging.getLogger(__name__)

NOTIFIED_KIND = "notified"
HUB = "hub"
MENTIONED = frozenset(
    {EventKind.OPENED, EventKind.ESCALATED, EventKind.SUPERVISOR, EventKind.REASSIGNED}
)
"""Events that mention the person who must act (recoveries and resolutions do not)."""


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    public_url: str = "http://127.0.0.1:8080"
    group_window_s: float = 30.0
    lease_s: float = 120.0
    retry_base_s: float = 5.0
    retry_max_s: float = 600.0
    max_attempts: int = 12


@dataclass(frozen=True, slots=True)
class Claimed:
    """Rows one worker leased to send together."""

    token: str
    ids: list[int]
    items: list[Item]
    attempts: list[int]  # per row, before this attempt


class Outbox:
    def __init__(
        self,
        directory: Directory,
        registry: Registry,
        config: OutboxConfig,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = directory
        self.registry = registry
        self.config = config
        self.clock = clock

    # -- writing, inside ticket transactions --------------------------------------------------
    def window_ns(self, spec: ChannelSpec) -> int:
        if spec.type in SINGLE:
            return 0
        w = spec.group_window_s if spec.group_window_s is not None else self.config.group_window_s
        return int(w * 1e9)

    def link(self, ticket_id: int) -> str:
        return f"{self.config.public_url.rstrip('/')}/tickets/{ticket_id}"

    def enqueue(self, s: Session, notices: Sequence[Notice]) -> int:
        """Rows for every channel each notice is routed to; returns how many."""
        n = 0
        for notice in notices:
            event = notice.event
            if event not in NOTIFIED and event != EventKind.ACKNOWLEDGED:
                continue
            t = notice.ticket
            for spec in self.directory.routes(t.grid, t.community, t.severity):
                if event == EventKind.ACKNOWLEDGED and spec.type not in ROBOTS:
                    continue  # "taken on" is a short line for groups only
                mention = None
                if event in MENTIONED:
                    who = "supervisor" if event == EventKind.SUPERVISOR else "worker"
                    if t.kind == "community" and who == "worker":
                        who = t.assignee  # a community incident is the supervisor's
                    mention = self.directory.person(who, t.grid, t.community)
                note = ""
                if event == EventKind.ACKNOWLEDGED:
                    note = self._actor(notice)
                item = self.item(notice, spec, mention, note)
                self.add(s, spec, item, t.severity)
                n += 1
        return n

    @staticmethod
    def _actor(notice: Notice) -> str:
        for e in reversed(notice.ticket.events):
            if e.kind == EventKind.ACKNOWLEDGED:
                return e.actor
        return ""

    def item(
        self, notice: Notice, spec: ChannelSpec, mention: Person | None, note: str = ""
    ) -> Item:
        t = notice.ticket
        found = self.registry.grids.get(t.grid)
        grid_name, community_name = (found[0].name, found[1].name) if found else (t.grid, "")
        p = self.registry.get(t.sensor)
        asset = (p.sensor.asset or p.sensor.id) if p is not None else ""
        return Item(
            event=notice.event,
            ticket_id=t.id,
            severity=t.severity,
            status=t.status,
            rule=t.rule,
            community=community_name or t.community,
            grid=grid_name,
            grid_id=t.grid,
            asset=asset,
            summary_zh=t.summary.zh,
            summary_en=t.summary.en,
            source=t.source,
            opened_at_ns=int(t.opened_at.timestamp() * 1e9) if t.opened_at else None,
            link=self.link(t.id),
            mentions=[Mention(name=mention.name, phone=mention.phone)] if mention else [],
            note=note,
            notice=notice.model_dump_json() if spec.type in SINGLE else "",
        )

    def add(self, s: Session, spec: ChannelSpec, item: Item, severity: str) -> None:
        now = self.clock()
        due = now
        window = self.window_ns(spec)
        if window:
            # join the channel's open window, else open one: a burst is one message
            open_until = s.scalar(
                select(func.max(OutboxRow.due_at_ns)).where(
                    OutboxRow.channel == spec.id,
                    OutboxRow.status == "pending",
                    OutboxRow.attempts == 0,
                    OutboxRow.lease_owner.is_(None),
                    OutboxRow.due_at_ns > now,
                    OutboxRow.due_at_ns <= now + window,
                )
            )
            due = open_until if open_until is not None else now + window
        if severity != "critical" and spec.quiet_hours is not None:
            due = max(due, self.quiet_end(spec, due))
        s.add(
            OutboxRow(
                channel=spec.id,
                ticket_id=item.ticket_id,
                event=item.event,
                severity=severity,
                payload=item.model_dump_json(),
                status="pending",
                attempts=0,
                created_at_ns=now,
                due_at_ns=due,
                last_error="",
            )
        )

    def quiet_end(self, spec: ChannelSpec, at_ns: int) -> int:
        """`at_ns` if outside the channel's quiet hours, else when they end."""
        q = spec.quiet_hours
        if q is None:
            return at_ns
        tz = self.directory.tz
        local = datetime.fromtimestamp(at_ns / 1e9, tz)
        if not q.holds(local.time()):
            return at_ns
        end = local.replace(hour=q.end.hour, minute=q.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return int(end.timestamp() * 1e9)

    # -- the channel workers' side -----------------------------------------------------------
    def claim(self, engine: Engine, spec: ChannelSpec, limit: int) -> Claimed | int | None:
        """Lease up to `limit` due rows of a channel (oldest first). Returns the claim, else
        the next due time (ns) of a pending row, else None (nothing pending)."""
        now = self.clock()
        token = uuid.uuid4().hex
        free = (OutboxRow.lease_until_ns.is_(None)) | (OutboxRow.lease_until_ns < now)
        with Session(engine) as s, s.begin():
            q = (
                select(OutboxRow.id)
                .where(
                    OutboxRow.channel == spec.id,
                    OutboxRow.status == "pending",
                    OutboxRow.due_at_ns <= now,
                    free,
                )
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = list(s.scalars(q))
            if not ids:
                return s.scalar(
                    select(func.min(OutboxRow.due_at_ns)).where(
                        OutboxRow.channel == spec.id, OutboxRow.status == "pending"
                    )
                )
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == "pending", free)
                .values(lease_owner=token, lease_until_ns=now + int(self.config.lease_s * 1e9))
            )
            rows = s.execute(
                select(OutboxRow.id, OutboxRow.payload, OutboxRow.attempts)
                .where(OutboxRow.lease_owner == token)
                .order_by(OutboxRow.id)
            ).all()
        if not rows:
            return now
        return Claimed(
            token=token,
            ids=[r.id for r in rows],
            items=[Item.model_validate(json.loads(r.payload)) for r in rows],
            attempts=[r.attempts for r in rows],
        )

    def backoff_ns(self, attempt: int) -> int:
        c = self.config
        return int(min(c.retry_max_s, c.retry_base_s * 2 ** max(0, attempt - 1)) * 1e9)

    def finish(self, engine: Engine, spec: ChannelSpec, claim: Claimed, outcome: Outcome) -> str:
        """Record one attempt of a claim; returns the rows' final word: sent, failed, retry."""
        now = self.clock()
        attempt = max(claim.attempts) + 1
        status = outcome.status
        detail = outcome.detail
        if status == "retry" and attempt >= self.config.max_attempts:
            status, detail = "failed", f"gave up after {attempt} attempts: {outcome.detail}"
        with Session(engine) as s, s.begin():
            values: dict[str, object] = {
                "attempts": OutboxRow.attempts + 1,
                "lease_owner": None,
                "lease_until_ns": None,
                "last_error": "" if status == "sent" else detail[:1000],
            }
            if status == "retry":
                values["due_at_ns"] = now + self.backoff_ns(attempt)
            else:
                values["status"] = status
                values["done_at_ns"] = now
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(claim.ids), OutboxRow.lease_owner == claim.token)
                .values(**values)
            )
            word = outcome_word(status, outcome)
            for item in claim.items:
                if item.ticket_id is None:
                    continue
                s.add(
                    TicketEvent(
                        ticket_id=item.ticket_id,
                        kind=NOTIFIED_KIND,
                        actor=HUB,
                        at_ns=now,
                        recorded_at_ns=now,
                        note=attempt_note(
                            spec.id, spec.type, item.event, word, attempt, len(claim.ids), detail
                        ),
                    )
                )
        return status
