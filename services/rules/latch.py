"""The two-level latch every limit rule shares: pending for `for`, active, escalated, clearing.

Inputs per reading are already reduced to a severity (0 none, 1 warning, 2 critical) and
whether the value is clear of the hysteresis band; the latch turns them into a Change on event
time. Old readings never reach it (the engine drops them), so times only move forward.
"""

from __future__ import annotations

from typing import Any

from domain.breach import Change, Severity
from services.rules.spec import Level

SEVERITY = (None, Severity.WARNING, Severity.CRITICAL)


class Limit:
    """A compiled Level: a fast `violated(v)` and `clear(v)` past its hysteresis."""

    __slots__ = ("hi", "hyst", "lo", "op", "spec", "value")

    def __init__(self, spec: Level, hysteresis: float | None) -> None:
        self.spec = spec
        self.op = spec.op
        if spec.band is not None:
            self.lo, self.hi = spec.band
            self.value = self.lo
            self.hyst = hysteresis if hysteresis is not None else 0.05 * (self.hi - self.lo)
        else:
            assert spec.value is not None  # noqa: S101  (Level._shape guarantees it)
            self.value = self.lo = self.hi = spec.value
            self.hyst = hysteresis if hysteresis is not None else 0.05 * abs(spec.value)

    def violated(self, v: float) -> bool:
        op = self.op
        if op == "<":
            return v < self.value
        if op == ">":
            return v > self.value
        if op == "<=":
            return v <= self.value
        if op == ">=":
            return v >= self.value
        return v < self.lo or v > self.hi

    def clear(self, v: float) -> bool:
        """Past the hysteresis band on the healthy side."""
        op = self.op
        if op in ("<", "<="):
            return v >= self.value + self.hyst
        if op in (">", ">="):
            return v <= self.value - self.hyst
        return self.lo + self.hyst <= v <= self.hi - self.hyst

    def side(self, v: float) -> tuple[str, float]:
        """(comparison, threshold) as a ticket should say it: 'below 6.8', 'above 231'."""
        op = self.op
        if op in ("<", "<="):
            return "below", self.value
        if op in (">", ">="):
            return "above", self.value
        return ("below", self.lo) if v < (self.lo + self.hi) / 2 else ("above", self.hi)


class LatchState:
    """One (sensor, rule) latch. `dirty` marks changes worth persisting."""

    __slots__ = (
        "active",
        "clear_since",
        "crit_since",
        "dirty",
        "folded",
        "pending_since",
        "sensor",
        "since",
    )

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self.active = 0
        self.since: int | None = None
        self.pending_since: int | None = None
        self.crit_since: int | None = None
        self.clear_since: int | None = None
        self.folded: str | None = None  # precedence: the episode held back or folded (see there)
        self.dirty = False

    def to_dict(self) -> dict[str, Any] | None:
        if not self.active and self.pending_since is None:
            return None  # idle: nothing worth keeping
        out: dict[str, Any] = {
            "active": self.active,
            "since": self.since,
            "pending_since": self.pending_since,
            "crit_since": self.crit_since,
            "clear_since": self.clear_since,
        }
        if self.folded is not None:
            out["folded"] = self.folded
        return out

    def idle(self) -> bool:
        """Indistinguishable from a fresh latch (`since` is only read while active), so the
        engine may drop it and keep the slot empty until a reading wakes the rule again."""
        return (
            not self.active
            and self.pending_since is None
            and self.crit_since is None
            and self.clear_since is None
        )

    def load(self, d: dict[str, Any]) -> None:
        self.active = int(d.get("active", 0))
        self.since = d.get("since")
        self.pending_since = d.get("pending_since")
        self.crit_since = d.get("crit_since")
        self.clear_since = d.get("clear_since")
        folded = d.get("folded")
        self.folded = None if folded is None else str(folded)


def advance(
    st: LatchState, sev: int, clear: bool, ts: int, for_ns: int, clear_ns: int, quiet: bool
) -> Change | None:
    """Move the latch with one reading at event time `ts`. `quiet` (maintenance) holds back
    RAISED and ESCALATED but keeps the pending times, so the ticket opens after the window
    with its true start."""
    if not st.active:
        if not sev:
            if st.pending_since is not None:
                st.pending_since = st.crit_since = None
                st.dirty = True
            return None
        if st.pending_since is None:
            st.pending_since = ts
            st.dirty = True
        target = 0
        if sev == 2:
            if st.crit_since is None:
                st.crit_since = ts
                st.dirty = True
            if ts - st.crit_since >= for_ns:
                target = 2
        elif st.crit_since is not None:
            st.crit_since = None
            st.dirty = True
        if not target and ts - st.pending_since >= for_ns:
            target = 1
        if not target or quiet:
            return None
        st.active = target
        st.since = st.pending_since
        st.pending_since = None
        st.clear_since = None
        st.dirty = True
        return Change.RAISED
    if sev:
        if st.clear_since is not None:
            st.clear_since = None
            st.dirty = True
        if sev == 2 and st.active == 1:
            if st.crit_since is None:
                st.crit_since = ts
                st.dirty = True
            if ts - st.crit_since >= for_ns and not quiet:
                st.active = 2
                st.dirty = True
                return Change.ESCALATED
        elif sev == 1 and st.crit_since is not None:
            st.crit_since = None
            st.dirty = True
        return Change.HOLDING
    if st.crit_since is not None:
        st.crit_since = None
        st.dirty = True
    if not clear:
        if st.clear_since is not None:
            st.clear_since = None
            st.dirty = True
        return None
    if st.clear_since is None:
        st.clear_since = ts
        st.dirty = True
    if ts - st.clear_since < clear_ns:
        return None
    st.active = 0
    st.pending_since = st.crit_since = st.clear_since = None
    st.dirty = True
    return Change.CLEARED
