"""Two hub processes evaluating the same stream on one PostgreSQL never open two tickets."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from domain.breach import Change
from services.db.engine import open_database
from services.tickets.reads import TicketFilter
from services.tickets.schemas import Notice
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do, registry


def test_two_engines_racing_open_one_ticket(pg_url: str) -> None:
    engines = [open_database(pg_url) for _ in range(2)]
    services = [TicketService(e, registry()) for e in engines]
    rounds = 20
    barrier = threading.Barrier(2)

    def hub(svc: TicketService) -> list[Notice]:
        out: list[Notice] = []
        for i in range(rounds):
            sensor = "pond-qp-01" if i % 2 == 0 else "water-qp-01"
            barrier.wait()
            out += svc.apply(low_do(Change.RAISED, at=T0 + i * HOUR, since=T0, sensor=sensor))
        return out

    try:
        with ThreadPoolExecutor(2) as pool:
            results = [f.result() for f in [pool.submit(hub, s) for s in services]]
        tickets = services[0].reads.find(TicketFilter())
        assert sorted(t.sensor for t in tickets) == ["pond-qp-01", "water-qp-01"]
        opened = [n for r in results for n in r if n.event == "opened"]
        assert len(opened) == 2  # exactly one process announced each ticket
        assert all(t.status == "open" and t.occurrences == 1 for t in tickets)
    finally:
        for e in engines:
            e.dispose()
