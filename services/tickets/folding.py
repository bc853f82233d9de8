"""Breaches the rule engine judged (services/rules/engine.RuleEngine.judge) applied to tickets:
every breach through the ticket service, except an INHIBITED one, which is a note on the
active ticket of the more specific rule (`Breach.rule`) saying what the inhibited rule found
("also meets 轻度黑臭 by DO"). It goes through the service's public comment, as the hub, so it
shows in the ticket's timeline like any other event and changes nothing else on the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from domain.breach import Breach, Change
from services.tickets.reads import TicketFilter
from services.tickets.schemas import Notice
from services.tickets.service import HUB, TicketService
from services.tickets.text import Facts, inhibition_note

log = logging.getLogger(__name__)


def apply_judged(tickets: TicketService, breaches: Sequence[Breach]) -> list[Notice]:
    """Apply in order (a RAISED of the specific rule comes before the note that joins it)."""
    notices: list[Notice] = []
    for b in breaches:
        notices.extend(fold(tickets, b) if b.change is Change.INHIBITED else tickets.apply(b))
    return notices


def fold(tickets: TicketService, b: Breach) -> list[Notice]:
    """The note of one INHIBITED breach on `b.rule`'s active ticket at `b.sensor`. None when
    that ticket is gone (a crew resolved it while the condition held; the rule's next reading
    reopens it, and the inhibited rule stays folded)."""
    found = tickets.reads.find(TicketFilter(status="active", sensor=b.sensor, limit=100))
    target = next((t for t in found if t.rule == b.rule), None)
    if target is None:
        log.info("no active %s at %s to note %s on", b.rule, b.sensor, b.inhibited)
        return []
    note = inhibition_note(
        target.kind,
        b.inhibited,
        b.severity.value,
        Facts(
            rule=b.inhibited,
            kind=target.kind,
            metric=b.metric,
            value=b.value,
            threshold=b.threshold,
            comparison=b.comparison,
            limit_zh=b.limit_zh,
            limit_en=b.limit_en,
            source=b.source,
            provenance=b.provenance,
            since_ns=b.since_ns,
            at_ns=b.at_ns,
        ),
    )
    return [tickets.actions.comment(target.id, HUB, note, None)]
