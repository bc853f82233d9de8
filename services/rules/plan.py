"""A rule book compiled for the hot path: a `Plan` per set of effective rules (each stateful
rule a slot), and a sensor's `SensorState` (its presence and one state per slot). Shared by
every sensor using the same rules, so 100,000 sensors hold slots, not copies of the rules; the
engine (services/rules/engine.py) runs readings through them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from domain.breach import Breach
from domain.catalog import Kind, metric
from services.rules.drop import DropCheck
from services.rules.implausible import ImplausibleCheck
from services.rules.nightleak import NightLeakCheck
from services.rules.precedence import Precedence
from services.rules.silence import OFFLINE, Presence
from services.rules.spec import (
    DropRule,
    GradeRule,
    ImplausibleRule,
    NightLeakRule,
    OfflineRule,
    Rule,
    StuckRule,
    ThresholdRule,
)
from services.rules.stuck import StuckCheck
from services.rules.threshold import GradeCheck, ThresholdCheck


class _Check(Protocol):
    rule_id: str

    def new_state(self, sensor: str, interval_s: int) -> Any: ...


class _MetricCheck(_Check, Protocol):
    def wakes(self, v: float) -> bool: ...
    def step(self, st: Any, v: float, ts: int, quiet: bool) -> Breach | None: ...


class Plan:
    """One set of effective rules compiled for the hot path, shared by every sensor using it.

    Each rule with per-sensor state owns a slot: a sensor's `states[slot]` is that rule's state,
    or None while the rule is idle for the sensor (every limit rule of a healthy sensor). The
    structure lives here once instead of in each of 100,000 sensors.
    """

    __slots__ = (
        "grades",
        "implausible",
        "makers",
        "metrics",
        "offline",
        "precedence",
        "rule_ids",
        "slot_of",
    )

    def __init__(self, rules: Mapping[str, Rule], kind: Kind, tz: Any) -> None:
        metrics: dict[str, list[_MetricCheck]] = {}
        grades: list[GradeCheck] = []
        implausible: ImplausibleCheck | None = None
        self.offline: tuple[str, OfflineRule] | None = None
        for rid, r in rules.items():
            if isinstance(r, ThresholdRule):
                metrics.setdefault(r.metric, []).append(ThresholdCheck(rid, r))
            elif isinstance(r, DropRule):
                metrics.setdefault(r.metric, []).append(DropCheck(rid, r))
            elif isinstance(r, NightLeakRule):
                metrics.setdefault(r.metric, []).append(NightLeakCheck(rid, r, tz))
            elif isinstance(r, GradeRule):
                grades.append(GradeCheck(rid, r))
            elif isinstance(r, StuckRule):
                watched = tuple(dict.fromkeys(r.metrics.get(kind, [])))
                for name in r.metrics.get(kind, []):
                    m = metric(kind, name)
                    res = m.resolution if m is not None else 0.01
                    check = StuckCheck(rid, r, name, res, watched, kind)
                    metrics.setdefault(name, []).append(check)
            elif isinstance(r, ImplausibleRule):
                implausible = ImplausibleCheck(rid, r)
            elif isinstance(r, OfflineRule):
                self.offline = (rid, r)
        # Slots in the order the engine used to meet the rules, so `active()` and `changes()`
        # list them as before.
        self.slot_of: dict[str, int] = {}
        makers: list[_Check] = []

        def slot(check: _Check) -> int:
            i = self.slot_of.get(check.rule_id)
            if i is None:
                i = self.slot_of[check.rule_id] = len(makers)
                makers.append(check)
            return i

        self.metrics: dict[str, tuple[tuple[_MetricCheck, int], ...]] = {
            name: tuple((c, slot(c)) for c in checks) for name, checks in metrics.items()
        }
        self.grades = tuple((g, slot(g)) for g in grades)
        self.implausible = (implausible, slot(implausible)) if implausible else None
        self.makers: tuple[_Check, ...] = tuple(makers)
        self.rule_ids = tuple(c.rule_id for c in makers)
        self.precedence = Precedence(rules, self.slot_of)


class SensorState(Presence):
    """Everything the engine keeps for one sensor: its presence, its plan and one state slot
    per stateful rule of the plan (None while the rule is idle for it)."""

    __slots__ = ("interval_s", "plan", "states")

    def __init__(self, sensor: str, community: str, interval_s: int, plan: Plan) -> None:
        rid, rule = plan.offline if plan.offline else (OFFLINE, None)
        super().__init__(sensor, community, interval_s, rid, rule)
        self.interval_s = interval_s
        self.plan = plan
        self.states: list[Any] = [None] * len(plan.makers)

    def state(self, slot: int) -> Any:
        """The state in `slot`, created on first need."""
        st = self.states[slot]
        if st is None:
            st = self.states[slot] = self.plan.makers[slot].new_state(self.sensor, self.interval_s)
        return st
