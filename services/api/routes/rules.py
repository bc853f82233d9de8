"""Rule dry-run: what tickets a rule (or a changed threshold) would have opened over past
readings, before switching it on. Officers and admins; nothing is written anywhere.

The replay runs in a child process with a time limit (services.dryrun.process): the API keeps
answering everyone else meanwhile; past the limit, or while another dry-run runs, it is a 503
saying so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from domain.ids import ID_PATTERN
from domain.instants import ZONE_RULE, to_ns, with_datetimes
from services.api.deps import HubDep, OverseerDep
from services.dryrun.process import dry_run_isolated
from services.dryrun.runner import DryInhibited, DryRun, DryTicket, Scope
from services.trends.errors import TrendsUnavailable

router = APIRouter(prefix="/rules", tags=["rules"])

Id = Field(default=None, pattern=ID_PATTERN)


class DryRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(pattern=r"^[a-z]+\.[a-z0-9_]+$", examples=["pond.low_oxygen"])
    patch: dict[str, Any] = Field(
        default_factory=dict,
        description="changes in the rules-file override format, e.g. "
        '{"warning": {"value": 3.5}, "for": "30min"}',
    )
    sensor: str | None = Id
    kind: str | None = Field(default=None, pattern=r"^(water|power|sewer|pond)$")
    community: str | None = Id
    start: datetime = Field(description=ZONE_RULE)
    end: datetime = Field(description=ZONE_RULE)


class DryTicketPublic(BaseModel):
    sensor: str
    rule: str
    severity: str
    opened_at: datetime
    cleared_at: datetime | None
    peak_value: float | None

    @classmethod
    def of(cls, t: DryTicket) -> DryTicketPublic:
        return cls(**with_datetimes(t))  # comparison and threshold are not shown


class DryInhibitedPublic(BaseModel):
    sensor: str
    rule: str = Field(description="the derived rule whose breach became a note")
    into: str = Field(description="the more specific rule whose ticket the note went on")
    at: datetime
    severity: str
    metric: str | None
    value: float | None

    @classmethod
    def of(cls, x: DryInhibited) -> DryInhibitedPublic:
        return cls(**with_datetimes(x))


class DryRunPublic(BaseModel):
    rule: str
    sensors: int
    readings: int
    count: int
    tickets: list[DryTicketPublic]
    baseline_count: int | None = Field(description="tickets under the rule as it is now")
    baseline: list[DryTicketPublic] | None
    inhibited: list[DryInhibitedPublic] = Field(
        default_factory=list,
        description="precedence: breaches folded into another rule's ticket as a note "
        "instead of opening one (this rule's, or those of rules it inhibits)",
    )


@router.post("/dry-run", response_model=DryRunPublic)
async def dry_run_rule(hub: HubDep, _who: OverseerDep, body: DryRunCreate) -> DryRunPublic:
    """Replay stored readings through the rule alone and list the tickets it would open
    (one per episode), and with a `patch` also those of the rule as it is now."""
    if hub.trends is None:
        raise TrendsUnavailable("rule dry-runs need InfluxDB (GRIDWATCH_INFLUX_URL)")
    tz = hub.registry.site.tz
    req = DryRun(
        rule=body.rule,
        scope=Scope(body.sensor, body.kind, body.community),
        start_ns=to_ns(body.start, tz),
        stop_ns=to_ns(body.end, tz),
        patch=body.patch,
    )
    r = await dry_run_isolated(
        hub.trends.influx.target,
        hub.registry,
        req,
        overrides=hub.settings.rules,
        raw_rp=hub.trends.layout.raw_rp,
        time_limit_s=hub.settings.api.dry_run_time_limit_s,
    )
    base = [DryTicketPublic.of(t) for t in r.baseline] if r.baseline is not None else None
    return DryRunPublic(
        rule=r.rule,
        sensors=r.sensors,
        readings=r.readings,
        count=len(r.tickets),
        tickets=[DryTicketPublic.of(t) for t in r.tickets],
        baseline_count=len(base) if base is not None else None,
        baseline=base,
        inhibited=[DryInhibitedPublic.of(x) for x in r.inhibited],
    )
