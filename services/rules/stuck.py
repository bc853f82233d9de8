"""Flatline detection: a metric unchanged within its resolution for a duration or N samples.

One (sensor, sensor.stuck) condition per sensor: it is raised when the first watched metric
flatlines and cleared when none is stuck any more.
"""

from __future__ import annotations

from typing import Any

from domain.breach import Breach, Change, Severity
from services.rules.spec import StuckRule

NS = 1_000_000_000


class StuckState:
    __slots__ = ("dirty", "runs", "sensor", "since", "stuck")

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self.runs: dict[str, list[float]] = {}  # metric -> [reference value, since ns, count]
        self.stuck: set[str] = set()
        self.since: int | None = None
        self.dirty = False

    @property
    def active(self) -> bool:
        return bool(self.stuck)

    def to_dict(self) -> dict[str, Any] | None:
        if not self.runs:
            return None
        return {
            "runs": {m: [r[0], int(r[1]), int(r[2])] for m, r in self.runs.items()},
            "stuck": sorted(self.stuck),
            "since": self.since,
        }

    def load(self, d: dict[str, Any]) -> None:
        self.runs = {m: [float(r[0]), int(r[1]), int(r[2])] for m, r in d.get("runs", {}).items()}
        self.stuck = set(d.get("stuck", ()))
        self.since = d.get("since")


class StuckCheck:
    """The stuck rule applied to one metric; all metrics of a sensor share one StuckState."""

    __slots__ = ("for_ns", "half_step", "metric", "rule", "rule_id", "samples")

    def __init__(self, rule_id: str, rule: StuckRule, metric: str, resolution: float) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.metric = metric
        self.half_step = resolution / 2
        self.for_ns = int(rule.for_ * NS)
        self.samples = rule.samples.get(metric, 0)

    def new_state(self, sensor: str) -> StuckState:
        return StuckState(sensor)

    def step(self, st: StuckState, v: float, ts: int, quiet: bool) -> Breach | None:
        st.dirty = True
        metric = self.metric
        run = st.runs.get(metric)
        if run is None or abs(v - run[0]) > self.half_step:
            st.runs[metric] = [v, ts, 1]
            if metric not in st.stuck:
                return None
            st.stuck.discard(metric)
            if st.stuck:
                return None
            return self._breach(st, Change.CLEARED, ts, v)
        run[2] += 1
        if metric in st.stuck:
            return self._breach(st, Change.HOLDING, ts, v)
        held = ts - int(run[1]) >= self.for_ns or (self.samples and run[2] >= self.samples)
        if not held or quiet:
            return None
        first = not st.stuck
        st.stuck.add(metric)
        if not first:
            return self._breach(st, Change.HOLDING, ts, v)
        st.since = int(run[1])
        return self._breach(st, Change.RAISED, ts, v)

    def _breach(self, st: StuckState, change: Change, ts: int, v: float) -> Breach:
        r = self.rule
        return Breach(
            sensor=st.sensor,
            rule=self.rule_id,
            change=change,
            severity=Severity.WARNING,
            since_ns=st.since if st.since is not None else ts,
            at_ns=ts,
            metric=self.metric,
            value=v,
            threshold=self.half_step * 2,
            comparison="stuck",
            limit_zh="数值停滞",
            limit_en="value not changing",
            source=r.source,
            provenance=r.provenance,
        )
