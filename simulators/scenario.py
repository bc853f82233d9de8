"""Scenario files: a site, a start, a speed, a timeline of events and sensor faults, and the
tickets a correct hub must raise (the rule engine's tests hold it to them).

    name: storm-night
    site: ../site.yaml            # relative to this file
    start: 2025-07-14T18:00:00+08:00
    speed: 720                    # simulated seconds per real second
    duration: 36h
    events:  [{type: rain, at: 2h, rise: 1h, duration: 3h, recovery: 2h, peak_mm_h: 60}]
    faults:  [{type: dropout, sensor: sewer-cy-mh-04, at: 3h, duration: 4h}]
    expect:  [{sensor: sewer-cy-mh-03, rule: sewer.surcharge, severity: critical,
               after: 2h, before: 6h}]

Times in events, faults and expectations are durations after `start`, so a scenario can be
replayed at any start time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.catalog import CATALOG
from domain.duration import Duration
from domain.ids import Id
from domain.site import Site, load_site
from simulators.events import Event
from simulators.faults import Drift, Fault, Spike, Stuck, Submerged
from simulators.payload import Encoding

RULE_IDS = frozenset(
    (
        *("pond.low_oxygen", "pond.ammonia", "pond.reducing", "pond.ph", "pond.murky"),
        *("pond.black_odorous", "water.chlorine_low", "water.chlorine_high", "water.turbidity"),
        *("water.ph", "water.pressure_low", "water.pressure_high", "water.burst"),
        *("water.tank_low", "water.night_leak", "power.voltage", "power.outage"),
        *("power.overvoltage", "power.frequency", "power.load", "power.oil_temp"),
        *("power.power_factor", "sewer.surcharge", "sewer.overflow", "sewer.h2s", "sewer.ch4"),
        *("sewer.o2", "sewer.cover", "sensor.offline", "sensor.stuck", "sensor.battery"),
        *("sensor.implausible", "community.silent"),
    )
)
"""The rule ids agreed in helpers/interfaces.md."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedTicket(_Strict):
    """A ticket a correct hub opens for `sensor` (or a community, for community.silent), with
    its event-time `opened_at` between `after` and `before` (after the scenario start)."""

    sensor: Id
    rule: str
    severity: Literal["warning", "critical"]
    after: Duration = 0.0
    before: Duration | None = None
    note: str = ""

    @model_validator(mode="after")
    def _known_rule(self) -> ExpectedTicket:
        if self.rule not in RULE_IDS:
            raise ValueError(f"unknown rule {self.rule!r} (see helpers/interfaces.md)")
        if self.before is not None and self.before <= self.after:
            raise ValueError("'before' must be later than 'after'")
        return self


class Replay(_Strict):
    """Real data played as one metric of one sensor: a CSV of (timestamp, value)."""

    sensor: Id
    metric: str
    csv: str
    unit: str = ""
    """The CSV's unit when it is not the catalog's (converted via domain.units)."""
    shift: bool = False
    """Move the data so that its first row falls on the scenario start."""


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    site: str
    start: datetime
    speed: float = Field(default=1.0, gt=0)
    duration: Duration = 86_400.0
    seed: int = 0
    events: list[Event] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    encodings: dict[Id, Encoding] = Field(default_factory=dict)
    replay: list[Replay] = Field(default_factory=list)
    expect: list[ExpectedTicket] = Field(default_factory=list)

    @model_validator(mode="after")
    def _aware_start(self) -> Scenario:
        if self.start.tzinfo is None:
            raise ValueError("'start' needs a UTC offset, e.g. 2025-07-14T18:00:00+08:00")
        return self


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the entry and the field."""


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int) and parts:
            parts[-1] += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, Mapping):
                tag = node.get("sensor") or node.get("type")
                if tag:
                    parts[-1] += f" ({tag})"
            continue
        if isinstance(node, Mapping) and step not in node and parts and str(step) in (
            "drift", "stuck", "spike", "dropout", "clock_skew", "duplicate", "out_of_order",
            "battery", "malformed", "submerged", "seq_reset", "rain", "surcharge", "blockage",
            "overflow", "black_odorous", "burst", "night_leak", "overload", "outage",
        ):  # fmt: skip
            continue  # pydantic names the union branch; the file has no such key
        parts.append(str(step))
        node = node.get(step) if isinstance(node, Mapping) else None
    return ".".join(parts) or "top level"


def _check_refs(sc: Scenario, site: Site) -> list[str]:
    """Cross-references a schema cannot see: sensors exist, with the right kind and metric."""
    kinds = {s.id: s.kind for s in site.sensors}
    communities = {c.id for c in site.communities}
    problems: list[str] = []
    for i, e in enumerate(sc.events):
        for s in e.sensors:
            if s not in kinds:
                problems.append(f"events[{i}] ({e.type}): unknown sensor {s!r}")
            elif kinds[s] is not e.kind:
                problems.append(f"events[{i}] ({e.type}): {s!r} is {kinds[s]}, not {e.kind}")
    for i, f in enumerate(sc.faults):
        where = f"faults[{i}] ({f.type})"
        if f.sensor not in kinds:
            problems.append(f"{where}: unknown sensor {f.sensor!r}")
            continue
        metrics = CATALOG[kinds[f.sensor]]
        names = (
            [f.metric]
            if isinstance(f, Drift | Spike)
            else (f.metrics if isinstance(f, Stuck) else [])
        )
        problems += [
            f"{where}: {kinds[f.sensor]} has no metric {n!r}" for n in names if n not in metrics
        ]
        if isinstance(f, Submerged) and kinds[f.sensor] != "sewer":
            problems.append(f"{where}: only sewer level sensors can be submerged")
    for i, x in enumerate(sc.expect):
        if x.sensor not in kinds and not (x.rule == "community.silent" and x.sensor in communities):
            problems.append(f"expect[{i}]: unknown sensor {x.sensor!r}")
    for s in sc.encodings:
        if s not in kinds:
            problems.append(f"encodings: unknown sensor {s!r}")
    for i, r in enumerate(sc.replay):
        if r.sensor not in kinds:
            problems.append(f"replay[{i}]: unknown sensor {r.sensor!r}")
        elif r.metric not in CATALOG[kinds[r.sensor]]:
            problems.append(f"replay[{i}]: {kinds[r.sensor]} has no metric {r.metric!r}")
    return problems


def site_path(scenario_file: Path, sc: Scenario) -> Path:
    p = Path(sc.site)
    return p if p.is_absolute() else scenario_file.parent / p


def parse_scenario(data: Any, source: str, site: Site | None = None) -> Scenario:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario must be a mapping (name, site, start, ...)")
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        lines = [f"{source}: {_where(data, tuple(err['loc']))}: {err['msg']}" for err in e.errors()]
        raise ScenarioError("\n".join(lines)) from None
    if site is not None:
        problems = _check_refs(sc, site)
        if problems:
            raise ScenarioError("\n".join(f"{source}: {p}" for p in problems))
    return sc


def load_scenario(path: str | Path, site: Site | None = None) -> tuple[Scenario, Site]:
    """Read a scenario and its site (from `site:` unless given), checked against each other."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read the scenario: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ScenarioError(f"{p}: not valid YAML: {e}") from e
    sc = parse_scenario(data, str(p))
    if site is None:
        site = load_site(site_path(p, sc))
    return parse_scenario(data, str(p), site), site
