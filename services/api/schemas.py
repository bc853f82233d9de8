"""Request and response bodies of the API (tickets' own schema is services.tickets.schemas).

Request bodies forbid unknown fields: a client cannot slip `status`, `assignee`, `grid` or
`severity` into a comment or a resolve (no mass assignment); 422 instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.site import Location
from services.tickets.schemas import TicketBrief

SensorState = Literal["ok", "waiting", "warning", "critical", "offline"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentCreate(_Body):
    text: str = Field(min_length=1, max_length=2000)


class ResolveCreate(_Body):
    note: str = Field(default="", max_length=2000)
    photos: list[int] = Field(
        default=[], max_length=20, description="ids of this ticket's photos (POST …/photos)"
    )


class ArriveCreate(_Body):
    """Where the phone is, when it shares its position (both or neither)."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    def position(self) -> tuple[float, float] | None:
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)


class AckCreate(_Body):
    """An acknowledge takes no fields; an empty body or `{}` is fine."""


class TicketList(BaseModel):
    count: int
    tickets: list[TicketBrief]


class SensorPublic(BaseModel):
    id: str
    kind: str
    grid: str
    grid_name: str
    community: str
    community_name: str
    asset: str
    location: Location | None
    interval_s: int
    worker: str
    state: SensorState = Field(
        description="from the active tickets whose condition still holds (not recovered): "
        "offline under a sensor.offline or its community's community.silent ticket, else the "
        "worst severity, else waiting when the hub has no verdict on it yet (not heard since "
        "the hub started, or silent past 3 × interval_s before its offline ticket opens), "
        "else ok"
    )


class SensorDetail(SensorPublic):
    online: bool | None = Field(
        description="false while an offline ticket is active and not recovered; "
        "else from the last reading's age (3 × interval_s); null when unknown"
    )
    last_reading: dict[str, float | int | str] | None
    last_reading_at: datetime | None
    open_tickets: list[TicketBrief]


class SensorList(BaseModel):
    count: int
    sensors: list[SensorPublic]


class RejectionPublic(BaseModel):
    id: int
    reason: str
    topic: str
    sensor: str | None
    metric: str | None
    detail: str
    payload_head: str
    received_at: datetime


class RejectionList(BaseModel):
    count: int
    rejections: list[RejectionPublic]


class Health(BaseModel):
    status: str
    database: bool
    ingest: dict[str, Any] | None = None  # the gateway's health, when it runs in this process
    registry_version: int = 0  # the site registry's version this process serves
