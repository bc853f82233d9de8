"""Rule dry-run: what tickets a rule (or a changed threshold) would have opened over past
readings, before switching it on. Officers and admins; nothing is written anywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.api.deps import HubDep, OverseerDep
from services.dryrun.book import DryRunError
from services.dryrun.runner import DryRun, DryTicket, Scope, dry_run
from services.influx.errors import InfluxError

router = APIRouter(prefix="/rules", tags=["rules"])

Id = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


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
    start: AwareDatetime
    end: AwareDatetime


class DryTicketPublic(BaseModel):
    sensor: str
    rule: str
    severity: str
    opened_at: datetime
    cleared_at: datetime | None
    peak_value: float | None

    @classmethod
    def of(cls, t: DryTicket) -> DryTicketPublic:
        return cls(
            sensor=t.sensor,
            rule=t.rule,
            severity=t.severity,
            opened_at=datetime.fromtimestamp(t.opened_at_ns / 1e9, tz=UTC),
            cleared_at=(
                datetime.fromtimestamp(t.cleared_at_ns / 1e9, tz=UTC)
                if t.cleared_at_ns is not None
                else None
            ),
            peak_value=t.peak_value,
        )


class DryRunPublic(BaseModel):
    rule: str
    sensors: int
    readings: int
    count: int
    tickets: list[DryTicketPublic]
    baseline_count: int | None = Field(description="tickets under the rule as it is now")
    baseline: list[DryTicketPublic] | None


def _ns(d: datetime) -> int:
    return int(d.timestamp()) * 10**9 + d.microsecond * 1000


@router.post("/dry-run", response_model=DryRunPublic)
async def dry_run_rule(hub: HubDep, _who: OverseerDep, body: DryRunCreate) -> DryRunPublic:
    """Replay stored readings through the rule alone and list the tickets it would open
    (one per episode), and with a `patch` also those of the rule as it is now."""
    if hub.trends is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "InfluxDB is not configured")
    req = DryRun(
        rule=body.rule,
        scope=Scope(body.sensor, body.kind, body.community),
        start_ns=_ns(body.start),
        stop_ns=_ns(body.end),
        patch=body.patch,
    )
    try:
        r = await dry_run(
            hub.trends.influx,
            hub.registry,
            req,
            overrides=hub.settings.rules,
            raw_rp=hub.trends.layout.raw_rp,
        )
    except DryRunError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except InfluxError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"InfluxDB: {e}") from None
    base = [DryTicketPublic.of(t) for t in r.baseline] if r.baseline is not None else None
    return DryRunPublic(
        rule=r.rule,
        sensors=r.sensors,
        readings=r.readings,
        count=len(r.tickets),
        tickets=[DryTicketPublic.of(t) for t in r.tickets],
        baseline_count=len(base) if base is not None else None,
        baseline=base,
    )
