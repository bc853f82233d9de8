"""Sensors from the site registry, with their state: open tickets, last reading, online."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from domain.site import Placement
from services.api.deps import HubDep, PrincipalDep
from services.api.schemas import SensorDetail, SensorList, SensorPublic
from services.tickets.service import TicketFilter

router = APIRouter(prefix="/sensors", tags=["sensors"])

OFFLINE_RULE = "sensor.offline"


def _public(p: Placement) -> SensorPublic:
    return SensorPublic(
        id=p.sensor.id,
        kind=str(p.sensor.kind),
        grid=p.grid.id,
        grid_name=p.grid.name,
        community=p.community.id,
        community_name=p.community.name,
        asset=p.sensor.asset,
        location=p.sensor.location,
        interval_s=p.sensor.interval_s,
        worker=p.grid.worker.name,
    )


@router.get("", response_model=SensorList)
async def list_sensors(hub: HubDep, who: PrincipalDep) -> SensorList:
    """Every sensor of the site (a crew sees its own grid cells' sensors)."""
    out = [_public(p) for p in hub.registry.placements.values() if who.sees_grid(p.grid.id)]
    return SensorList(count=len(out), sensors=out)


@router.get("/{sensor_id}", response_model=SensorDetail)
async def get_sensor(hub: HubDep, who: PrincipalDep, sensor_id: str) -> SensorDetail:
    p = hub.registry.get(sensor_id)
    if p is None or not who.sees_grid(p.grid.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sensor {sensor_id} does not exist")
    tickets = await asyncio.to_thread(
        hub.tickets.find, TicketFilter(status="active", sensor=sensor_id, limit=100)
    )
    last = await hub.readings.last(sensor_id, str(p.sensor.kind))
    at: datetime | None = None
    online: bool | None = None
    if last is not None and isinstance(last.get("time"), int):
        ts = int(last.pop("time"))
        at = datetime.fromtimestamp(ts / 1e9, tz=UTC)
        online = time.time_ns() - ts <= 3 * p.sensor.interval_s * 10**9
    if any(t.rule == OFFLINE_RULE and not t.recovered for t in tickets):
        online = False
    return SensorDetail(
        **_public(p).model_dump(),
        online=online,
        last_reading=last,
        last_reading_at=at,
        open_tickets=tickets,
    )
