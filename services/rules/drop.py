"""Rate of change: a value falling by more than `drop` within `within` (water.burst).

The window of recent readings is kept in memory only: after a restart a fall that began before
it is not seen as one, while an active burst (and its reference level) is persisted.
"""

from __future__ import annotations

from typing import Any

from domain.breach import Breach, Change
from services.rules.spec import DropRule

NS = 1_000_000_000


class DropState:
    __slots__ = ("active", "clear_since", "dirty", "ref", "sensor", "since", "window")

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        # A list, not a deque: it holds a reading or two (a deque costs 760 bytes empty).
        self.window: list[tuple[int, float]] = []
        self.active = False
        self.ref = 0.0
        self.since: int | None = None
        self.clear_since: int | None = None
        self.dirty = False

    def idle(self) -> bool:
        return False  # the window is the rule's memory of the recent readings

    def to_dict(self) -> dict[str, Any] | None:
        if not self.active:
            return None
        return {"ref": self.ref, "since": self.since, "clear_since": self.clear_since}

    def load(self, d: dict[str, Any]) -> None:
        self.active = True
        self.ref = float(d["ref"])
        self.since = d.get("since")
        self.clear_since = d.get("clear_since")


class DropCheck:
    __slots__ = ("clear_ns", "drop", "metric", "rule", "rule_id", "within_ns")

    def __init__(self, rule_id: str, rule: DropRule) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.metric = rule.metric
        self.drop = rule.drop
        self.within_ns = int(rule.within * NS)
        self.clear_ns = int(rule.clear_for * NS)

    def wakes(self, v: float) -> bool:
        return True  # every reading joins the window

    def new_state(self, sensor: str, interval_s: int = 0) -> DropState:
        return DropState(sensor)

    def step(self, st: DropState, v: float, ts: int, quiet: bool) -> Breach | None:
        window = st.window
        horizon = ts - self.within_ns
        old = 0
        while old < len(window) and window[old][0] < horizon:
            old += 1
        if old:
            del window[:old]
        # A monotone deque: the front is the highest value within the window.
        while window and window[-1][1] <= v:
            window.pop()
        top = window[0] if window else None
        window.append((ts, v))
        if not st.active:
            if top is None or top[1] - v <= self.drop or quiet:
                return None
            # opened at the reading that shows the fall, not at the healthy reference level
            st.active, st.ref, st.since, st.clear_since = True, top[1], ts, None
            st.dirty = True
            return self._breach(st, Change.RAISED, ts, top[1] - v)
        fallen = st.ref - v
        if fallen > self.drop * 0.95:  # 5 % hysteresis on the drop
            if st.clear_since is not None:
                st.clear_since = None
                st.dirty = True
            return self._breach(st, Change.HOLDING, ts, fallen)
        if st.clear_since is None:
            st.clear_since = ts
            st.dirty = True
        if ts - st.clear_since < self.clear_ns:
            return None
        st.active = False
        st.dirty = True
        return self._breach(st, Change.CLEARED, ts, fallen)

    def _breach(self, st: DropState, change: Change, ts: int, fallen: float) -> Breach:
        r = self.rule
        return Breach(
            sensor=st.sensor,
            rule=self.rule_id,
            change=change,
            severity=r.severity,
            since_ns=st.since if st.since is not None else ts,
            at_ns=ts,
            metric=self.metric,
            value=round(fallen, 6),
            threshold=self.drop,
            comparison="drop",
            limit_zh=r.limit_zh,
            limit_en=r.limit_en,
            source=r.source,
            provenance=r.provenance,
        )
