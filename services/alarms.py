"""Committed measurements → rule engine → tickets → notifications.

The gateway hands every committed batch here (as its MeasurementSink) and every rejection (as
a RejectionSink, so a sensor sending only implausible values gets a ticket); a clock task
judges silence on the hub clock. The engine is pure and owned by the event loop; only the
database work (tickets, then the engine's changed state) goes to a worker thread, serialised
by one lock so tickets are applied in the order the engine produced them.

Order on a commit: tickets first, rule state second. A crash between the two replays at most
one batch of state, which the ticket service absorbs (a RAISED on an active ticket is a
re-trigger, older breach times are ignored); the reverse order could lose a ticket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from domain.breach import Breach
from domain.measurement import Measurement, Rejection, RejectReason
from services.maintenance.store import MaintenanceStore
from services.maintenance.watch import Held, MaintenanceWatch
from services.notify.dispatcher import Dispatcher
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.rules.silence import HUB_ROW
from services.rules.state import RuleStateStore
from services.tickets.folding import apply_judged
from services.tickets.schemas import Notice
from services.tickets.service import TicketService

log = logging.getLogger(__name__)

TICK_INTERVAL_S = 5.0

StateChanges = Mapping[tuple[str, str], dict[str, Any] | None]


class Alarms:
    """Implements domain.ports.MeasurementSink and RejectionSink for the gateway."""

    def __init__(
        self,
        engine: RuleEngine,
        state: RuleStateStore,
        tickets: TicketService,
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], int] = time.time_ns,
        book: RuleBook | None = None,
    ) -> None:
        self.engine = engine
        self.state = state
        self.tickets = tickets
        self.dispatcher = dispatcher
        self.clock = clock
        self._lock = asyncio.Lock()
        self.breaches = 0
        self.maintenance = MaintenanceWatch(  # `book` enables counting what windows held back
            MaintenanceStore(tickets.engine, tickets.registry, clock=clock),
            engine,
            state,
            book=book,
        )

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        now = self.clock()
        judge = self.engine.judge  # every rule, then precedence between them
        breaches: list[Breach] = []
        for m in measurements:
            breaches.extend(judge(m, now))
        await self._commit(breaches, self.maintenance.observe(measurements))

    async def record(self, rejections: Sequence[Rejection]) -> None:
        breaches: list[Breach] = []
        for r in rejections:
            if r.reason is RejectReason.IMPLAUSIBLE and r.sensor is not None:
                breaches.extend(self.engine.note_implausible(r.sensor, r.received_at_ns, r.metric))
        await self._commit(breaches)

    async def tick(self) -> None:
        """Judge offline sensors and silent communities now."""
        await self._commit(self.engine.tick(self.clock()))

    async def refresh_maintenance(self) -> None:
        """Reload maintenance windows from the database (crews add them through the API)."""
        await self.maintenance.refresh(self.clock())

    async def run_clock(self, interval_s: float = TICK_INTERVAL_S) -> None:
        """Tick forever; a failing tick is logged and retried at the next one. First, say when
        this engine started (the API shows sensors not heard since then as "waiting")."""
        try:
            await asyncio.to_thread(self.state.save, {HUB_ROW: self.engine.started_record()})
        except Exception:
            log.exception("could not record the hub's start")
        while True:
            try:
                await self.refresh_maintenance()
            except Exception:
                log.exception("maintenance refresh failed")
            await asyncio.sleep(interval_s)
            try:
                await self.tick()
            except Exception:
                log.exception("offline check failed")

    async def _commit(self, breaches: list[Breach], held: Held | None = None) -> None:
        changes = self.engine.changes()
        if not breaches and not changes and not held:
            return
        self.breaches += len(breaches)
        async with self._lock:
            notices = await asyncio.to_thread(self._store, breaches, changes, held)
        self.dispatcher.submit(notices)

    def _store(
        self, breaches: list[Breach], changes: StateChanges, held: Held | None = None
    ) -> list[Notice]:
        notices = apply_judged(self.tickets, breaches) if breaches else []
        if changes:
            self.state.save(changes)
        if held:
            self.maintenance.store.record_suppressed(held)
        return notices
