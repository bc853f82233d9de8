"""The ticket service: applies the rule engine's breaches to tickets (contract §4), and the
crew's acknowledge / comment / resolve.

Every change runs in one transaction. The database's partial unique index allows one active
ticket per (sensor, rule); when two hub processes race to open it, the loser's INSERT fails
with IntegrityError and it re-applies the breach to the winner's ticket. Each ticket remembers
the newest breach event time applied to it (`last_event_ns`): an older or repeated breach is
ignored, so redelivery and replays are idempotent and old data never reopens a resolved ticket.
Methods are synchronous (SQLAlchemy sessions); async callers run them in a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from domain.breach import Breach, Change, Severity
from domain.site import Registry
from services.db.models import Ticket, TicketEvent
from services.tickets.errors import TicketConflict, TicketNotFound
from services.tickets.routing import route
from services.tickets.schemas import EventKind, Notice, Status, TicketPublic
from services.tickets.text import Facts, Place, summary

log = logging.getLogger(__name__)

HUB = "hub"
DEFAULT_ACK_TIMEOUT_S = 1800.0
MAX_NOTE = 2000


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


def _worse(comparison: str, threshold: float | None, a: float, b: float) -> float:
    """The worse of two values for a rule that fires `comparison` its threshold."""
    if comparison in ("below",):
        return min(a, b)
    if comparison == "outside" and threshold is not None:
        return a if abs(a - threshold) >= abs(b - threshold) else b
    return max(a, b)


class TicketService:
    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        *,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.ack_timeout_ns = int(ack_timeout_s * 1e9)
        self.clock = clock
        self.counters = Counters()

    # -- breaches from the rule engine -------------------------------------------------------
    def apply_all(self, breaches: Sequence[Breach]) -> list[Notice]:
        notices: list[Notice] = []
        for b in breaches:
            notices.extend(self.apply(b))
        return notices

    def apply(self, breach: Breach) -> list[Notice]:
        """Apply one breach; returns the notices to send (after the commit succeeded)."""
        for _ in range(3):
            try:
                with Session(self.engine, expire_on_commit=False) as s, s.begin():
                    notices = self._apply(s, breach)
            except IntegrityError:
                # Another process opened the active ticket first: apply to theirs.
                self.counters.races_lost += 1
                continue
            for n in notices:
                self._count(n.event)
            return notices
        raise RuntimeError(f"could not apply {breach.rule} at {breach.sensor} after 3 attempts")

    def _apply(self, s: Session, b: Breach) -> list[Notice]:
        now = self.clock()
        active = s.scalars(
            select(Ticket)
            .where(Ticket.sensor == b.sensor, Ticket.rule == b.rule, Ticket.status != "resolved")
            .with_for_update()
        ).first()
        if active is None:
            return self._open(s, b, now)
        t = active
        if b.at_ns < t.last_event_ns:
            self.counters.ignored_stale += 1
            return []
        kinds: list[EventKind] = []
        if b.change is Change.CLEARED:
            if not t.recovered:
                t.recovered = True
                kinds.append(EventKind.RECOVERED)
        else:
            if b.value is not None:
                t.last_value = b.value
                t.peak_value = (
                    b.value
                    if t.peak_value is None
                    else _worse(t.comparison, t.threshold, t.peak_value, b.value)
                )
                if t.first_value is None:
                    t.first_value = b.value
            if b.change is Change.RAISED and t.recovered:
                t.recovered = False
                t.occurrences += 1
                kinds.append(EventKind.RETRIGGERED)
            if Severity(b.severity).rank > Severity(t.severity).rank:
                t.severity = Severity.CRITICAL.value
                if b.threshold is not None:
                    t.threshold = b.threshold
                    t.limit_zh, t.limit_en = b.limit_zh, b.limit_en
                    t.source, t.provenance = b.source, b.provenance
                kinds.append(EventKind.ESCALATED)
        t.last_event_ns = max(t.last_event_ns, b.at_ns)
        t.updated_at_ns = max(t.updated_at_ns, b.at_ns)
        self._summarise(t)
        for k in kinds:
            s.add(self._event(t, k, HUB, b.at_ns, now, value=b.value))
        s.flush()
        return [self._notice(t, k) for k in kinds]

    def _open(self, s: Session, b: Breach, now: int) -> list[Notice]:
        if b.change is Change.CLEARED:
            return []
        latest = s.scalars(
            select(Ticket)
            .where(Ticket.sensor == b.sensor, Ticket.rule == b.rule)
            .order_by(Ticket.id.desc())
            .limit(1)
        ).first()
        if latest is not None and b.at_ns <= latest.last_event_ns:
            self.counters.ignored_stale += 1  # old data never reopens a resolved ticket
            return []
        r = route(self.registry, b.sensor, b.rule)
        if r is None:
            self.counters.unroutable += 1
            log.warning("breach of %s at unknown %r: no ticket", b.rule, b.sensor)
            return []
        opened = b.since_ns if b.change is Change.RAISED else b.at_ns
        t = Ticket(
            sensor=b.sensor,
            rule=b.rule,
            kind=r.kind,
            metric=b.metric,
            severity=Severity(b.severity).value,
            status=Status.OPEN.value,
            grid=r.grid,
            community=r.community,
            assignee=r.assignee,
            assignee_name=r.assignee_name,
            supervisor=r.supervisor,
            opened_at_ns=opened,
            updated_at_ns=b.at_ns,
            created_at_ns=now,
            last_event_ns=b.at_ns,
            first_value=b.value,
            peak_value=b.value,
            last_value=b.value,
            threshold=b.threshold,
            comparison=b.comparison,
            limit_zh=b.limit_zh,
            limit_en=b.limit_en,
            source=b.source,
            provenance=b.provenance,
            occurrences=1,
            recovered=False,
            previous_id=latest.id if latest is not None else None,
        )
        self._summarise(t)
        note = f"follows #{latest.id}" if latest is not None else ""
        t.events = [self._event(t, EventKind.OPENED, HUB, opened, now, value=b.value, note=note)]
        s.add(t)
        s.flush()  # the unique index speaks here, inside our retry loop
        return [self._notice(t, EventKind.OPENED)]

    # -- crew actions -----------------------------------------------------------------------
    def acknowledge(self, ticket_id: int, actor: str, grids: frozenset[str] | None) -> Notice:
        def act(s: Session, t: Ticket, now: int) -> EventKind:
            if t.status == Status.RESOLVED:
                raise TicketConflict(f"ticket {t.id} is resolved")
            if t.status == Status.OPEN:
                t.status = Status.ACKNOWLEDGED.value
                t.acknowledged_at_ns = now
            return EventKind.ACKNOWLEDGED

        return self._act(ticket_id, grids, actor, "", act)

    def comment(
        self, ticket_id: int, actor: str, text: str, grids: frozenset[str] | None
    ) -> Notice:
        return self._act(ticket_id, grids, actor, text, lambda s, t, now: EventKind.COMMENTED)

    def resolve(
        self, ticket_id: int, actor: str, note: str, grids: frozenset[str] | None
    ) -> Notice:
        def act(s: Session, t: Ticket, now: int) -> EventKind:
            if t.status == Status.RESOLVED:
                raise TicketConflict(f"ticket {t.id} is already resolved")
            t.status = Status.RESOLVED.value
            t.resolved_at_ns = now
            if t.acknowledged_at_ns is None:
                t.acknowledged_at_ns = now
            return EventKind.RESOLVED

        return self._act(ticket_id, grids, actor, note, act)

    def _act(
        self,
        ticket_id: int,
        grids: frozenset[str] | None,
        actor: str,
        note: str,
        act: Callable[[Session, Ticket, int], EventKind],
    ) -> Notice:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            now = self.clock()
            t = s.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
            if t is None or (grids is not None and t.grid not in grids):
                raise TicketNotFound(ticket_id)
            kind = act(s, t, now)
            t.updated_at_ns = max(t.updated_at_ns, now)
            s.add(self._event(t, kind, actor, now, now, note=note[:MAX_NOTE]))
            s.flush()
            s.refresh(t, ["events"])
            notice = self._notice(t, kind)
        self._count(notice.event)
        return notice

    # -- time-driven escalation -------------------------------------------------------------
    def tick(self, now_ns: int | None = None) -> list[Notice]:
        """Escalate to the community's supervisor every ticket still `open` (not acknowledged)
        `ack_timeout` after the hub opened it. Safe with several hub processes: a conditional
        UPDATE lets exactly one of them escalate each ticket."""
        now = self.clock() if now_ns is None else now_ns
        notices: list[Notice] = []
        with Session(self.engine, expire_on_commit=False) as s:
            due = s.scalars(
                select(Ticket.id).where(
                    Ticket.status == Status.OPEN.value,
                    Ticket.escalated_at_ns.is_(None),
                    Ticket.created_at_ns <= now - self.ack_timeout_ns,
                )
            ).all()
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
                s.add(self._event(t, EventKind.SUPERVISOR, HUB, now, now, note=who))
                s.flush()
                s.refresh(t, ["events"])
                notices.append(self._notice(t, EventKind.SUPERVISOR))
        for n in notices:
            self._count(n.event)
        return notices

    # -- reads ------------------------------------------------------------------------------
    def get(self, ticket_id: int, grids: frozenset[str] | None = None) -> TicketPublic:
        with Session(self.engine) as s:
            t = s.scalars(
                select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.events))
            ).first()
            if t is None or (grids is not None and t.grid not in grids):
                raise TicketNotFound(ticket_id)
            return TicketPublic.of(t)

    def find(self, f: TicketFilter) -> list[TicketPublic]:
        with Session(self.engine) as s:
            return [TicketPublic.of(t) for t in s.scalars(self._query(f))]

    def events_since(self, last_id: int, limit: int = 500) -> tuple[int, list[Notice]]:
        """Timeline events recorded after event id `last_id`, each with its ticket as it is now,
        and the newest id seen: how an API process follows tickets changed by any process."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(TicketEvent.id, TicketEvent.kind, TicketEvent.ticket_id)
                .where(TicketEvent.id > last_id)
                .order_by(TicketEvent.id)
                .limit(limit)
            ).all()
            if not rows:
                return last_id, []
            ids = {r.ticket_id for r in rows}
            tickets = {
                t.id: TicketPublic.of(t)
                for t in s.scalars(
                    select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.events))
                )
            }
        notices = [Notice(event=r.kind, ticket=tickets[r.ticket_id]) for r in rows]
        return rows[-1].id, notices

    def last_event_id(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.max(TicketEvent.id))) or 0

    def active(self) -> list[TicketPublic]:
        return self.find(TicketFilter(limit=1_000_000, status=None, grids=None))

    @staticmethod
    def _query(f: TicketFilter) -> Select[Ticket]:
        q = select(Ticket).options(selectinload(Ticket.events))
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

    # -- pieces -----------------------------------------------------------------------------
    def _summarise(self, t: Ticket) -> None:
        r = route(self.registry, t.sensor, t.rule)
        place = (
            Place(r.community_name, r.grid_name, r.asset) if r else Place(t.community, t.grid, "")
        )
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

    @staticmethod
    def _event(
        t: Ticket,
        kind: EventKind,
        actor: str,
        at_ns: int,
        now: int,
        *,
        value: float | None = None,
        note: str = "",
    ) -> TicketEvent:
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

    @staticmethod
    def _notice(t: Ticket, kind: EventKind) -> Notice:
        return Notice(event=kind.value, ticket=TicketPublic.of(t))

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
