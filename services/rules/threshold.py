"""Limit rules compiled for the hot path: one metric against warning/critical limits, and the
black-odorous grade (the worst of several indicators of one reading)."""

from __future__ import annotations

from collections.abc import Mapping

from domain.breach import Breach, Change
from services.rules.latch import SEVERITY, LatchState, Limit, advance
from services.rules.spec import GradeRule, ThresholdRule

NS = 1_000_000_000


def _breach(
    rule_id: str,
    st: LatchState,
    change: Change,
    ts: int,
    metric: str,
    value: float,
    limit: Limit,
    level: int,
) -> Breach:
    severity = SEVERITY[level]
    assert severity is not None  # noqa: S101  (level is 1 or 2)
    comparison, threshold = limit.side(value)
    spec = limit.spec
    return Breach(
        sensor=st.sensor,
        rule=rule_id,
        change=change,
        severity=severity,
        since_ns=st.since if st.since is not None else ts,
        at_ns=ts,
        metric=metric,
        value=value,
        threshold=threshold,
        comparison=comparison,
        limit_zh=spec.limit_zh,
        limit_en=spec.limit_en,
        source=spec.source,
        provenance=spec.provenance,
    )


class ThresholdCheck:
    """One threshold rule for one metric."""

    __slots__ = (
        "clear_limit",
        "clear_ns",
        "crit",
        "for_ns",
        "ignore_below",
        "metric",
        "rule_id",
        "warn",
    )

    def __init__(self, rule_id: str, rule: ThresholdRule) -> None:
        self.rule_id = rule_id
        self.metric = rule.metric
        self.for_ns = int(rule.for_ * NS)
        clear_for = rule.clear_for if rule.clear_for is not None else rule.for_
        self.clear_ns = int(clear_for * NS)
        self.ignore_below = rule.ignore_below
        self.warn = Limit(rule.warning, rule.hysteresis) if rule.warning else None
        self.crit = Limit(rule.critical, rule.hysteresis) if rule.critical else None
        lowest = self.warn or self.crit
        assert lowest is not None  # noqa: S101  (ThresholdRule requires one)
        self.clear_limit: Limit = lowest

    def new_state(self, sensor: str, interval_s: int = 0) -> LatchState:
        return LatchState(sensor)

    def wakes(self, v: float) -> bool:
        """Whether `v` would move an idle latch (a violation); the engine creates a sensor's
        latch only then, so healthy sensors hold no state for the rule."""
        if self.ignore_below is not None and v < self.ignore_below:
            return False
        crit, warn = self.crit, self.warn
        return (crit is not None and crit.violated(v)) or (warn is not None and warn.violated(v))

    def step(self, st: LatchState, v: float, ts: int, quiet: bool) -> Breach | None:
        if self.ignore_below is not None and v < self.ignore_below:
            return None  # not this rule's business: neither a violation nor a recovery
        crit, warn = self.crit, self.warn
        if crit is not None and crit.violated(v):
            sev = 2
        elif warn is not None and warn.violated(v):
            sev = 1
        else:
            if not st.active and st.pending_since is None:
                return None  # the common case: healthy and idle
            sev = 0
        was = st.active
        change = advance(st, sev, self.clear_limit.clear(v), ts, self.for_ns, self.clear_ns, quiet)
        if change is None:
            return None
        level = was if change is Change.CLEARED else st.active
        limit = crit if (level == 2 or warn is None) else warn
        if change is Change.CLEARED:
            limit = self.clear_limit
        assert limit is not None  # noqa: S101
        return _breach(self.rule_id, st, change, ts, self.metric, v, limit, level)


class GradeCheck:
    """Grade one reading by the worst of its indicators (light -> warning, heavy -> critical).

    Only the indicators present in the reading count; pond sensors report all of them at once.
    """

    __slots__ = ("clear_ns", "for_ns", "indicators", "rule_id")

    def __init__(self, rule_id: str, rule: GradeRule) -> None:
        self.rule_id = rule_id
        self.for_ns = int(rule.for_ * NS)
        clear_for = rule.clear_for if rule.clear_for is not None else rule.for_
        self.clear_ns = int(clear_for * NS)
        self.indicators = tuple(
            (metric, Limit(ind.warning, None), Limit(ind.critical, None))
            for metric, ind in rule.indicators.items()
        )

    def new_state(self, sensor: str, interval_s: int = 0) -> LatchState:
        return LatchState(sensor)

    def wakes(self, fields: Mapping[str, float]) -> bool:
        """Whether the reading would move an idle latch: any indicator present past its light
        limit."""
        for metric, warn, crit in self.indicators:
            v = fields.get(metric)
            if v is not None and (warn.violated(v) or crit.violated(v)):
                return True
        return False

    def step(
        self, st: LatchState, fields: Mapping[str, float], ts: int, quiet: bool
    ) -> Breach | None:
        worst = 0
        worst_at: tuple[str, float, Limit] | None = None
        clear = True
        seen = False
        for metric, warn, crit in self.indicators:
            v = fields.get(metric)
            if v is None:
                continue
            seen = True
            if crit.violated(v):
                sev = 2
            elif warn.violated(v):
                sev = 1
            else:
                sev = 0
                clear = clear and warn.clear(v)
            if sev:
                clear = False
                if sev > worst:
                    worst, worst_at = sev, (metric, v, crit if sev == 2 else warn)
            elif worst_at is None and not clear:
                worst_at = (metric, v, warn)
        if not seen or (not worst and not st.active and st.pending_since is None):
            return None
        was = st.active
        change = advance(st, worst, clear, ts, self.for_ns, self.clear_ns, quiet)
        if change is None:
            return None
        level = was if change is Change.CLEARED else st.active
        if worst_at is None:  # cleared: report the first indicator against its light limit
            metric, warn, _ = next(i for i in self.indicators if i[0] in fields)
            worst_at = (metric, fields[metric], warn)
        metric, value, limit = worst_at
        return _breach(self.rule_id, st, change, ts, metric, value, limit, level)
