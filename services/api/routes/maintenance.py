"""Maintenance windows: a crew marks one of its sensors under maintenance for a period, and
the gateway's rules raise no new tickets for it meanwhile (services.maintenance).

Crews see and change windows of their own grid cells only (another grid's window is "not
found"); officers read everything; admins do anything.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from domain.ids import ID_PATTERN
from domain.instants import ZONE_RULE, to_ns, with_datetimes
from services.api.deps import HubDep, PrincipalDep, RowId, WriterDep
from services.maintenance.store import MaintenanceStore, Window

router = APIRouter(prefix="/maintenance", tags=["maintenance"])


class WindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensor: str = Field(pattern=ID_PATTERN)
    start: datetime | None = Field(default=None, description=f"{ZONE_RULE}; default: now")
    end: datetime = Field(description=ZONE_RULE)
    note: str = Field(default="", max_length=500)


class WindowPublic(BaseModel):
    id: int
    sensor: str
    grid: str
    start: datetime
    end: datetime
    note: str
    created_by: str
    created_at: datetime
    ended_by: str | None
    suppressed: int = Field(description="new alarms the window held back")
    active: bool

    @classmethod
    def of(cls, w: Window, now_ns: int) -> WindowPublic:
        return cls(**with_datetimes(w), active=w.covers(now_ns))


class WindowList(BaseModel):
    count: int
    windows: list[WindowPublic]


def _store(hub: HubDep) -> MaintenanceStore:
    return MaintenanceStore(hub.engine, hub.registry, clock=hub.tickets.clock)


@router.get("", response_model=WindowList)
async def list_windows(
    hub: HubDep,
    who: PrincipalDep,
    sensor: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    current: Annotated[bool, Query(description="only windows not yet over")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> WindowList:
    store = _store(hub)
    found = await asyncio.to_thread(
        store.find, who.scope, sensor=sensor, current_only=current, limit=limit
    )
    now = store.clock()
    return WindowList(count=len(found), windows=[WindowPublic.of(w, now) for w in found])


@router.post("", response_model=WindowPublic, status_code=status.HTTP_201_CREATED)
async def create_window(hub: HubDep, who: WriterDep, body: WindowCreate) -> WindowPublic:
    """Mark a sensor under maintenance from `start` (default now) until `end`."""
    store = _store(hub)
    now = store.clock()
    tz = hub.registry.site.tz
    start = to_ns(body.start, tz) if body.start else now
    w = await asyncio.to_thread(
        store.create, body.sensor, start, to_ns(body.end, tz), body.note, who.name, who.scope
    )
    return WindowPublic.of(w, now)


@router.delete("/{window_id}", response_model=WindowPublic)
async def end_window(hub: HubDep, who: WriterDep, window_id: RowId) -> WindowPublic:
    """End a window now (a window that has not started is cancelled)."""
    store = _store(hub)
    w = await asyncio.to_thread(store.end, window_id, who.name, who.scope)
    return WindowPublic.of(w, store.clock())
