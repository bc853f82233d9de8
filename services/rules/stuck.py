"""Flatline detection: a metric unchanged within its resolution for a duration or N samples.

One (sensor, sensor.stuck) condition per sensor: it is raised when the first watched metric
flatlines and cleared when none is stuck any more.

A run stays flat while its highest and lowest value differ by less than the metric's
tolerance (the catalog's resolution unless the rule names one: a coarser meter needs its own).
A run is consecutive observations (the QARTOD flat-line test counts observations in a window,
not the clock): a hole longer than `gap_intervals` × the sensor's pace ends every run, so a
meter that sent 220.0 V, went quiet for hours and came back at 220.0 V starts new runs
instead of being called stuck beside its offline ticket. The pace is the longer of the
registry's interval_s and the spacing of the sensor's two previous readings (so a sensor that
really reports more slowly than declared is not cut into pieces); until two readings have
been seen there is no pace and no hole. A flatline already raised clears only on a changed
value: a gap in it proves nothing either way.
"""

from __future__ import annotations

import functools
from typing import Any

from domain.breach import Breach, Change, Severity
from domain.catalog import Kind
from services.rules.spec import StuckRule

NS = 1_000_000_000
W = 4  # slots per metric in StuckState.runs


@functools.cache
def _interval_ns(interval_s: int) -> int:
    """Shared: a site has a few distinct intervals, not one int per sensor."""
    return interval_s * NS


class StuckState:
    """The runs of every watched metric of one sensor, flat: `runs[4*i : 4*i + 4]` is
    [lowest value, since ns, count, highest value] of `metrics[i]` (None until its first
    reading); a dict of lists per sensor cost about three times as much. `seen` is the event
    time of the sensor's last reading, `pace` the spacing before it, `broke` whether the hole
    before the current reading ended the runs (judged once per reading, shared by its
    metrics)."""

    __slots__ = (
        "broke",
        "dirty",
        "interval_ns",
        "metrics",
        "pace",
        "runs",
        "seen",
        "sensor",
        "since",
        "stuck",
    )

    def __init__(self, sensor: str, metrics: tuple[str, ...], interval_ns: int) -> None:
        self.sensor = sensor
        self.metrics = metrics  # the plan's, shared by every sensor of the plan
        self.interval_ns = interval_ns
        self.runs: list[Any] = [None] * (W * len(metrics))
        self.stuck: tuple[str, ...] = ()  # rarely non-empty: a tuple is a fifth of a set
        self.since: int | None = None
        self.seen: int | None = None
        self.pace: int | None = None
        self.broke = False
        self.dirty = False

    def hole(self, ts: int, intervals: float) -> bool:
        """Whether the hole before the reading at `ts` ends the runs; the first metric of a
        reading decides, the others of the same reading reuse it."""
        seen = self.seen
        if seen is None or ts != seen:
            pace = self.pace
            gap = None if seen is None else ts - seen
            self.broke = (
                gap is not None
                and pace is not None
                and gap > intervals * max(self.interval_ns, pace)
            )
            self.pace = gap
            self.seen = ts
        return self.broke

    @property
    def active(self) -> bool:
        return bool(self.stuck)

    def idle(self) -> bool:
        return False  # the runs are the rule's memory of the recent readings

    def to_dict(self) -> dict[str, Any] | None:
        runs = self.runs
        out = {
            m: [runs[W * i], int(runs[W * i + 1]), int(runs[W * i + 2])]
            for i, m in enumerate(self.metrics)
            if runs[W * i] is not None
        }
        if not out:
            return None
        hi = {
            m: runs[W * i + 3]
            for i, m in enumerate(self.metrics)
            if runs[W * i] is not None and runs[W * i + 3] != runs[W * i]
        }
        return {
            "runs": out,  # [low, since, count]: the shape rows had before the band
            "hi": hi,
            "stuck": sorted(self.stuck),
            "since": self.since,
            "seen": self.seen,
            "pace": self.pace,
        }

    def load(self, d: dict[str, Any]) -> None:
        runs: list[Any] = [None] * (W * len(self.metrics))
        highs = d.get("hi") or {}
        for m, r in d.get("runs", {}).items():
            lo = float(r[0])
            run = [lo, int(r[1]), int(r[2]), float(highs.get(m, lo))]
            if m in self.metrics:  # a metric no longer watched has no run to continue
                i = W * self.metrics.index(m)
                runs[i : i + W] = run
        self.runs = runs
        self.stuck = tuple(sorted(set(d.get("stuck", ()))))
        self.since = d.get("since")
        seen, pace = d.get("seen"), d.get("pace")  # absent in rows saved before holes counted
        self.seen = None if seen is None else int(seen)
        self.pace = None if pace is None else int(pace)


class StuckCheck:
    """The stuck rule applied to one metric; all metrics of a sensor share one StuckState,
    whose `metrics` are the plan's `watched` (this check's run is at `at`). The window is the
    rule's `for`, or its `kind_for` for the plan's kind (sewer levels rest for hours)."""

    __slots__ = (
        "at",
        "band",
        "cut",
        "for_ns",
        "gap",
        "metric",
        "rule",
        "rule_id",
        "samples",
        "watched",
    )

    def __init__(
        self,
        rule_id: str,
        rule: StuckRule,
        metric: str,
        resolution: float,
        watched: tuple[str, ...],
        kind: Kind,
    ) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.metric = metric
        self.watched = watched
        self.at = W * self.watched.index(metric)
        self.band = rule.tolerance.get(metric, resolution)
        self.cut = self.band * (1 - 1e-9)  # 20.3 - 20.2 is 0.0999…: one step must still count
        self.for_ns = int(rule.kind_for.get(kind, rule.for_) * NS)
        self.samples = rule.samples.get(metric, 0)
        self.gap = rule.gap_intervals

    def wakes(self, v: float) -> bool:
        return True  # every reading starts or extends a run

    def new_state(self, sensor: str, interval_s: int) -> StuckState:
        return StuckState(sensor, self.watched, _interval_ns(interval_s))

    def step(self, st: StuckState, v: float, ts: int, quiet: bool) -> Breach | None:
        st.dirty = True
        metric = self.metric
        runs = st.runs
        i = self.at
        lo, hi = runs[i], runs[i + 3]
        broke = st.hole(ts, self.gap) and metric not in st.stuck
        if lo is not None and not broke:
            lo, hi = min(lo, v), max(hi, v)
        if lo is None or broke or hi - lo >= self.cut:
            runs[i], runs[i + 1], runs[i + 2], runs[i + 3] = v, ts, 1, v
            if metric not in st.stuck:
                return None
            st.stuck = tuple(m for m in st.stuck if m != metric)
            if st.stuck:
                return None
            return self._breach(st, Change.CLEARED, ts, v)
        runs[i], runs[i + 3] = lo, hi
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
            threshold=self.band,
            comparison="stuck",
            limit_zh="数值停滞",
            limit_en="value not changing",
            source=r.source,
            provenance=r.provenance,
        )
