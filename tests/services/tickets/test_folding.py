"""An INHIBITED breach is a note on the more specific rule's ticket, through the real ticket
service: the crew sees "also meets 轻度黑臭 by DO" in the timeline and no second ticket."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine

from domain.breach import Change, Severity
from domain.site import Registry
from services.tickets.folding import apply_judged
from services.tickets.reads import TicketFilter
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do


def test_a_folded_grade_is_a_note_on_the_low_oxygen_ticket(engine: Engine, site: Registry) -> None:
    tickets = TicketService(engine, site)
    raised = low_do(Change.RAISED, at=T0 + HOUR)
    grade = replace(
        low_do(Change.INHIBITED, at=T0 + HOUR, severity=Severity.WARNING),
        inhibited="pond.black_odorous",
        threshold=2.0,
        comparison="below",
        limit_zh="轻度黑臭",
        limit_en="light black-odorous",
    )
    notices = apply_judged(tickets, [raised, grade])
    assert [n.event for n in notices] == ["opened", "commented"]
    [brief] = tickets.reads.find(TicketFilter(status="active"))
    assert brief.rule == "pond.low_oxygen"
    note = tickets.reads.get(brief.id).events[-1]
    assert (note.kind, note.actor) == ("commented", "hub")
    assert "同时达到 轻度黑臭(溶解氧 1.5 mg/L,低于 2.0 mg/L" in note.note
    assert "also meets light black-odorous by dissolved oxygen (1.5 mg/L, below 2.0 mg/L" in (
        note.note
    )
    assert "pond.black_odorous" in note.note


def test_a_note_without_its_ticket_opens_nothing(engine: Engine, site: Registry) -> None:
    tickets = TicketService(engine, site)
    grade = replace(low_do(Change.INHIBITED, at=T0 + HOUR), inhibited="pond.black_odorous")
    assert apply_judged(tickets, [grade]) == []
    assert tickets.reads.find(TicketFilter()) == []
