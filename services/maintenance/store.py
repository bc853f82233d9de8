"""Maintenance windows in SQL, and the lines they write into ticket timelines.

Crews act on their own grid cells only (`grids`; None is an admin or the hub itself). A window
is judged on event time by the rule engine, so one that already ended still matters to late
readings for a while: `relevant()` returns windows that ended up to `lookback_ns` ago.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.site import Registry
from services.db.models import MaintenanceWindow, Ticket, TicketEvent

NS = 10**9
DAY_NS = 86_400 * NS
MAX_SPAN_NS = 31 * DAY_NS
"""A window longer than a month is a decommissioning, not maintenance."""
MAX_AHEAD_NS = 31 * DAY_NS
"""No window reaches further than this past now, so windows chained back to back cannot
silence a sensor beyond the month a single one may last; maintenance further ahead is
entered nearer the time."""
MAX_OPEN_PER_SENSOR = 10
"""Windows of one sensor not yet over: enough for a fortnight of daily slots, not a flood."""
MAX_NOTE = 500
EVENT = "maintenance"
"""The timeline event kind written on active tickets when a window starts and ends."""


class MaintenanceError(ValueError):
    """A window that cannot be stored as asked; the message says why."""


class WindowNotFound(LookupError):
    def __init__(self, window_id: int) -> None:
        super().__init__(f"no maintenance window {window_id}")


class WindowOver(MaintenanceError):
    """The window asked to end is already over: a conflict with its state, not bad input."""


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    sensor: str
    grid: str
    start_ns: int
    end_ns: int
    note: str
    created_by: str
    created_at_ns: int
    ended_by: str | None
    suppressed: int

    def covers(self, ts_ns: int) -> bool:
        return self.start_ns <= ts_ns < self.end_ns

    @classmethod
    def of(cls, row: MaintenanceWindow) -> Window:
        return cls(
            id=row.id,
            sensor=row.sensor,
            grid=row.grid,
            start_ns=row.start_ns,
            end_ns=row.end_ns,
            note=row.note,
            created_by=row.created_by,
            created_at_ns=row.created_at_ns,
            ended_by=row.ended_by,
            suppressed=row.suppressed,
        )


def _clock_text(ns: int, registry: Registry) -> str:
    return (
        datetime.fromtimestamp(ns / NS, UTC).astimezone(registry.site.tz).strftime("%Y-%m-%d %H:%M")
    )


class MaintenanceStore:
    """Create, list and end windows; write their start and end into ticket timelines."""

    def __init__(
        self, engine: Engine, registry: Registry, *, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock

    # -- crew actions ---------------------------------------------------------------------
    def create(
        self,
        sensor: str,
        start_ns: int,
        end_ns: int,
        note: str,
        actor: str,
        grids: frozenset[str] | None,
    ) -> Window:
        p = self.registry.get(sensor)
        if p is None or (grids is not None and p.grid.id not in grids):
            # a crew hears the same of another grid's sensor as of one that does not exist
            where = "the registry" if grids is None else "your grid cells"
            raise MaintenanceError(f"no sensor {sensor!r} in {where}")
        if end_ns <= start_ns:
            raise MaintenanceError("the window must end after it starts")
        if end_ns - start_ns > MAX_SPAN_NS:
            raise MaintenanceError("a maintenance window may last at most 31 days")
        now = self.clock()
        if end_ns <= now:
            raise MaintenanceError("the window is already over")
        if end_ns - now > MAX_AHEAD_NS:
            raise MaintenanceError(
                "a maintenance window may end at most 31 days from now; "
                "enter later maintenance nearer the time"
            )
        row = MaintenanceWindow(
            sensor=sensor,
            grid=p.grid.id,
            start_ns=start_ns,
            end_ns=end_ns,
            note=note[:MAX_NOTE],
            created_by=actor,
            created_at_ns=now,
            announced=False,
            closed=False,
            suppressed=0,
            suppressed_keys="[]",
        )
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            pending = s.scalar(
                select(func.count())
                .select_from(MaintenanceWindow)
                .where(MaintenanceWindow.sensor == sensor, MaintenanceWindow.end_ns > now)
            )
            if (pending or 0) >= MAX_OPEN_PER_SENSOR:
                raise MaintenanceError(
                    f"sensor {sensor} has {MAX_OPEN_PER_SENSOR} maintenance windows not yet "
                    "over, the most it may have; end one first"
                )
            s.add(row)
            s.flush()
            return Window.of(row)

    def end(self, window_id: int, actor: str, grids: frozenset[str] | None) -> Window:
        """End a window now (or cancel one that has not started)."""
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            row = s.get(MaintenanceWindow, window_id, with_for_update=True)
            if row is None or (grids is not None and row.grid not in grids):
                raise WindowNotFound(window_id)
            now = self.clock()
            if row.end_ns <= now or row.end_ns <= row.start_ns:
                raise WindowOver(f"maintenance window {window_id} is already over")
            row.end_ns = max(row.start_ns, now)
            row.ended_by = actor
            return Window.of(row)

    # -- reads ------------------------------------------------------------------------------
    def get(self, window_id: int, grids: frozenset[str] | None = None) -> Window:
        with Session(self.engine) as s:
            row = s.get(MaintenanceWindow, window_id)
            if row is None or (grids is not None and row.grid not in grids):
                raise WindowNotFound(window_id)
            return Window.of(row)

    def find(
        self,
        grids: frozenset[str] | None = None,
        *,
        sensor: str | None = None,
        current_only: bool = False,
        limit: int = 200,
    ) -> list[Window]:
        """Newest first; `current_only` keeps windows that have not ended yet."""
        q = select(MaintenanceWindow)
        if grids is not None:
            q = q.where(MaintenanceWindow.grid.in_(sorted(grids)))
        if sensor is not None:
            q = q.where(MaintenanceWindow.sensor == sensor)
        if current_only:
            q = q.where(MaintenanceWindow.end_ns > self.clock())
        q = q.order_by(MaintenanceWindow.start_ns.desc(), MaintenanceWindow.id.desc()).limit(limit)
        with Session(self.engine) as s:
            return [Window.of(r) for r in s.scalars(q)]

    def relevant(self, now_ns: int, lookback_ns: int) -> list[Window]:
        """Windows the rule engine must know: not ended, or ended within `lookback_ns`."""
        q = select(MaintenanceWindow).where(MaintenanceWindow.end_ns > now_ns - lookback_ns)
        with Session(self.engine) as s:
            return [Window.of(r) for r in s.scalars(q)]

    # -- the hub's side ---------------------------------------------------------------------
    def record_suppressed(self, held: Iterable[tuple[int, str]]) -> int:
        """Count conditions held back by windows, once per (window, condition key)."""
        by_window: dict[int, set[str]] = {}
        for wid, key in held:
            by_window.setdefault(wid, set()).add(key)
        added = 0
        with Session(self.engine) as s, s.begin():
            for wid, keys in by_window.items():
                row = s.get(MaintenanceWindow, wid, with_for_update=True)
                if row is None:
                    continue
                known = set(json.loads(row.suppressed_keys or "[]"))
                new = keys - known
                if new:
                    row.suppressed_keys = json.dumps(sorted(known | new))
                    row.suppressed = len(known | new)
                    added += len(new)
        return added

    def announce(self, now_ns: int) -> int:
        """Write the start of every window that began (and the end of every window that ended)
        into the timelines of its sensor's active tickets, once. Returns events written."""
        written = 0
        with Session(self.engine) as s, s.begin():
            rows = s.scalars(
                select(MaintenanceWindow)
                .where(MaintenanceWindow.closed.is_(False), MaintenanceWindow.start_ns <= now_ns)
                .with_for_update()
            ).all()
            for row in rows:
                if not row.announced:
                    row.announced = True
                    until = _clock_text(row.end_ns, self.registry)
                    note = f"维护中，至 {until} / under maintenance until {until}"
                    if row.note:
                        note += f": {row.note}"
                    written += self._timeline(s, row, row.start_ns, now_ns, note)
                if row.end_ns <= now_ns:
                    row.closed = True
                    n = row.suppressed
                    note = (
                        f"维护结束，期间暂停 {n} 项新告警 / maintenance ended; "
                        f"{n} new alarm(s) held back during it"
                    )
                    written += self._timeline(s, row, row.end_ns, now_ns, note)
        return written

    @staticmethod
    def _timeline(s: Session, row: MaintenanceWindow, at_ns: int, now_ns: int, note: str) -> int:
        tickets = s.scalars(
            select(Ticket).where(Ticket.sensor == row.sensor, Ticket.status != "resolved")
        ).all()
        for t in tickets:
            s.add(
                TicketEvent(
                    ticket_id=t.id,
                    kind=EVENT,
                    actor=row.ended_by if row.closed and row.ended_by else row.created_by,
                    at_ns=at_ns,
                    recorded_at_ns=now_ns,
                    severity=t.severity,
                    value=None,
                    note=note,
                )
            )
        return len(tickets)
