"""Escalation chains (contract §8): a ticket not acknowledged within a step's `after` notifies
the step's person on the ticket's channels, mentioned by mobile; acknowledging or resolving
stops the chain. A step taken is a row of `notify_escalations` (primary key ticket + step, so
one process takes it, however many hubs run), in the transaction that writes the timeline line
and the step's outbox rows; the state is in SQL, so a restarted hub re-arms from it.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.db.models import EscalationRow, Ticket, TicketEvent
from services.notify.outbox import HUB, Outbox
from services.tickets.lifecycle import EventKind, Status
from services.tickets.reads import public
from services.tickets.schemas import Notice

log = logging.getLogger(__name__)


def escalate_due(outbox: Outbox, engine: Engine) -> int:
    """Take every chain step now due on an unacknowledged ticket; returns how many."""
    now = outbox.clock()
    taken = 0
    communities = {
        c: list(steps) for c in outbox.registry.communities if (steps := outbox.directory.chain(c))
    }
    if not communities:
        return 0
    first = min(steps[0].after for steps in communities.values())
    with Session(engine) as s:
        rows = s.execute(
            select(Ticket.id, Ticket.community, Ticket.created_at_ns).where(
                Ticket.status == Status.OPEN.value,
                Ticket.community.in_(communities),
                Ticket.created_at_ns <= now - int(first * 1e9),
            )
        ).all()
        done: dict[int, set[int]] = {}
        if rows:
            for tid, step in s.execute(
                select(EscalationRow.ticket_id, EscalationRow.step).where(
                    EscalationRow.ticket_id.in_([r.id for r in rows])
                )
            ):
                done.setdefault(tid, set()).add(step)
    for r in rows:
        for i, chain_step in enumerate(communities[r.community]):
            due_ns = r.created_at_ns + int(chain_step.after * 1e9)
            if i in done.get(r.id, set()) or due_ns > now:
                continue
            if _take_step(outbox, engine, r.id, i, chain_step.notify, now):
                taken += 1
    return taken


def _take_step(
    outbox: Outbox, engine: Engine, ticket_id: int, step: int, who: str, now: int
) -> bool:
    try:
        with Session(engine, expire_on_commit=False) as s, s.begin():
            t = s.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
            if t is None or t.status != Status.OPEN.value:
                return False  # acknowledged or resolved meanwhile: the chain stops
            person = outbox.directory.person(who, t.grid, t.community)
            if person is None:
                log.warning("escalation step %d of ticket %d: nobody is %r", step, t.id, who)
                return False
            s.add(EscalationRow(ticket_id=t.id, step=step, person=person.id, at_ns=now))
            s.flush()  # the primary key decides which process takes the step
            note = f"第 {step + 1} 级 / step {step + 1}: {person.name} ({person.id})"
            s.add(
                TicketEvent(
                    ticket_id=t.id,
                    kind=EventKind.SUPERVISOR.value,
                    actor=HUB,
                    at_ns=now,
                    recorded_at_ns=now,
                    severity=t.severity,
                    note=note,
                )
            )
            if t.escalated_at_ns is None:
                t.escalated_at_ns = now
            s.flush()
            notice = Notice(event=EventKind.SUPERVISOR.value, ticket=public(s, t))
            for spec in outbox.directory.routes(t.grid, t.community, t.severity):
                outbox.add(s, spec, outbox.item(notice, spec, person, note), t.severity)
    except IntegrityError:
        return False  # another process took this step
    return True
