"""Offline sensors and silent communities, judged on the hub clock by `tick(now)`.

A sensor is offline after `intervals` × its interval_s without a reading. After the hub starts,
each sensor gets its full window (and at least `grace`) before it can be offline. When most of
a community's sensors fall silent within a short window (a backhaul or broker outage), one
`community.silent` incident is raised for them instead of one offline ticket each; a lone
sensor's offline ticket waits `settle` so that a community-wide outage is recognised first.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any

from domain.breach import Breach, Change, Severity
from services.rules.spec import CommunitySilentRule, OfflineRule

NS = 1_000_000_000
OFFLINE = "sensor.offline"
HUB_ROW = ("", "hub.started")
"""The state row where a hub records when its engine started and its offline window (for the
API's "waiting"); the engine never loads it back."""


def waiting(now_ns: int, started_ns: int, seen_ns: int | None, window_ns: int) -> bool:
    """A sensor the offline rule has no verdict on yet: not heard since the hub started (so
    inside the start grace, or never reported), or silent past its window while the offline
    ticket waits for its settle. An offline ticket, once open, says offline instead."""
    if seen_ns is None or seen_ns < started_ns:
        return True
    return now_ns - seen_ns >= window_ns


@functools.cache
def _window_ns(interval_s: int, intervals: float) -> int:
    """Shared: the few distinct windows of a site would otherwise be one int per sensor."""
    return int(interval_s * intervals * NS)


window_ns = _window_ns
"""A sensor's offline window in ns (for the engine, when the registry changes its interval)."""


class Presence:
    """The sensor-level record: last evaluated event time and offline state (persisted under
    (sensor, "sensor.offline")). `last_seen` is hub time and deliberately not persisted: after
    a restart every sensor starts from the hub's start time."""

    __slots__ = (
        "active",
        "community",
        "dirty",
        "intervals",
        "last_seen",
        "last_ts",
        "rule",
        "rule_id",
        "sensor",
        "since",
        "window_ns",
    )

    def __init__(
        self, sensor: str, community: str, interval_s: int, rule_id: str, rule: OfflineRule | None
    ) -> None:
        self.sensor = sensor
        self.community = community
        self.rule_id = rule_id
        self.rule = rule
        self.intervals = rule.intervals if rule else 3.0
        self.window_ns = _window_ns(interval_s, self.intervals)
        self.last_ts = -1
        self.last_seen = 0
        self.active = False
        self.since: int | None = None
        self.dirty = False

    def to_dict(self) -> dict[str, Any]:
        # `seen` (hub time) is for the API's "waiting"; load() leaves it out on purpose
        out = {"last_ts": self.last_ts, "active": self.active, "since": self.since}
        if self.last_seen:
            out["seen"] = self.last_seen
        return out

    def load(self, d: dict[str, Any]) -> None:
        self.last_ts = int(d.get("last_ts", -1))
        self.active = bool(d.get("active", False))
        self.since = d.get("since")

    def heard(self, seen_ns: int) -> Breach | None:
        """A reading arrived at hub time `seen_ns`: the sensor is alive."""
        if seen_ns > self.last_seen:
            self.last_seen = seen_ns
        if not self.active:
            return None
        self.active = False
        self.dirty = True
        return self.breach(Change.CLEARED, seen_ns)

    def breach(self, change: Change, now: int) -> Breach:
        since = self.since if self.since is not None else now
        return Breach(
            sensor=self.sensor,
            rule=self.rule_id,
            change=change,
            severity=Severity.WARNING,
            since_ns=since,
            at_ns=now,
            value=max(0, now - since) / NS,
            threshold=self.window_ns / NS,
            comparison="offline",
            limit_zh=f"超过 {self.intervals:g} 个上报周期无数据",
            limit_en=f"no reading for {self.intervals:g} reporting intervals",
            source=self.rule.source if self.rule else "",
            provenance=self.rule.provenance if self.rule else "",
        )


class CommunityState:
    __slots__ = ("active", "covered", "dirty", "id", "since")

    def __init__(self, community: str) -> None:
        self.id = community
        self.active = False
        self.since: int | None = None
        self.covered: set[str] = set()
        self.dirty = False

    def to_dict(self) -> dict[str, Any] | None:
        if not self.active:
            return None
        return {"since": self.since, "covered": sorted(self.covered)}

    def load(self, d: dict[str, Any]) -> None:
        self.active = True
        self.since = d.get("since")
        self.covered = set(d.get("covered", ()))


class SilenceWatch:
    """Runs the offline and community-silence rules over every known sensor."""

    def __init__(
        self,
        started_ns: int,
        offline: tuple[str, OfflineRule] | None,
        community: tuple[str, CommunitySilentRule] | None,
    ) -> None:
        self.started_ns = started_ns
        self.grace_ns = int(offline[1].grace * NS) if offline else 0
        self.community_rule = community
        self.communities: dict[str, CommunityState] = {}

    def community(self, cid: str) -> CommunityState:
        cs = self.communities.get(cid)
        if cs is None:
            cs = self.communities[cid] = CommunityState(cid)
        return cs

    def tick(
        self,
        now: int,
        presences: Iterable[Presence],
        quiet: Callable[[str, int], bool],
    ) -> list[Breach]:
        out: list[Breach] = []
        if now - self.started_ns < self.grace_ns:
            return out
        members: dict[str, list[Presence]] = {}
        silent: dict[str, list[Presence]] = {}
        for p in presences:
            if p.rule is None:
                continue
            members.setdefault(p.community, []).append(p)
            if p.active or now - max(p.last_seen, self.started_ns) < p.window_ns:
                continue
            silent.setdefault(p.community, []).append(p)
        for cid, group in members.items():
            out.extend(self._community(now, cid, group, silent.get(cid, []), quiet))
        return out

    def _community(
        self,
        now: int,
        cid: str,
        group: list[Presence],
        silent: list[Presence],
        quiet: Callable[[str, int], bool],
    ) -> list[Breach]:
        out: list[Breach] = []
        rule = self.community_rule
        need = max(rule[1].min_sensors, math.ceil(rule[1].ratio * len(group))) if rule else 0
        cs = self.communities.get(cid)
        if cs is not None and cs.active:
            still = {p.sensor for p in silent}
            if cs.covered - still:
                cs.covered &= still
                cs.dirty = True
            if len(cs.covered) >= need:
                if still - cs.covered:  # sensors going silent during the incident join it
                    cs.covered |= still
                    cs.dirty = True
                return out
            assert rule is not None  # noqa: S101  (only a rule activates a community)
            cs.active = False
            cs.covered = set()
            cs.dirty = True
            out.append(self._breach(rule, cs, Change.CLEARED, now, len(still), need))
        base = self.started_ns
        onset = {p.sensor: max(p.last_seen, base) + p.window_ns for p in silent}
        if rule is not None and len(group) >= need:
            recent = [p for p in silent if now - onset[p.sensor] <= rule[1].window * NS]
            if len(recent) >= need and not quiet(cid, now):
                cs = self.community(cid)
                cs.active = True
                cs.since = min(max(p.last_seen, base) for p in recent)
                cs.covered = {p.sensor for p in recent}
                cs.dirty = True
                out.append(self._breach(rule, cs, Change.RAISED, now, len(recent), need))
                silent = [p for p in silent if p.sensor not in cs.covered]
            settle_ns = int(rule[1].settle * NS)
            silent = [p for p in silent if now - onset[p.sensor] >= settle_ns]
        for p in silent:
            if quiet(p.sensor, now):
                continue
            p.active = True
            p.since = max(p.last_seen, base)
            p.dirty = True
            out.append(p.breach(Change.RAISED, now))
        return out

    @staticmethod
    def _breach(
        rule: tuple[str, CommunitySilentRule],
        cs: CommunityState,
        change: Change,
        now: int,
        count: int,
        need: int,
    ) -> Breach:
        rid, r = rule
        return Breach(
            sensor=cs.id,
            rule=rid,
            change=change,
            severity=r.severity,
            since_ns=cs.since if cs.since is not None else now,
            at_ns=now,
            value=float(count),
            threshold=float(need),
            comparison="silent",
            limit_zh=f"社区内至少 {need} 个传感器同时失联",
            limit_en=f"at least {need} sensors of the community silent at once",
            source=r.source,
            provenance=r.provenance,
        )
