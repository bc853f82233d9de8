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
    """The runs of every watched metric of one sensor, flat: `runs[3*i : 3*i + 3]` is
    [reference value, since ns, count] of `metrics[i]` (None until its first reading); a
    dict of lists per sensor cost about three times as much."""

    __slots__ = ("dirty", "metrics", "runs", "sensor", "since", "stuck")

    def __init__(self, sensor: str, metrics: tuple[str, ...]) -> None:
        self.sensor = sensor
        self.metrics = metrics  # the plan's, shared by every sensor of the plan
        self.runs: list[Any] = [None] * (3 * len(metrics))
        self.stuck: tuple[str, ...] = ()  # rarely non-empty: a tuple is a fifth of a set
        self.since: int | None = None
        self.dirty = False

    @property
    def active(self) -> bool:
        return bool(self.stuck)

    def idle(self) -> bool:
        return False  # the runs are the rule's memory of the recent readings

    def to_dict(self) -> dict[str, Any] | None:
        runs = self.runs
        out = {
            m: [runs[3 * i], int(runs[3 * i + 1]), int(runs[3 * i + 2])]
            for i, m in enumerate(self.metrics)
            if runs[3 * i] is not None
        }
        if not out:
            return None
        return {"runs": out, "stuck": sorted(self.stuck), "since": self.since}

    def load(self, d: dict[str, Any]) -> None:
        runs: list[Any] = [None] * (3 * len(self.metrics))
        for m, r in d.get("runs", {}).items():
            run = [float(r[0]), int(r[1]), int(r[2])]
            if m in self.metrics:  # a metric no longer watched has no run to continue
                i = 3 * self.metrics.index(m)
                runs[i : i + 3] = run
        self.runs = runs
        self.stuck = tuple(sorted(set(d.get("stuck", ()))))
        self.since = d.get("since")


class StuckCheck:
    """The stuck rule applied to one metric; all metrics of a sensor share one StuckState,
    whose `metrics` are the plan's `watched` (this check's run is at `at`)."""

    __slots__ = ("at", "for_ns", "half_step", "metric", "rule", "rule_id", "samples", "watched")

    def __init__(
        self,
        rule_id: str,
        rule: StuckRule,
        metric: str,
        resolution: float,
        watched: tuple[str, ...],
    ) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.metric = metric
        self.watched = watched
        self.at = 3 * self.watched.index(metric)
        self.half_step = resolution / 2
        self.for_ns = int(rule.for_ * NS)
        self.samples = rule.samples.get(metric, 0)

    def wakes(self, v: float) -> bool:
        return True  # every reading starts or extends a run

    def new_state(self, sensor: str) -> StuckState:
        return StuckState(sensor, self.watched)

    def step(self, st: StuckState, v: float, ts: int, quiet: bool) -> Breach | None:
        st.dirty = True
        metric = self.metric
        runs = st.runs
        i = self.at
        ref = runs[i]
        if ref is None or abs(v - ref) > self.half_step:
            runs[i], runs[i + 1], runs[i + 2] = v, ts, 1
            if metric not in st.stuck:
                return None
            st.stuck = tuple(m for m in st.stuck if m != metric)
            if st.stuck:
                return None
            return self._breach(st, Change.CLEARED, ts, v)
        count = runs[i + 2] = runs[i + 2] + 1
        if metric in st.stuck:
            return self._breach(st, Change.HOLDING, ts, v)
        since = int(runs[i + 1])
        held = ts - since >= self.for_ns or (self.samples and count >= self.samples)
        if not held or quiet:
            return None
        first = not st.stuck
        st.stuck = (*st.stuck, metric)
        if not first:
            return self._breach(st, Change.HOLDING, ts, v)
        st.since = since
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
