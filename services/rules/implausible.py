"""A sensor (or one of its metrics) sending nothing but implausible values for a while.

The gateway rejects implausible values, so the engine never sees them as Measurements; the
caller reports each one with `note`. A good value of the same metric (or any good reading, for
whole-reading notes) ends the streak.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.breach import Breach, Change, Severity
from services.rules.spec import ImplausibleRule

NS = 1_000_000_000
WHOLE = "*"  # a note about the whole reading rather than one metric


class ImplausibleState:
    __slots__ = ("active", "dirty", "sensor", "since", "streaks")

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self.streaks: dict[str, list[int]] = {}  # metric or WHOLE -> [first ns, last ns]
        self.active: set[str] = set()
        self.since: int | None = None
        self.dirty = False

    def to_dict(self) -> dict[str, Any] | None:
        if not self.streaks:
            return None
        return {"streaks": dict(self.streaks), "active": sorted(self.active), "since": self.since}

    def idle(self) -> bool:
        """No streak: like a fresh state (`active` empties with the streaks, `since` is only
        read while active)."""
        return not self.streaks

    def load(self, d: dict[str, Any]) -> None:
        self.streaks = {k: [int(v[0]), int(v[1])] for k, v in d.get("streaks", {}).items()}
        self.active = set(d.get("active", ()))
        self.since = d.get("since")


class ImplausibleCheck:
    __slots__ = ("for_ns", "rule", "rule_id")

    def __init__(self, rule_id: str, rule: ImplausibleRule) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.for_ns = int(rule.for_ * NS)

    def new_state(self, sensor: str, interval_s: int = 0) -> ImplausibleState:
        return ImplausibleState(sensor)

    def note(self, st: ImplausibleState, metric: str | None, ts: int, quiet: bool) -> Breach | None:
        key = metric or WHOLE
        streak = st.streaks.get(key)
        if streak is None:
            st.streaks[key] = streak = [ts, ts]
        elif ts <= streak[1]:
            return None  # an older or repeated note: already counted
        streak[1] = ts
        st.dirty = True
        if key in st.active:
            return self._breach(st, Change.HOLDING, ts, metric)
        if ts - streak[0] < self.for_ns or quiet:
            return None
        first = not st.active
        st.active.add(key)
        if not first:
            return self._breach(st, Change.HOLDING, ts, metric)
        st.since = streak[0]
        return self._breach(st, Change.RAISED, ts, metric)

    def good(self, st: ImplausibleState, metrics: Iterable[str], ts: int) -> Breach | None:
        """Good values at `ts` end the streaks they cover (only streaks that began before)."""
        ended = [
            k for k, (first, _) in st.streaks.items() if first < ts and (k == WHOLE or k in metrics)
        ]
        if not ended:
            return None
        st.dirty = True
        was_active = bool(st.active)
        for k in ended:
            del st.streaks[k]
            st.active.discard(k)
        if was_active and not st.active:
            return self._breach(st, Change.CLEARED, ts, None if ended[0] == WHOLE else ended[0])
        return None

    def _breach(self, st: ImplausibleState, change: Change, ts: int, metric: str | None) -> Breach:
        r = self.rule
        return Breach(
            sensor=st.sensor,
            rule=self.rule_id,
            change=change,
            severity=Severity.WARNING,
            since_ns=st.since if st.since is not None else ts,
            at_ns=ts,
            metric=metric,
            comparison="implausible",
            limit_zh="超出合理量程",
            limit_en="outside the plausible range",
            source=r.source,
            provenance=r.provenance,
        )
