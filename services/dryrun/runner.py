"""Replay stored readings through a fresh engine holding one rule.

Readings are read per sensor in time order, in pages, from the raw retention policy (the
rollup's hourly means would hide what a rule reacts to), turned into Measurements and fed to a
`RuleEngine` built from `single_rule_book`. Breaches become would-be tickets, one per episode
(raised ... cleared); in live operation an episode that re-triggers before a crew resolves the
ticket counts as another occurrence on the same ticket instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import ident
from domain.breach import Breach, Change
from domain.catalog import Kind
from domain.measurement import Measurement
from domain.site import Registry, Sensor
from services.dryrun.book import DryRunError, single_rule_book
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.tickets.lifecycle import Comparison

NS = 10**9
MAX_RANGE_NS = 400 * 86_400 * NS
MAX_POINTS = 2_000_000
PAGE = 10_000
NOT_FIELDS = frozenset({"time", "sensor", "grid", "community", "seq"})


@dataclass(frozen=True, slots=True)
class Scope:
    """Exactly one of sensor, kind or community."""

    sensor: str | None = None
    kind: str | None = None
    community: str | None = None

    def sensors(self, registry: Registry) -> list[Sensor]:
        given = [x for x in (self.sensor, self.kind, self.community) if x is not None]
        if len(given) != 1:
            raise DryRunError("name exactly one of sensor, kind or community")
        if self.sensor is not None:
            p = registry.get(self.sensor)
            if p is None:
                raise DryRunError(f"no sensor {self.sensor!r} in the registry")
            return [p.sensor]
        if self.kind is not None:
            try:
                kind = Kind(self.kind)
            except ValueError:
                raise DryRunError(f"no kind {self.kind!r}") from None
            return [p.sensor for p in registry.placements.values() if p.sensor.kind is kind]
        if self.community not in registry.communities:
            raise DryRunError(f"no community {self.community!r} in the registry")
        return [p.sensor for p in registry.placements.values() if p.community.id == self.community]


@dataclass(frozen=True, slots=True)
class DryRun:
    rule: str
    scope: Scope
    start_ns: int
    stop_ns: int
    patch: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DryTicket:
    sensor: str
    rule: str
    severity: str
    opened_at_ns: int
    cleared_at_ns: int | None
    peak_value: float | None
    comparison: str
    threshold: float | None


@dataclass(frozen=True, slots=True)
class DryInhibited:
    """A breach precedence would have folded into another rule's ticket as a note: `rule`
    (the derived one) raised or escalated while `into`'s condition covered the readings."""

    sensor: str
    rule: str
    into: str
    at_ns: int
    severity: str
    metric: str | None
    value: float | None


@dataclass(slots=True)
class DryRunResult:
    rule: str
    sensors: int
    readings: int
    tickets: list[DryTicket]
    baseline: list[DryTicket] | None = None  # the same data under the rule as it is now
    inhibited: list[DryInhibited] = field(default_factory=list)
    """Notes instead of tickets: the rule's own breaches folded into a more specific rule's
    ticket, or the breaches of rules it inhibits folded into its own."""


class _Tickets:
    """Breaches to would-be tickets, as the ticket service would open and update them."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], DryTicket] = {}
        self.all: list[DryTicket] = []
        self.inhibited: list[DryInhibited] = []

    def fold(self, b: Breach) -> None:
        self.inhibited.append(
            DryInhibited(
                b.sensor, b.inhibited, b.rule, b.at_ns, b.severity.value, b.metric, b.value
            )
        )

    def apply(self, b: Breach) -> None:
        key = (b.sensor, b.rule)
        t = self.open.get(key)
        if b.change is Change.RAISED or (t is None and b.change is not Change.CLEARED):
            t = DryTicket(
                sensor=b.sensor,
                rule=b.rule,
                severity=b.severity.value,
                opened_at_ns=b.since_ns,
                cleared_at_ns=None,
                peak_value=b.value,
                comparison=b.comparison,
                threshold=b.threshold,
            )
            self.open[key] = t
            self.all.append(t)
            return
        if t is None:
            return
        if b.change is Change.CLEARED:
            t.cleared_at_ns = b.at_ns
            del self.open[key]
            return
        if b.change is Change.ESCALATED:
            t.severity = b.severity.value
        if b.value is not None:
            old = t.peak_value
            worse = Comparison.of(t.comparison).worse
            t.peak_value = b.value if old is None else worse(old, b.value)


def _applies(book: RuleBook, rule: str, s: Sensor) -> bool:
    return rule in book.for_sensor(s.id, s.kind)


async def _replay(
    influx: InfluxQuery,
    registry: Registry,
    book: RuleBook,
    req: DryRun,
    sensors: list[Sensor],
    raw_rp: str,
) -> tuple[int, _Tickets]:
    engine = RuleEngine(book, registry, started_ns=req.start_ns)
    out = _Tickets()
    readings = 0
    for s in sensors:
        p = registry.get(s.id)
        assert p is not None  # noqa: S101  (sensors come from the registry)
        src = f"{ident(raw_rp)}.{ident(s.kind.value)}"
        after = req.start_ns - 1
        while True:
            q = (
                f'SELECT * FROM {src} WHERE "sensor" = $sensor AND time > {after} '  # noqa: S608
                f"AND time < {int(req.stop_ns)} ORDER BY time ASC LIMIT {PAGE}"
            )
            series = await influx.query(q, {"sensor": s.id})
            rows = [r for ser in series for r in ser.rows()]
            for r in rows:
                t = r.get("time")
                if not isinstance(t, int):
                    continue
                fields = {
                    k: float(v)
                    for k, v in r.items()
                    if k not in NOT_FIELDS
                    and isinstance(v, int | float)
                    and not isinstance(v, bool)
                }
                after = t
                if not fields:
                    continue
                readings += 1
                m = Measurement(s.id, s.kind, p.grid.id, p.community.id, t, fields)
                for b in engine.judge(m):  # as the hub would: with precedence
                    if b.change is Change.INHIBITED:
                        if req.rule in (b.rule, b.inhibited):
                            out.fold(b)
                    elif b.rule == req.rule:
                        out.apply(b)
            if readings > MAX_POINTS:
                raise DryRunError(f"more than {MAX_POINTS} readings: narrow the range or scope")
            if len(rows) < PAGE:
                break
        engine.changes()
    return readings, out


def prepare(
    registry: Registry, req: DryRun, overrides: str | Path | None = None
) -> tuple[RuleBook, list[Sensor]]:
    """The rule book and sensors of `req`, or DryRunError saying why it cannot run (cheap:
    nothing is read from InfluxDB)."""
    if req.stop_ns <= req.start_ns:
        raise DryRunError("the range must end after it starts")
    if req.stop_ns - req.start_ns > MAX_RANGE_NS:
        raise DryRunError("a dry-run may cover at most 400 days")
    book = single_rule_book(req.rule, req.patch, overrides)
    sensors = [s for s in req.scope.sensors(registry) if _applies(book, req.rule, s)]
    if not sensors:
        raise DryRunError(f"{req.rule} applies to none of the sensors asked for")
    return book, sensors


async def dry_run(
    influx: InfluxQuery,
    registry: Registry,
    req: DryRun,
    *,
    overrides: str | Path | None = None,
    raw_rp: str = "autogen",
) -> DryRunResult:
    """Run `req` over the readings in InfluxDB; with a patch, also the rule as it is now."""
    book, sensors = prepare(registry, req, overrides)
    readings, found = await _replay(influx, registry, book, req, sensors, raw_rp)
    baseline = None
    if req.patch:
        now_book = single_rule_book(req.rule, None, overrides)
        _, now = await _replay(influx, registry, now_book, req, sensors, raw_rp)
        baseline = now.all
    return DryRunResult(
        req.rule, len(sensors), readings, found.all, baseline, inhibited=found.inhibited
    )
