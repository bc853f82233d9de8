"""Minimum night flow against its recent median: the district-metering leak signal.

Each site-local night window (02:00–05:00 by default) yields one minimum. A night is judged
when the first reading after its window arrives, against the median of the earlier nights'
minima; `nights` consecutive nights above the ratio raise the condition. Nights judged a leak
stay out of the baseline, so a leak does not become the new normal.
"""

from __future__ import annotations

import statistics
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.breach import Breach, Change, Severity
from services.rules.spec import NightLeakRule

NS = 1_000_000_000


class NightState:
    __slots__ = (
        "active",
        "dirty",
        "first_start",
        "history",
        "night_end",
        "night_min",
        "night_start",
        "sensor",
        "since",
        "streak_crit",
        "streak_warn",
        "win_end",
        "win_start",
    )

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self.win_start = 0  # the current or next window, cached to skip time-zone work
        self.win_end = 0
        self.night_start: int | None = None  # the night being measured
        self.night_end = 0
        self.night_min = 0.0
        self.history: list[float] = []
        self.streak_warn = 0
        self.streak_crit = 0
        self.first_start: int | None = None
        self.active = 0
        self.since: int | None = None
        self.dirty = False

    def to_dict(self) -> dict[str, Any] | None:
        return {
            "night_start": self.night_start,
            "night_end": self.night_end,
            "night_min": self.night_min,
            "history": list(self.history),
            "streak_warn": self.streak_warn,
            "streak_crit": self.streak_crit,
            "first_start": self.first_start,
            "active": self.active,
            "since": self.since,
        }

    def idle(self) -> bool:
        return False  # the window cache and the nights' history are in memory only

    def load(self, d: dict[str, Any]) -> None:
        self.night_start = d.get("night_start")
        self.night_end = int(d.get("night_end", 0))
        self.night_min = float(d.get("night_min", 0.0))
        self.history = [float(x) for x in d.get("history", [])]
        self.streak_warn = int(d.get("streak_warn", 0))
        self.streak_crit = int(d.get("streak_crit", 0))
        self.first_start = d.get("first_start")
        self.active = int(d.get("active", 0))
        self.since = d.get("since")


class NightLeakCheck:
    __slots__ = ("end", "metric", "rule", "rule_id", "start", "tz")

    def __init__(self, rule_id: str, rule: NightLeakRule, tz: ZoneInfo) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.metric = rule.metric
        self.tz = tz
        self.start = time.fromisoformat(rule.night_start)
        self.end = time.fromisoformat(rule.night_end)

    def wakes(self, v: float) -> bool:
        return True  # every reading may open, extend or close a night

    def new_state(self, sensor: str, interval_s: int = 0) -> NightState:
        return NightState(sensor)

    def window(self, ts: int) -> tuple[int, int]:
        """The night window containing `ts`, or the next one after it."""
        day = datetime.fromtimestamp(ts / NS, self.tz).date()
        for d in (day, day + timedelta(days=1)):
            start = int(datetime.combine(d, self.start, self.tz).timestamp()) * NS
            end = int(datetime.combine(d, self.end, self.tz).timestamp()) * NS
            if ts < end:
                return start, end
        raise AssertionError("unreachable: tomorrow's window ends after ts")

    def step(self, st: NightState, v: float, ts: int, quiet: bool) -> Breach | None:
        out = None
        if st.night_start is not None and ts >= st.night_end:
            out = self._judge(st, ts, quiet)
        if ts >= st.win_end:
            st.win_start, st.win_end = self.window(ts)
        if ts < st.win_start:
            return out
        if st.night_start != st.win_start:
            st.night_start, st.night_end, st.night_min = st.win_start, st.win_end, v
            st.dirty = True
        elif v < st.night_min:
            st.night_min = v
            st.dirty = True
        return out

    def _judge(self, st: NightState, ts: int, quiet: bool) -> Breach | None:
        r = self.rule
        night_min, night_start = st.night_min, st.night_start
        st.night_start = None
        st.dirty = True
        baseline = st.history[-r.baseline_nights :]
        if len(baseline) < r.min_nights:
            st.history.append(night_min)
            del st.history[: -r.baseline_nights]
            return None
        median = max(statistics.median(baseline), r.min_flow)
        ratio = night_min / median
        over_warn, over_crit = ratio > r.warning_ratio, ratio > r.critical_ratio
        if not over_warn:
            st.history.append(night_min)
            del st.history[: -r.baseline_nights]
        st.streak_warn = st.streak_warn + 1 if over_warn else 0
        st.streak_crit = st.streak_crit + 1 if over_crit else 0
        if st.streak_warn == 1:
            st.first_start = night_start
        target = 2 if st.streak_crit >= r.nights else 1 if st.streak_warn >= r.nights else 0
        level = max(target, st.active)
        limit = median * (r.critical_ratio if level == 2 else r.warning_ratio)
        if not st.active:
            if not target or quiet:
                return None
            st.active, st.since = target, st.first_start
            return self._breach(st, Change.RAISED, ts, night_min, limit, target)
        if not over_warn:
            was, st.active = st.active, 0
            return self._breach(st, Change.CLEARED, ts, night_min, limit, was)
        if target > st.active and not quiet:
            st.active = target
            return self._breach(st, Change.ESCALATED, ts, night_min, limit, target)
        return self._breach(st, Change.HOLDING, ts, night_min, limit, st.active)

    def _breach(
        self, st: NightState, change: Change, ts: int, value: float, limit: float, level: int
    ) -> Breach:
        r = self.rule
        ratio = r.critical_ratio if level == 2 else r.warning_ratio
        return Breach(
            sensor=st.sensor,
            rule=self.rule_id,
            change=change,
            severity=Severity.CRITICAL if level == 2 else Severity.WARNING,
            since_ns=st.since if st.since is not None else ts,
            at_ns=ts,
            metric=self.metric,
            value=value,
            threshold=round(limit, 6),
            comparison="above",
            limit_zh=f"{ratio:g} 倍{r.limit_zh}",
            limit_en=f"{ratio:g} × the {r.limit_en}",
            source=r.source,
            provenance=r.provenance,
        )
