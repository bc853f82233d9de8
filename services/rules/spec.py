"""The rules file as typed data: what `defaults.yaml` and a site's override file may say.

Every model forbids unknown fields, so a typo in a rules file fails at start instead of being
silently ignored. Durations are written as `90s`, `15min`, `1h`, `7d` or plain seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.breach import Severity
from domain.catalog import CATALOG, HEALTH, Kind
from domain.duration import Duration

RULE_ID_PATTERN = r"^[a-z]+\.[a-z0-9_]+$"
Provenance = Literal["S", "S?", "P", "D", "site"]
"""domain.md's tags, plus `site` for a number a site chose itself (never a national limit)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Level(_Strict):
    """One severity's threshold: `op` compares the value to `value` (or `band` for outside)."""

    op: Literal["<", "<=", ">", ">=", "outside"]
    value: float | None = None
    band: tuple[float, float] | None = None
    limit_zh: str = ""
    limit_en: str = ""
    source: str = Field(min_length=1)
    provenance: Provenance

    @model_validator(mode="after")
    def _shape(self) -> Level:
        if self.op == "outside":
            if self.band is None or self.value is not None:
                raise ValueError("op 'outside' takes `band: [low, high]` and no `value`")
            if not self.band[0] < self.band[1]:
                raise ValueError("band must be [low, high] with low < high")
        elif self.value is None or self.band is not None:
            raise ValueError(f"op {self.op!r} takes `value` and no `band`")
        return self

    def direction(self) -> str:
        return {"<": "below", "<=": "below", ">": "above", ">=": "above"}.get(self.op, "outside")


def _check_metric(kind: Kind | Literal["any"], metric: str) -> None:
    known = HEALTH if kind == "any" else {**CATALOG[kind], **HEALTH}
    if metric not in known:
        where = "every kind's health fields" if kind == "any" else f"kind {kind}"
        raise ValueError(f"metric {metric!r} is not in the catalog for {where}")


def _check_order(warning: Level, critical: Level) -> None:
    """Critical must be the more severe of the two, or it could never escalate."""
    if warning.direction() != critical.direction():
        raise ValueError("warning and critical must compare the same way")
    if warning.band is not None and critical.band is not None:
        if not (critical.band[0] <= warning.band[0] and warning.band[1] <= critical.band[1]):
            raise ValueError("the critical band must contain the warning band")
        return
    w, c = warning.value, critical.value
    if w is None or c is None:  # pragma: no cover  (Level._shape guarantees both)
        raise ValueError("warning and critical need a `value`")
    if warning.direction() == "below" and c > w:
        raise ValueError(f"critical ({c}) must be at or below warning ({w})")
    if warning.direction() == "above" and c < w:
        raise ValueError(f"critical ({c}) must be at or above warning ({w})")


class _Rule(_Strict):
    enabled: bool = True
    title_zh: str = ""
    title_en: str = ""


class ThresholdRule(_Rule):
    """Warning/critical limits on one metric, held `for` before raising, cleared past a
    hysteresis band (default 5 % of the threshold, or of the band's width) for `clear_for`."""

    type: Literal["threshold"]
    kind: Kind | Literal["any"]
    metric: str
    for_: Duration = Field(alias="for")
    clear_for: Duration | None = None
    hysteresis: float | None = Field(default=None, ge=0)
    ignore_below: float | None = None
    """Values under this are not judged by the rule (the quantity is absent, not deviating:
    a voltage of 0 during an outage is power.outage, not a voltage deviation)."""
    warning: Level | None = None
    critical: Level | None = None
    inhibits: list[str] = Field(default_factory=list)
    """Rules derived from this one's metric (a grade taken from the same indicator): while this
    rule's condition is pending or active at a sensor, their breaches on this metric are folded
    into this rule's ticket as a note instead of opening one (Alertmanager's inhibition)."""

    @model_validator(mode="after")
    def _valid(self) -> ThresholdRule:
        _check_metric(self.kind, self.metric)
        if self.warning is None and self.critical is None:
            raise ValueError("a threshold rule needs `warning`, `critical` or both")
        if self.warning is not None and self.critical is not None:
            _check_order(self.warning, self.critical)
        return self


class DropRule(_Rule):
    """Rate of change: the value falls by more than `drop` within `within` (a burst main)."""

    type: Literal["drop"]
    kind: Kind
    metric: str
    drop: float = Field(gt=0)
    within: Duration = Field(gt=0)
    clear_for: Duration = 0.0
    severity: Severity = Severity.CRITICAL
    limit_zh: str = ""
    limit_en: str = ""
    source: str = Field(min_length=1)
    provenance: Provenance

    @model_validator(mode="after")
    def _valid(self) -> DropRule:
        _check_metric(self.kind, self.metric)
        return self


class Indicator(_Strict):
    warning: Level
    critical: Level

    @model_validator(mode="after")
    def _valid(self) -> Indicator:
        _check_order(self.warning, self.critical)
        return self


class GradeRule(_Rule):
    """A grade taken as the worst of several indicators (the black-odorous guide's table)."""

    type: Literal["grade"]
    kind: Kind
    for_: Duration = Field(alias="for")
    clear_for: Duration | None = None
    indicators: dict[str, Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> GradeRule:
        for metric in self.indicators:
            _check_metric(self.kind, metric)
        return self


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class NightLeakRule(_Rule):
    """Minimum night flow against the median of earlier nights' minima (district metering)."""

    type: Literal["night_leak"]
    kind: Kind
    metric: str
    night_start: str = Field(default="02:00", pattern=_HHMM)
    night_end: str = Field(default="05:00", pattern=_HHMM)
    baseline_nights: int = Field(default=7, ge=1, le=60)
    min_nights: int = Field(default=3, ge=1)
    nights: int = Field(default=2, ge=1)
    warning_ratio: float = Field(default=1.2, gt=1)
    critical_ratio: float = Field(default=1.5, gt=1)
    min_flow: float = Field(default=0.05, ge=0)
    limit_zh: str = ""
    limit_en: str = ""
    source: str = Field(min_length=1)
    provenance: Provenance

    @model_validator(mode="after")
    def _valid(self) -> NightLeakRule:
        _check_metric(self.kind, self.metric)
        if self.night_start >= self.night_end:
            raise ValueError("night_start must be before night_end (same local day)")
        if self.critical_ratio < self.warning_ratio:
            raise ValueError("critical_ratio must be at least warning_ratio")
        if self.min_nights > self.baseline_nights:
            raise ValueError("min_nights cannot exceed baseline_nights")
        return self


class OfflineRule(_Rule):
    """No reading for `intervals` × the sensor's interval_s, on the hub clock."""

    type: Literal["offline"]
    intervals: float = Field(default=3.0, gt=0)
    grace: Duration = 600.0
    source: str = Field(min_length=1)
    provenance: Provenance


class CommunitySilentRule(_Rule):
    """Most sensors of one community falling silent together: one incident, not N tickets."""

    type: Literal["community_silent"]
    ratio: float = Field(default=0.6, gt=0, le=1)
    min_sensors: int = Field(default=3, ge=2)
    window: Duration = 1800.0
    settle: Duration = 300.0
    severity: Severity = Severity.CRITICAL
    source: str = Field(min_length=1)
    provenance: Provenance


class StuckRule(_Rule):
    """A flatline: unchanged within the metric's resolution for `for` (or the kind's own
    `kind_for`), or `samples` readings, on consecutive observations: a hole longer than
    `gap_intervals` × the sensor's interval_s starts a new run."""

    type: Literal["stuck"]
    for_: Duration = Field(alias="for", gt=0)
    kind_for: dict[Kind, Annotated[Duration, Field(gt=0)]] = Field(default_factory=dict)
    metrics: dict[Kind, list[str]]
    samples: dict[str, int] = Field(default_factory=dict)
    gap_intervals: float = Field(default=3.0, gt=0)
    tolerance: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    """Per metric, the band a flat run stays inside (highest − lowest < tolerance); default the
    catalog's resolution. A meter coarser than the catalog (river's flow meter steps 0.01 L/s)
    needs its own, set per sensor."""
    source: str = Field(min_length=1)
    provenance: Provenance

    @model_validator(mode="after")
    def _valid(self) -> StuckRule:
        for kind, names in self.metrics.items():
            for name in names:
                _check_metric(kind, name)
        if any(n < 2 for n in self.samples.values()):
            raise ValueError("samples must be at least 2")
        return self


class ImplausibleRule(_Rule):
    """A sensor sending only implausible (rejected) values for `for`."""

    type: Literal["implausible"]
    for_: Duration = Field(alias="for")
    source: str = Field(min_length=1)
    provenance: Provenance


Rule = Annotated[
    ThresholdRule
    | DropRule
    | GradeRule
    | NightLeakRule
    | OfflineRule
    | CommunitySilentRule
    | StuckRule
    | ImplausibleRule,
    Field(discriminator="type"),
]

SINGLETON_TYPES = ("offline", "community_silent", "stuck", "implausible")
"""Rule types the engine runs once per sensor (or community): at most one rule of each."""
