"""A ticket with a long history (5,000 comments of 2,000 characters, 20 MB of JSON) on SQLite and
PostgreSQL: lists, live events and notices stay small, and the timeline pages back through every
line exactly once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from domain.breach import Change
from domain.site import Registry
from services.db.models import TicketEvent
from services.tickets.reads import RECENT, TicketFilter
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do

COMMENTS = 5_000
TEXT = "水" * 1_000 + "x" * 1_000  # 2,000 characters, 4,000 bytes of UTF-8
BRIEF = 8 * 1024  # a list row or a live event: no timeline at all (the history is ~20 MB)
PAGE = 4 * 1024 + RECENT * (len(TEXT.encode()) + 300)  # a ticket read: its newest page only


@pytest.fixture
def svc(engine: Engine, site: Registry) -> TicketService:
    clock = iter(range(T0 + 100 * HOUR, T0 + 10_000 * HOUR, 10**9))
    return TicketService(engine, site, clock=lambda: next(clock))


def with_history(svc: TicketService) -> int:
    """A ticket with `COMMENTS` comments, written in one statement (the service's own path is
    tested elsewhere; here it is the reads that matter)."""
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    tid = n.ticket.id
    rows = [
        {
            "ticket_id": tid,
            "kind": "commented",
            "actor": "li-ming",
            "at_ns": T0 + 2 * HOUR + i,
            "recorded_at_ns": T0 + 2 * HOUR + i,
            "severity": "critical",
            "value": None,
            "note": TEXT,
        }
        for i in range(COMMENTS)
    ]
    with Session(svc.engine) as s, s.begin():
        s.execute(insert(TicketEvent), rows)
    return tid


def size(model: object) -> int:
    dump = getattr(model, "model_dump")(mode="json")  # noqa: B009 - any pydantic model
    return len(json.dumps(dump, ensure_ascii=False).encode())


def test_list_live_event_and_notice_stay_small_however_long_the_history(
    svc: TicketService,
) -> None:
    tid = with_history(svc)
    [brief] = svc.reads.find(TicketFilter())
    assert (brief.id, brief.event_count, brief.comment_count) == (tid, COMMENTS + 1, COMMENTS)
    assert "events" not in brief.model_dump()
    assert size(brief) < BRIEF

    last = svc.reads.last_event_id()
    notice = svc.actions.comment(tid, "li-ming", "到现场了", frozenset({"qp-g1"}))
    assert size(notice) < PAGE  # what MQTT and webhooks would carry
    assert notice.ticket.events[-1].note == "到现场了"
    assert len(notice.ticket.events) == RECENT

    newest, [live] = svc.reads.events_since(last)
    assert (live.event, live.entry.note, live.entry.id) == ("commented", "到现场了", newest)
    assert (live.ticket.id, live.ticket.comment_count) == (tid, COMMENTS + 1)
    assert "events" not in live.model_dump()["ticket"]
    assert size(live) < BRIEF

    t = svc.reads.get(tid)
    assert [e.note for e in t.events[-2:]] == [TEXT, "到现场了"]
    assert len(t.events) == RECENT
    assert t.events_next == t.events[0].id
    assert size(t) < PAGE


def test_paging_returns_every_line_exactly_once_in_order(svc: TicketService) -> None:
    tid = with_history(svc)
    with Session(svc.engine) as s:
        stored = list(s.scalars(select(TicketEvent.id).where(TicketEvent.ticket_id == tid)))
    t = svc.reads.get(tid)
    seen = [e.id for e in t.events]
    before = t.events_next
    pages = 0
    while before is not None:
        page = svc.reads.events(tid, before=before, limit=173)  # a size that does not divide
        assert 0 < len(page.events) <= 173
        seen[:0] = [e.id for e in page.events]
        before = page.next
        pages += 1
    assert seen == sorted(stored)  # every line once, oldest first
    assert pages == -(-(COMMENTS + 1 - RECENT) // 173)
    first = svc.reads.events(tid, before=seen[1])
    assert ([e.kind for e in first.events], first.next) == (["opened"], None)
