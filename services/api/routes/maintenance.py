"""Maintenance windows: a crew marks one of its sensors under maintenance for a period, and
the gateway's rules raise no new tickets for it meanwhile (services.maintenance).

Crews see and change windows of their own grid cells only (another grid's window is "not
found"); officers read everything; admins do anything.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.api.deps import HubDep, PrincipalDep, RowId, WriterDep
from services.maintenance.store import (
    MaintenanceError,
    MaintenanceStore,
    NotYourGrid,
    Window,
    WindowNotFound,
)

router = APIRouter(prefix="/maintenance", tags=["maintenance"])


class WindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensor: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    start: AwareDatetime | None = Field(default=None, description="default: now")
    end: AwareDatetime
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
        def dt(ns: int) -> datetime:
            return datetime.fromtimestamp(ns / 1e9, tz=UTC)

        return cls(
            id=w.id,
            sensor=w.sensor,
            grid=w.grid,
            start=dt(w.start_ns),
            end=dt(w.end_ns),
            note=w.note,
            created_by=w.created_by,
            created_at=dt(w.created_at_ns),
            ended_by=w.ended_by,
            suppressed=w.suppressed,
            active=w.covers(now_ns),
        )


class WindowList(BaseModel):
    count: int
    windows: list[WindowPublic]


def _ns(d: datetime) -> int:
    return int(d.timestamp()) * 10**9 + d.microsecond * 1000


def _store(hub: HubDep) -> MaintenanceStore:
    return MaintenanceStore(hub.engine, hub.registry, clock=hub.tickets.clock)


@router.get("", response_model=WindowList)
async def list_windows(
    hub: HubDep,
    who: PrincipalDep,
    sensor: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")] = None,
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
    start = _ns(body.start) if body.start else now
    try:
        w = await asyncio.to_thread(
            store.create, body.sensor, start, _ns(body.end), body.note, who.name, who.scope
        )
    except NotYourGrid as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    except MaintenanceError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    return WindowPublic.of(w, now)


@router.delete("/{window_id}", response_model=WindowPublic)
async def end_window(hub: HubDep, who: WriterDep, window_id: RowId) -> WindowPublic:
    """End a window now (a window that has not started is cancelled)."""
    store = _store(hub)
    try:
        w = await asyncio.to_thread(store.end, window_id, who.name, who.scope)
    except WindowNotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except MaintenanceError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return WindowPublic.of(w, store.clock())
