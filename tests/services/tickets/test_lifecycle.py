"""The ticket lifecycle of contract §4, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.breach import Breach, Change, Severity
from domain.site import Registry
from services.db.models import Ticket
from services.tickets.errors import TicketConflict, TicketNotFound
from services.tickets.reads import TicketFilter
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do


@pytest.fixture
def svc(engine: Engine, site: Registry) -> TicketService:
    clock = iter(range(T0 + 100 * HOUR, T0 + 10_000 * HOUR, 10**9))
    return TicketService(engine, site, ack_timeout_s=1800, clock=lambda: next(clock))


def events(svc: TicketService, ticket_id: int) -> list[str]:
    return [e.kind for e in svc.reads.get(ticket_id).events]


def test_raise_opens_a_routed_ticket_with_a_readable_summary(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    t = n.ticket
    assert n.event == "opened"
    assert (t.status, t.severity, t.grid, t.community) == ("open", "critical", "qp-g1", "qingping")
    assert (t.assignee, t.assignee_name, t.kind, t.metric) == ("w-017", "李明", "pond", "do")
    assert t.opened_at is not None
    assert t.opened_at.timestamp() == T0 / 1e9
    assert (t.first_value, t.peak_value, t.last_value, t.occurrences) == (1.5, 1.5, 1.5, 1)
    assert t.summary.zh == (
        "清平社区 清平1号网格 堰塘A:溶解氧 1.5 mg/L,低于 2.0 mg/L"
        "(轻度黑臭,城市黑臭水体整治工作指南)已持续 1 小时"
    )
    assert "dissolved oxygen 1.5 mg/L, below 2.0 mg/L" in t.summary.en
    [e] = t.events
    assert (e.kind, e.actor) == ("opened", "hub")
    assert e.recorded_at is not None
    assert e.at is not None
    assert e.recorded_at > e.at


def test_redelivered_breach_changes_nothing(svc: TicketService) -> None:
    b = low_do(Change.RAISED, at=T0 + HOUR)
    [n] = svc.apply(b)
    assert svc.apply(b) == []
    assert svc.apply(low_do(Change.HOLDING, at=T0 + HOUR // 2)) == []  # older: ignored
    assert len(svc.reads.find(TicketFilter())) == 1
    assert events(svc, n.ticket.id) == ["opened"]


def test_holding_tracks_peak_and_escalation_stays_on_the_same_ticket(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR, value=2.6, severity=Severity.WARNING))
    assert (
        svc.apply(low_do(Change.HOLDING, at=T0 + 2 * HOUR, value=2.2, severity=Severity.WARNING))
        == []
    )
    [esc] = svc.apply(low_do(Change.ESCALATED, at=T0 + 3 * HOUR, value=1.1))
    assert esc.event == "escalated"
    assert esc.ticket.id == n.ticket.id
    svc.apply(low_do(Change.HOLDING, at=T0 + 4 * HOUR, value=1.8))
    t = svc.reads.get(n.ticket.id)
    assert (t.severity, t.first_value, t.peak_value, t.last_value) == ("critical", 2.6, 1.1, 1.8)
    assert t.threshold == 2.0  # the critical limit now
    assert events(svc, t.id) == ["opened", "escalated"]


def test_recovery_then_retrigger_counts_occurrences(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    [rec] = svc.apply(low_do(Change.CLEARED, at=T0 + 2 * HOUR, value=4.0))
    assert rec.event == "recovered"
    assert rec.ticket.recovered
    assert rec.ticket.status == "open"  # stays open until a crew member resolves it
    assert svc.apply(low_do(Change.CLEARED, at=T0 + 2 * HOUR, value=4.0)) == []
    notices = svc.apply(low_do(Change.RAISED, at=T0 + 3 * HOUR, since=T0 + 3 * HOUR))
    assert [x.event for x in notices] == ["retriggered"]
    t = svc.reads.get(n.ticket.id)
    assert (t.occurrences, t.recovered) == (2, False)
    assert len(svc.reads.find(TicketFilter())) == 1


def test_crew_acknowledges_comments_and_resolves(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    tid = n.ticket.id
    assert (
        svc.actions.acknowledge(tid, "li-ming", frozenset({"qp-g1"})).ticket.status
        == "acknowledged"
    )
    svc.actions.comment(tid, "li-ming", "去现场了", frozenset({"qp-g1"}))
    done = svc.actions.resolve(tid, "li-ming", "增氧机已修好", frozenset({"qp-g1"})).ticket
    assert done.status == "resolved"
    assert done.resolved_at is not None
    kinds = [(e.kind, e.actor, e.note) for e in done.events]
    assert kinds == [
        ("opened", "hub", ""),
        ("acknowledged", "li-ming", ""),
        ("commented", "li-ming", "去现场了"),
        ("resolved", "li-ming", "增氧机已修好"),
    ]
    with pytest.raises(TicketConflict):
        svc.actions.resolve(tid, "li-ming", "", None)
    with pytest.raises(TicketConflict):
        svc.actions.acknowledge(tid, "li-ming", None)


def test_crew_of_another_grid_cannot_see_or_touch(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    other = frozenset({"hx-g1"})
    with pytest.raises(TicketNotFound):
        svc.reads.get(n.ticket.id, other)
    with pytest.raises(TicketNotFound):
        svc.actions.resolve(n.ticket.id, "zhang-wei", "", other)
    assert svc.reads.find(TicketFilter(grids=other)) == []
    assert svc.reads.get(n.ticket.id).status == "open"


def test_violation_after_resolve_opens_a_new_linked_ticket(svc: TicketService) -> None:
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    svc.actions.resolve(n.ticket.id, "li-ming", "", None)
    # a redelivered or older breach never reopens the resolved ticket
    assert svc.apply(low_do(Change.RAISED, at=T0 + HOUR)) == []
    assert svc.apply(low_do(Change.HOLDING, at=T0 + HOUR - 1)) == []
    [again] = svc.apply(low_do(Change.HOLDING, at=T0 + 2 * HOUR, value=1.2))
    assert again.event == "opened"
    t = again.ticket
    assert t.id != n.ticket.id
    assert t.previous_id == n.ticket.id
    assert t.opened_at is not None
    assert t.opened_at.timestamp() == (T0 + 2 * HOUR) / 1e9
    assert t.events[0].note == f"follows #{n.ticket.id}"
    assert [x.id for x in svc.reads.find(TicketFilter(status="active"))] == [t.id]


def test_clear_without_a_ticket_does_nothing(svc: TicketService) -> None:
    assert svc.apply(low_do(Change.CLEARED, at=T0)) == []
    assert svc.reads.find(TicketFilter()) == []


def test_unknown_sensor_is_counted_not_ticketed(svc: TicketService) -> None:
    assert svc.apply(low_do(Change.RAISED, at=T0, sensor="pond-zz-99")) == []
    assert svc.counters.unroutable == 1


def test_unacknowledged_ticket_escalates_to_the_supervisor_once(
    engine: Engine, site: Registry
) -> None:
    now = [T0]
    svc = TicketService(engine, site, ack_timeout_s=1800, clock=lambda: now[0])
    [a] = svc.apply(low_do(Change.RAISED, at=T0 - HOUR))
    [b] = svc.apply(low_do(Change.RAISED, at=T0 - HOUR, sensor="water-qp-01"))
    svc.actions.acknowledge(b.ticket.id, "li-ming", None)
    assert svc.tick(T0 + 1799 * 10**9) == []
    [esc] = svc.tick(T0 + 1800 * 10**9)
    assert esc.event == "escalated_to_supervisor"
    assert esc.ticket.id == a.ticket.id
    assert "周红" in esc.ticket.events[-1].note
    assert svc.tick(T0 + 3600 * 10**9) == []  # once


def test_community_silence_goes_to_the_supervisor(svc: TicketService) -> None:
    b = Breach(
        sensor="qingping",
        rule="community.silent",
        change=Change.RAISED,
        severity=Severity.CRITICAL,
        since_ns=T0,
        at_ns=T0 + HOUR,
        comparison="offline",
    )
    [n] = svc.apply(b)
    t = n.ticket
    assert (t.kind, t.grid, t.community, t.assignee) == ("community", "qp-g1", "qingping", "s-003")
    assert t.summary.zh.startswith("清平社区 清平1号网格:社区多数传感器同时失联")


def test_database_refuses_a_second_active_ticket(engine: Engine, svc: TicketService) -> None:
    svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    with Session(engine) as s, s.begin():
        first = s.scalars(select(Ticket)).one()
        copy = {c.key: getattr(first, c.key) for c in Ticket.__table__.columns if c.key != "id"}
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        s.add(Ticket(**copy))
    copy["status"] = "resolved"  # resolved ones may be many
    with Session(engine) as s, s.begin():
        s.add(Ticket(**copy))
