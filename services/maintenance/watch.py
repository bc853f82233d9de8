"""The gateway's side of maintenance windows: hand them to the rule engine, write their start
and end into ticket timelines, and count what they held back.

Counting uses a shadow engine: the same rules without any window, fed only the readings of
sensors that have a window, seeded from the persisted rule state when the set of such sensors
changes. Each RAISED or ESCALATED it produces inside a window is a condition the real engine
held back, keyed by (rule, start of the condition) so re-seeding never counts one twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.breach import Change
from domain.measurement import Measurement
from domain.site import Registry
from services.maintenance.store import MaintenanceStore, Window
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.rules.state import RuleStateStore

LOOKBACK_NS = 7 * 86_400 * 10**9
"""Windows that ended up to a week ago still apply to late (cached) readings."""

Held = list[tuple[int, str]]
"""(window id, condition key) pairs to count."""


class MaintenanceWatch:
    """Owned by the event loop, like the engine it feeds; database work runs in threads."""

    def __init__(
        self,
        store: MaintenanceStore,
        engine: RuleEngine,
        state: RuleStateStore,
        *,
        book: RuleBook | None = None,
        registry: Registry | None = None,
        lookback_ns: int = LOOKBACK_NS,
    ) -> None:
        self.store = store
        self.engine = engine
        self.state = state
        self.book = book
        self.registry = registry or store.registry
        self.lookback_ns = lookback_ns
        self.windows: dict[str, list[Window]] = {}
        self._shadow: RuleEngine | None = None
        self.timeline_events = 0

    async def refresh(self, now_ns: int) -> None:
        """Reload the windows from the database and tell the engine; announce starts/ends."""
        found = await asyncio.to_thread(self.store.relevant, now_ns, self.lookback_ns)
        by_sensor: dict[str, list[Window]] = {}
        for w in found:
            by_sensor.setdefault(w.sensor, []).append(w)
        self.engine.set_maintenance((w.sensor, w.start_ns, w.end_ns) for w in found)
        if self.book is not None and by_sensor.keys() != self.windows.keys():
            self._shadow = (
                await asyncio.to_thread(self._seed, now_ns, frozenset(by_sensor))
                if by_sensor
                else None
            )
        self.windows = by_sensor
        self.timeline_events += await asyncio.to_thread(self.store.announce, now_ns)

    def _seed(self, now_ns: int, sensors: frozenset[str]) -> RuleEngine:
        assert self.book is not None  # noqa: S101  (checked by the caller)
        state = {k: v for k, v in self.state.load().items() if k[0] in sensors}
        return RuleEngine(self.book, self.registry, started_ns=now_ns, state=state)

    def observe(self, measurements: Sequence[Measurement]) -> Held:
        """Judge readings of sensors under maintenance without the windows; what the shadow
        raises inside a window was held back."""
        shadow = self._shadow
        if shadow is None or not self.windows:
            return []
        held: Held = []
        for m in measurements:
            spans = self.windows.get(m.sensor)
            if spans is None:
                continue
            for b in shadow.evaluate(m):
                if b.change not in (Change.RAISED, Change.ESCALATED):
                    continue
                w = next((w for w in spans if w.covers(b.at_ns)), None)
                if w is not None:
                    suffix = ":escalated" if b.change is Change.ESCALATED else ""
                    held.append((w.id, f"{b.rule}@{b.since_ns}{suffix}"))
        shadow.changes()  # the shadow keeps no state of its own in the database
        return held
