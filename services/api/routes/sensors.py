"""Sensors from the site registry, with their state: open tickets, last reading, online, and
the map's ok / warning / critical / offline, computed here so every client colours alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from domain.site import Placement
from services.api.deps import HubDep, PrincipalDep
from services.api.schemas import SensorDetail, SensorList, SensorPublic, SensorState
from services.tickets.schemas import TicketPublic
from services.tickets.service import TicketFilter

router = APIRouter(prefix="/sensors", tags=["sensors"])

OFFLINE_RULE = "sensor.offline"
SILENT_RULE = "community.silent"
RANK: dict[SensorState, int] = {"ok": 0, "warning": 1, "critical": 2, "offline": 3}
MAX_ACTIVE = 100_000
"""Active tickets read to colour the map; a site has far fewer unless something is very wrong."""


def ticket_state(t: TicketPublic) -> SensorState:
    if t.recovered:
        return "ok"  # the condition cleared; the ticket only waits for the crew to close it
    if t.rule in (OFFLINE_RULE, SILENT_RULE):
        return "offline"
    return "critical" if t.severity == "critical" else "warning"


def sensor_states(
    placements: Iterable[Placement], tickets: Iterable[TicketPublic]
) -> dict[str, SensorState]:
    """Each sensor's state from the active tickets: a community.silent ticket (its `sensor` is
    the community id) makes every sensor of that community offline."""
    by_sensor: dict[str, SensorState] = {}
    by_community: dict[str, SensorState] = {}
    for t in tickets:
        st = ticket_state(t)
        into, key = (by_community, t.sensor) if t.rule == SILENT_RULE else (by_sensor, t.sensor)
        if RANK[st] > RANK[into.get(key, "ok")]:
            into[key] = st
    out: dict[str, SensorState] = {}
    for p in placements:
        own = by_sensor.get(p.sensor.id, "ok")
        community = by_community.get(p.community.id, "ok")
        out[p.sensor.id] = own if RANK[own] >= RANK[community] else community
    return out


def _public(p: Placement, state: SensorState) -> SensorPublic:
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
        state=state,
    )


@router.get("", response_model=SensorList)
async def list_sensors(hub: HubDep, who: PrincipalDep) -> SensorList:
    """Every sensor of the site (a crew sees its own grid cells' sensors)."""
    seen = [p for p in hub.registry.placements.values() if who.sees_grid(p.grid.id)]
    tickets = await asyncio.to_thread(
        hub.tickets.find, TicketFilter(status="active", limit=MAX_ACTIVE)
    )
    states = sensor_states(seen, tickets)
    out = [_public(p, states[p.sensor.id]) for p in seen]
    return SensorList(count=len(out), sensors=out)


@router.get("/{sensor_id}", response_model=SensorDetail)
async def get_sensor(hub: HubDep, who: PrincipalDep, sensor_id: str) -> SensorDetail:
    p = hub.registry.get(sensor_id)
    if p is None or not who.sees_grid(p.grid.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sensor {sensor_id} does not exist")
    tickets = await asyncio.to_thread(
        hub.tickets.find, TicketFilter(status="active", sensor=sensor_id, limit=100)
    )
    silent = await asyncio.to_thread(
        hub.tickets.find, TicketFilter(status="active", sensor=p.community.id, limit=100)
    )
    state = sensor_states([p], [*tickets, *(t for t in silent if t.rule == SILENT_RULE)])
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
        **_public(p, state[sensor_id]).model_dump(),
        online=online,
        last_reading=last,
        last_reading_at=at,
        open_tickets=tickets,
    )
