"""A batch's breaches are folded per key in memory (`TicketService.apply_all`): the tickets,
their timelines and the notices are what applying them one by one gives, and a key's row is
read once however many readings held it (a redelivered backlog of a flatline is thousands)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, selectinload

from domain.breach import Breach, Change, Severity
from domain.site import Registry
from services.db.engine import open_database
from services.db.models import Ticket
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do

SENSORS = ["pond-qp-01", "pond-qp-02"]


def snapshot(engine: Engine) -> list[tuple[object, ...]]:
    """Every ticket's fields and timeline, as a reader of the API sees them."""
    with Session(engine) as s:
        rows = s.scalars(select(Ticket).options(selectinload(Ticket.events)).order_by(Ticket.id))
        return [
            (
                t.sensor,
                t.rule,
                t.status,
                t.severity,
                t.opened_at_ns,
                t.first_value,
                t.peak_value,
                t.last_value,
                t.occurrences,
                t.recovered,
                t.last_event_ns,
                t.summary_en,
                t.previous_id,
                [(e.kind, e.at_ns, e.value, e.note) for e in t.events],
            )
            for t in rows
        ]


steps = st.lists(
    st.tuples(
        st.sampled_from(SENSORS),
        st.sampled_from([Change.RAISED, Change.HOLDING, Change.HOLDING, Change.CLEARED]),
        st.sampled_from([Severity.WARNING, Severity.CRITICAL]),
        st.floats(0.1, 2.9, allow_nan=False).map(lambda v: round(v, 2)),
        st.integers(-2, 6),  # mostly forward, sometimes back (late or redelivered)
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_a_batch_leaves_what_its_breaches_one_by_one_leave(
    steps: list[tuple[str, Change, Severity, float, int]], site: Registry, tmp_path: Path
) -> None:
    now = T0
    batch: list[Breach] = []
    for sensor, change, severity, value, dt in steps:
        now += dt * HOUR // 4
        batch.append(low_do(change, now, value, severity, since=now - HOUR, sensor=sensor))
    folder = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    one, many = (open_database(f"sqlite:///{folder / n}.db") for n in ("one", "many"))
    clock = iter(range(T0, T0 + 10**6)).__next__
    by_one = TicketService(one, site, clock=clock)
    together = TicketService(many, site, clock=clock)
    # a ticket already open before the batch, so both paths start from an active row too
    first = low_do(Change.RAISED, T0 - HOUR, 1.0, Severity.WARNING, since=T0 - 2 * HOUR)
    by_one.apply(first)
    together.apply(first)

    singly = [n for b in batch for n in by_one.apply(b)]
    batched = together.apply_all(batch)

    assert snapshot(many) == snapshot(one)
    key = lambda n: (n.ticket.sensor, n.event)  # noqa: E731 - the batch orders by key
    assert sorted(batched, key=key) == sorted(singly, key=key)
    assert together.counters.ignored_stale == by_one.counters.ignored_stale
    one.dispose()
    many.dispose()


def test_a_key_is_read_once_however_many_readings_held_it(engine: Engine, site: Registry) -> None:
    svc = TicketService(engine, site)
    svc.apply(low_do(Change.RAISED, T0, 1.5))
    held = [low_do(Change.HOLDING, T0 + k * 60 * 10**9, 1.5 - k * 1e-4) for k in range(1, 2001)]
    statements: list[str] = []

    def seen(conn: object, cursor: object, sql: str, *args: object) -> None:
        statements.append(sql)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert svc.apply_all(held) == []  # holding: new values, no line, nobody to tell
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    writes = [q for q in statements if q.lstrip().upper().startswith("UPDATE")]
    assert len(reads) <= 2, reads  # the active row under its lock (and nothing per reading)
    assert len(writes) == 1, writes
    t = svc.reads.get(1)
    assert t.peak_value == held[-1].value
    assert t.last_value == held[-1].value
