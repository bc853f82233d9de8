"""The rule engine: Measurements in, Breaches out, on event time, with no I/O.

Per sensor, readings are evaluated in timestamp order; a reading at or before the last one
evaluated for its sensor changes no condition (it only proves the sensor is alive), so a
cached batch, a redelivery or a replay yields the same breaches as the live stream did.
Offline and community silence are judged on the hub clock by `tick(now_ns)`.

State survives restarts: build the engine from `RuleStateStore.load()` and hand
`changes()` to `RuleStateStore.save()` after each batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.breach import Breach
from domain.catalog import Kind
from domain.measurement import Measurement
from domain.site import Registry
from services.rules.book import RuleBook
from services.rules.plan import Plan, SensorState
from services.rules.silence import HUB_ROW, OFFLINE, SilenceWatch, window_ns
from services.rules.spec import (
    OfflineRule,
)
from services.rules.state import StateKey

DEFAULT_INTERVAL_S = 300  # for a sensor the registry does not know


class RuleEngine:
    """Evaluates every rule of a site. Not thread-safe: one evaluator task owns it."""

    def __init__(
        self,
        book: RuleBook,
        registry: Registry,
        *,
        started_ns: int,
        state: Mapping[StateKey, dict[str, Any]] | None = None,
        maintenance: Iterable[tuple[str, int, int]] = (),
    ) -> None:
        self._book = book
        self._tz = registry.site.tz
        self._plans: dict[int, Plan] = {}
        self._sensors: dict[str, SensorState] = {}
        self._dirty: set[SensorState] = set()
        self._orphans: set[StateKey] = set()
        site_offline = self._site_offline = next(
            ((rid, r) for rid, r in book.site.items() if isinstance(r, OfflineRule) and r.enabled),
            None,
        )
        self._community_rule = book.community_rule()
        self._silence = SilenceWatch(started_ns, site_offline, self._community_rule)
        self._windows: dict[str, list[tuple[int, int]]] = {}
        self.set_maintenance(maintenance)
        self.evaluated = 0
        self.ignored_old = 0
        self.state_errors = 0
        for p in registry.placements.values():
            self._add(p.sensor.id, p.sensor.kind, p.community.id, p.sensor.interval_s)
        if state:
            self._load(state)

    # ------------------------------------------------------------------ building
    def _add(self, sensor: str, kind: Kind, community: str, interval_s: int) -> SensorState:
        rules = self._book.for_sensor(sensor, kind)
        plan = self._plans.get(id(rules))
        if plan is None:
            plan = self._plans[id(rules)] = Plan(rules, kind, self._tz)
        s = self._sensors[sensor] = SensorState(sensor, community, interval_s, plan)
        return s

    def follow(self, registry: Registry) -> None:
        """Take a newer registry version: new sensors join, a retired one's state is dropped
        (its rows deleted at the next save), a moved one keeps its state — pending durations
        and active conditions — under its new community and interval. A sensor whose kind
        changed keeps the state of the rules its new plan still has."""
        live = registry.placements
        for sid in [sid for sid in self._sensors if sid not in live]:
            gone = self._sensors.pop(sid)
            self._dirty.discard(gone)
            self._orphans.add((sid, OFFLINE))
            self._orphans.update((sid, rid) for rid in gone.plan.rule_ids)
        for sid, p in live.items():
            st = self._sensors.get(sid)
            sensor = p.sensor
            if st is None:
                self._add(sid, sensor.kind, p.community.id, sensor.interval_s)
                continue
            rules = self._book.for_sensor(sid, sensor.kind)
            if self._plans.get(id(rules)) is not st.plan:
                fresh = self._add(sid, sensor.kind, p.community.id, sensor.interval_s)
                for i, rid in enumerate(st.plan.rule_ids):
                    slot = fresh.plan.slot_of.get(rid)
                    if slot is not None:
                        fresh.states[slot] = st.states[i]
                    elif st.states[i] is not None:
                        self._orphans.add((sid, rid))
                fresh.last_ts, fresh.last_seen, fresh.active = st.last_ts, st.last_seen, st.active
                fresh.since = st.since
                st = fresh
            if st.community != p.community.id or st.interval_s != sensor.interval_s:
                st.community = p.community.id
                st.interval_s = sensor.interval_s
                st.window_ns = window_ns(sensor.interval_s, st.intervals)

    def _load(self, state: Mapping[StateKey, dict[str, Any]]) -> None:
        community_id = self._community_rule[0] if self._community_rule else None
        for key, d in state.items():
            sensor, rid = key
            if key == HUB_ROW:
                continue  # written for the API by the hub process, not engine state
            try:
                if rid == community_id:
                    self._silence.community(sensor).load(d)
                    continue
                s = self._sensors.get(sensor)
                slot = None if s is None else s.plan.slot_of.get(rid)
                if s is not None and rid == OFFLINE:
                    s.load(d)
                elif s is not None and slot is not None:
                    s.state(slot).load(d)
                else:
                    self._orphans.add(key)  # a rule or sensor that is gone: delete its row
            except (KeyError, TypeError, ValueError, IndexError):
                self.state_errors += 1
                self._orphans.add(key)

    # ------------------------------------------------------------------ maintenance
    def set_maintenance(self, windows: Iterable[tuple[str, int, int]]) -> None:
        """Replace the maintenance windows: (sensor or community id, start_ns, end_ns). Inside
        one, nothing new is raised or escalated for it; pending conditions keep their start,
        so a problem that outlasts the window opens its ticket right after it."""
        out: dict[str, list[tuple[int, int]]] = {}
        for key, start, end in windows:
            out.setdefault(key, []).append((start, end))
        self._windows = out

    def _quiet(self, key: str, ts: int) -> bool:
        spans = self._windows.get(key)
        return spans is not None and any(start <= ts < end for start, end in spans)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, m: Measurement, received_ns: int | None = None) -> list[Breach]:
        """Judge one reading. `received_ns` is the hub time it arrived (for offline); without
        it the reading's own time is used."""
        s = self._sensors.get(m.sensor)
        if s is None:
            s = self._add(m.sensor, m.kind, m.community, DEFAULT_INTERVAL_S)
        out: list[Breach] = []
        b = s.heard(m.ts_ns if received_ns is None else received_ns)
        if b is not None:
            out.append(b)
            self._dirty.add(s)
        ts = m.ts_ns
        if ts <= s.last_ts:
            self.ignored_old += 1
            return out
        self.evaluated += 1
        s.last_ts = ts
        self._dirty.add(s)
        quiet = bool(self._windows) and self._quiet(m.sensor, ts)
        plan = s.plan
        states = s.states
        by_metric = plan.metrics
        fields = m.fields
        for name, v in fields.items():
            checks = by_metric.get(name)
            if checks is not None:
                for check, i in checks:
                    st = states[i]
                    if st is None:
                        if not check.wakes(v):
                            continue  # idle and staying idle: the common case
                        st = states[i] = check.new_state(m.sensor, s.interval_s)
                    b = check.step(st, v, ts, quiet)
                    if b is not None:
                        out.append(b)
        for grade, i in plan.grades:
            st = states[i]
            if st is None:
                if not grade.wakes(fields):
                    continue
                st = states[i] = grade.new_state(m.sensor, s.interval_s)
            b = grade.step(st, fields, ts, quiet)
            if b is not None:
                out.append(b)
        imp = plan.implausible
        if imp is not None:
            ist = states[imp[1]]
            if ist is not None and ist.streaks:
                b = imp[0].good(ist, fields, ts)
                if b is not None:
                    out.append(b)
        return out

    def judge(self, m: Measurement, received_ns: int | None = None) -> list[Breach]:
        """`evaluate`, then precedence between rules (`inhibits:`, services/rules/precedence):
        what the ticket service is given. `evaluate` alone reports every rule's own condition,
        as if no rule inhibited another."""
        return self.inhibit(m.sensor, self.evaluate(m, received_ns))

    def inhibit(self, sensor: str, breaches: list[Breach]) -> list[Breach]:
        """Apply precedence to the breaches `evaluate` just gave for one reading of `sensor`
        (the rules' states must be those right after that reading)."""
        s = self._sensors.get(sensor)
        if s is None or not breaches or not s.plan.precedence:
            return breaches
        return s.plan.precedence.apply(breaches, s.states)

    def note_implausible(self, sensor: str, at_ns: int, metric: str | None = None) -> list[Breach]:
        """The gateway rejected an implausible value (`metric`) or reading (None) at `at_ns`."""
        s = self._sensors.get(sensor)
        if s is None or s.plan.implausible is None:
            return []
        self._dirty.add(s)
        check, i = s.plan.implausible
        b = check.note(s.state(i), metric, at_ns, self._quiet(sensor, at_ns))
        return [] if b is None else [b]

    def tick(self, now_ns: int) -> list[Breach]:
        """Judge silence on the hub clock: offline sensors and silent communities."""
        out = self._silence.tick(now_ns, self._sensors.values(), self._quiet)
        for b in out:
            s = self._sensors.get(b.sensor)
            if s is not None:
                self._dirty.add(s)
        return out

    # ------------------------------------------------------------------ persistence
    def started_record(self) -> dict[str, Any]:
        """What the hub process saves under HUB_ROW at start: when this engine started and
        the offline window in intervals, so the API can tell "waiting" from ok."""
        intervals = self._site_offline[1].intervals if self._site_offline else 3.0
        return {"started": self._silence.started_ns, "intervals": intervals}

    def changes(self) -> dict[StateKey, dict[str, Any] | None]:
        """The state entries changed since the last call (None: delete the entry)."""
        out: dict[StateKey, dict[str, Any] | None] = dict.fromkeys(self._orphans)
        self._orphans.clear()
        for s in self._dirty:
            sensor = s.sensor
            out[(sensor, OFFLINE)] = s.to_dict()
            s.dirty = False
            states = s.states
            for i, st in enumerate(states):
                if st is not None and st.dirty:
                    out[(sensor, s.plan.rule_ids[i])] = st.to_dict()
                    st.dirty = False
                    if st.idle():
                        states[i] = None  # back to rest: free it until the rule wakes again
        self._dirty.clear()
        if self._community_rule is not None:
            rid = self._community_rule[0]
            for cs in self._silence.communities.values():
                if cs.dirty:
                    out[(cs.id, rid)] = cs.to_dict()
                    cs.dirty = False
        return out

    def active(self) -> list[tuple[str, str]]:
        """The (sensor, rule) conditions currently raised (for checks and the API)."""
        out: list[tuple[str, str]] = []
        for sid, s in self._sensors.items():
            if s.active:
                out.append((sid, s.rule_id))
            rule_ids = s.plan.rule_ids
            out.extend(
                (sid, rule_ids[i]) for i, st in enumerate(s.states) if st is not None and st.active
            )
        if self._community_rule is not None:
            rid = self._community_rule[0]
            out.extend((c.id, rid) for c in self._silence.communities.values() if c.active)
        return out
