"""Random raise / clear / ack / resolve / redeliver / restart sequences keep the invariants:
at most one active ticket per (sensor, rule), and old data never reopens a resolved ticket."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.breach import Breach, Change, Severity
from services.db.engine import open_database
from services.db.models import Ticket
from services.tickets.errors import TicketConflict
from services.tickets.reads import TicketFilter
from services.tickets.service import TicketService
from tests.services.tickets.site import T0, low_do, registry

SENSORS = ("pond-qp-01", "water-qp-01")
MIN = 60 * 10**9


class TicketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.engine = open_database(f"sqlite:///{Path(self._dir.name) / 'gw.db'}")
        self.svc = TicketService(self.engine, registry())
        self.now = T0
        self.violating: dict[str, int | None] = dict.fromkeys(SENSORS)  # since
        self.sent: list[Breach] = []

    def _send(self, b: Breach) -> None:
        self.sent.append(b)
        self.svc.apply(b)

    def _tick(self) -> int:
        self.now += 5 * MIN
        return self.now

    @rule(sensor=st.sampled_from(SENSORS), critical=st.booleans(), value=st.floats(0, 3))
    def violate(self, sensor: str, critical: bool, value: float) -> None:
        at = self._tick()
        sev = Severity.CRITICAL if critical else Severity.WARNING
        since = self.violating[sensor]
        if since is None:
            self.violating[sensor] = at
            self._send(low_do(Change.RAISED, at, value, sev, since=at, sensor=sensor))
        else:
            change = Change.ESCALATED if critical else Change.HOLDING
            self._send(low_do(change, at, value, sev, since=since, sensor=sensor))

    @rule(sensor=st.sampled_from(SENSORS))
    def clear(self, sensor: str) -> None:
        since = self.violating[sensor]
        if since is not None:
            self.violating[sensor] = None
            self._send(low_do(Change.CLEARED, self._tick(), 4.0, since=since, sensor=sensor))

    @rule(sensor=st.sampled_from(SENSORS), resolve=st.booleans())
    def crew(self, sensor: str, resolve: bool) -> None:
        active = self.svc.reads.find(TicketFilter(status="active", sensor=sensor))
        for t in active:
            try:
                if resolve:
                    self.svc.actions.resolve(t.id, "crew", "done", None)
                else:
                    self.svc.actions.acknowledge(t.id, "crew", None)
            except TicketConflict:
                raise AssertionError("an active ticket refused a crew action") from None

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        b = data.draw(st.sampled_from(self.sent))
        before = self._all()
        self.svc.apply(b)
        after = self._all()
        assert len(after) == len(before), "a redelivered breach opened a ticket"
        for old, new in zip(before, after, strict=True):
            assert (old.status, old.severity) == (new.status, new.severity)

    @rule()
    def restart(self) -> None:
        self.engine.dispose()
        self.engine = open_database(f"sqlite:///{Path(self._dir.name) / 'gw.db'}")
        self.svc = TicketService(self.engine, registry())

    def _all(self) -> list[Ticket]:
        with Session(self.engine) as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.id)))

    @invariant()
    def one_active_ticket_per_key(self) -> None:
        with Session(self.engine) as s:
            rows = s.execute(
                select(Ticket.sensor, Ticket.rule, func.count())
                .where(Ticket.status != "resolved")
                .group_by(Ticket.sensor, Ticket.rule)
            ).all()
        assert all(n == 1 for _, _, n in rows), rows

    @invariant()
    def resolved_tickets_stay_resolved_and_links_point_back(self) -> None:
        tickets = self._all()
        for t in tickets:
            if t.previous_id is not None:
                prev = next(p for p in tickets if p.id == t.previous_id)
                assert prev.status == "resolved"
                assert prev.id < t.id
                assert t.opened_at_ns > prev.last_event_ns

    def teardown(self) -> None:
        self.engine.dispose()
        self._dir.cleanup()


TicketMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ticket_invariants = TicketMachine.TestCase
