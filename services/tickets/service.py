"""The ticket service: applies the rule engine's breaches to tickets (contract §4) and
escalates unacknowledged ones; the crew's acknowledge / comment / arrive / resolve are
`actions.py` (`TicketService.actions`).

What a breach does is decided by the pure `lifecycle.apply_breach`; this class reads the key's
state, writes what the lifecycle's events say, and owns the transactions around it. Every change
runs in one transaction. The database's partial unique index allows one active ticket per
(sensor, rule); when two hub processes race to open it, the loser's INSERT fails with
IntegrityError and it re-applies the breach to the winner's ticket. Each ticket remembers the
newest breach event time applied to it (`last_event_ns`): an older or repeated breach is
ignored, so redelivery and replays are idempotent and old data never reopens a resolved ticket.
Reads are in `reads.py` (`TicketService.reads`). Methods are synchronous (SQLAlchemy sessions);
async callers run them in a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from domain.breach import Breach
from domain.site import Registry
from services.db.models import Ticket
from services.tickets.actions import TicketActions
from services.tickets.lifecycle import (
    EventKind,
    KeyState,
    Latest,
    Opened,
    Stale,
    Status,
    Timeline,
    Updated,
    apply_breach,
)
from services.tickets.reads import TicketReads, public
from services.tickets.routing import route
from services.tickets.rows import active_of, line, new_ticket, summarise, write
from services.tickets.schemas import Notice

log = logging.getLogger(__name__)

HUB = "hub"
DEFAULT_ACK_TIMEOUT_S = 1800.0

Outboxing = Callable[[Session, Sequence[Notice]], object]
"""Writes a transaction's notices to the notification outbox, inside that transaction."""


@dataclass(slots=True)
class Counters:
    """What the service did since start (exported as metrics)."""

    opened: int = 0
    escalated: int = 0
    recovered: int = 0
    resolved: int = 0
    ignored_stale: int = 0
    unroutable: int = 0
    races_lost: int = 0
    by_event: dict[str, int] = field(default_factory=dict)


def _by_key(breaches: Sequence[Breach]) -> list[list[Breach]]:
    """The breaches of each (sensor, rule), in their order, the keys sorted: rows are locked
    in one order, so two hubs applying overlapping batches wait instead of deadlocking."""
    keys: dict[tuple[str, str], list[Breach]] = {}
    for b in breaches:
        keys.setdefault((b.sensor, b.rule), []).append(b)
    return [keys[k] for k in sorted(keys)]


class TicketService:
    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        *,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        clock: Callable[[], int] = time.time_ns,
        outbox: Outboxing | None = None,
        chained: Callable[[str], bool] | None = None,
    ) -> None:
        """`outbox` sees every transaction's notices before it commits (so a notice is owed
        exactly when its event happened); `chained(community)` says a community has an
        escalation chain (services.notify), which then replaces `tick`'s one escalation."""
        self.engine = engine
        self.outbox = outbox
        self.chained = chained
        self.registry = registry
        self.ack_timeout_ns = int(ack_timeout_s * 1e9)
        self.clock = clock
        self.counters = Counters()
        self.reads = TicketReads(engine)  # the read side, which shares only the engine
        self.actions = TicketActions(engine, clock, self._owe, self._count)

    # -- breaches from the rule engine -------------------------------------------------------
    def apply_all(self, breaches: Sequence[Breach]) -> list[Notice]:
        """Apply a batch's breaches in one transaction: a flatlined or breaching sensor yields a
        breach per reading, and a commit (an fsync on SQLite) per breach made the rules fall
        minutes behind a backlog. Each key's breaches are folded in memory (the lifecycle is
        pure): one row read and one write per key however many readings held it, so a
        redelivered backlog's thousands of holding breaches cost what one does. Should another
        process win a race for a new ticket (or the database break a deadlock by choosing
        us), the batch is rolled back and applied key by key, each with its own retries."""
        keys = _by_key(breaches)
        if len(keys) <= 1:
            return [n for bs in keys for n in self._apply_retrying(bs)]
        before = replace(self.counters)
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                notices = [n for bs in keys for n in self._apply_key(s, bs)]
                self._owe(s, notices)
        except (IntegrityError, OperationalError):  # a race for a new ticket, or a deadlock
            self.counters = before  # what the rolled-back pass counted did not happen
            self.counters.races_lost += 1
            return [n for bs in keys for n in self._apply_retrying(bs)]
        for n in notices:
            self._count(n.event)
        return notices

    def apply(self, breach: Breach) -> list[Notice]:
        """Apply one breach; returns the notices to send (after the commit succeeded)."""
        return self._apply_retrying([breach])

    def _apply_retrying(self, breaches: Sequence[Breach]) -> list[Notice]:
        """One key's breaches in one transaction of their own."""
        for _ in range(3):
            try:
                with Session(self.engine, expire_on_commit=False) as s, s.begin():
                    notices = self._apply_key(s, breaches)
                    self._owe(s, notices)
            except IntegrityError:
                # Another process opened the active ticket first: apply to theirs.
                self.counters.races_lost += 1
                continue
            for n in notices:
                self._count(n.event)
            return notices
        b = breaches[0]
        raise RuntimeError(f"could not apply {b.rule} at {b.sensor} after 3 attempts")

    def _apply_key(self, s: Session, breaches: Sequence[Breach]) -> list[Notice]:
        """Breaches of one (sensor, rule), in order, on its row read once under a lock. The
        row is written when a breach makes a line on the timeline (its notice shows the
        ticket as that breach left it) and once at the end."""
        now = self.clock()
        b0 = breaches[0]
        t = s.scalars(
            select(Ticket)
            .where(Ticket.sensor == b0.sensor, Ticket.rule == b0.rule, Ticket.status != "resolved")
            .with_for_update()
        ).first()
        state = KeyState(active_of(t), None if t is not None else self._latest(s, b0))
        notices: list[Notice] = []
        unwritten = False
        for b in breaches:
            timeline: list[Timeline] = []
            for e in apply_breach(state, b):
                if isinstance(e, Stale):
                    self.counters.ignored_stale += 1
                elif isinstance(e, Updated):
                    state = KeyState(e.ticket)
                    unwritten = True
                elif isinstance(e, Opened):
                    t = self._open(s, b, e, now)
                    if t is not None:  # else nobody to route a new ticket to
                        state = KeyState(e.ticket)
                        timeline.append(e)
                else:
                    timeline.append(e)
            if not timeline or t is None:  # a holding breach: new values, no line
                continue
            assert state.active is not None  # noqa: S101 - a line is about an active ticket
            write(t, state.active)
            unwritten = False
            summarise(self.registry, t)
            for e in timeline:
                note = (
                    f"follows #{e.follows}"
                    if isinstance(e, Opened) and e.follows is not None
                    else ""
                )
                s.add(line(t, e.kind, HUB, e.at_ns, now, value=e.value, note=note))
            s.flush()  # for a new ticket the unique index speaks here, inside our retry loop
            ticket = public(s, t)
            notices.extend(Notice(event=e.kind.value, ticket=ticket) for e in timeline)
        if unwritten and t is not None and state.active is not None:
            write(t, state.active)
            summarise(self.registry, t)
        return notices

    @staticmethod
    def _latest(s: Session, b: Breach) -> Latest | None:
        row = s.execute(
            select(Ticket.id, Ticket.last_event_ns)
            .where(Ticket.sensor == b.sensor, Ticket.rule == b.rule)
            .order_by(Ticket.id.desc())
            .limit(1)
        ).first()
        return Latest(row.id, row.last_event_ns) if row is not None else None

    def _open(self, s: Session, b: Breach, e: Opened, now: int) -> Ticket | None:
        r = route(self.registry, b.sensor, b.rule)
        if r is None:
            self.counters.unroutable += 1
            log.warning("breach of %s at unknown %r: no ticket", b.rule, b.sensor)
            return None
        t = new_ticket(
            r,
            b.sensor,
            b.rule,
            now,
            metric=b.metric,
            comparison=b.comparison,  # the rule's word, for the summary ("drop", "below")
            previous_id=e.follows,
        )
        write(t, e.ticket)
        s.add(t)
        return t

    # -- time-driven escalation -------------------------------------------------------------
    def tick(self, now_ns: int | None = None) -> list[Notice]:
        """Escalate to the community's supervisor every ticket still `open` (not acknowledged)
        `ack_timeout` after the hub opened it. Safe with several hub processes: a conditional
        UPDATE lets exactly one of them escalate each ticket."""
        now = self.clock() if now_ns is None else now_ns
        notices: list[Notice] = []
        with Session(self.engine, expire_on_commit=False) as s:
            rows = s.execute(
                select(Ticket.id, Ticket.community).where(
                    Ticket.status == Status.OPEN.value,
                    Ticket.escalated_at_ns.is_(None),
                    Ticket.created_at_ns <= now - self.ack_timeout_ns,
                )
            ).all()
        chained = self.chained
        due = [r.id for r in rows if chained is None or not chained(r.community)]
        for ticket_id in due:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                won = (
                    s.connection()
                    .execute(
                        update(Ticket)
                        .where(
                            Ticket.id == ticket_id,
                            Ticket.status == Status.OPEN.value,
                            Ticket.escalated_at_ns.is_(None),
                        )
                        .values(escalated_at_ns=now)
                    )
                    .rowcount
                )
                if won != 1:
                    continue
                t = s.get_one(Ticket, ticket_id)
                c = self.registry.communities.get(t.community)
                who = f"{c.supervisor.name} ({c.supervisor.id})" if c else t.supervisor or ""
                s.add(line(t, EventKind.SUPERVISOR, HUB, now, now, note=who))
                s.flush()
                notice = Notice(event=EventKind.SUPERVISOR.value, ticket=public(s, t))
                self._owe(s, [notice])
                notices.append(notice)
        for n in notices:
            self._count(n.event)
        return notices

    # -- pieces -----------------------------------------------------------------------------
    def _owe(self, s: Session, notices: Sequence[Notice]) -> None:
        if self.outbox is not None and notices:
            self.outbox(s, notices)

    def _count(self, event: str) -> None:
        c = self.counters
        c.by_event[event] = c.by_event.get(event, 0) + 1
        if event == EventKind.OPENED:
            c.opened += 1
        elif event in (EventKind.ESCALATED, EventKind.SUPERVISOR):
            c.escalated += 1
        elif event == EventKind.RECOVERED:
            c.recovered += 1
        elif event == EventKind.RESOLVED:
            c.resolved += 1
