"""Sensors from the site registry, with their state: open tickets, last reading, online, and
the map's ok / warning / critical / offline, computed here so every client colours alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime

from fastapi import APIRouter

from domain.instants import from_ns
from domain.site import Placement
from services.api.deps import HubDep, PrincipalDep
from services.api.schemas import SensorDetail, SensorList, SensorPublic, SensorState
from services.db.rule_state import HubPresence, SqlRuleStateStore
from services.tickets.reads import TicketFilter
from services.tickets.schemas import TicketBrief

router = APIRouter(prefix="/sensors", tags=["sensors"])

OFFLINE_RULE = "sensor.offline"
SILENT_RULE = "community.silent"
RANK: dict[SensorState, int] = {"ok": 0, "waiting": 0, "warning": 1, "critical": 2, "offline": 3}
MAX_ACTIVE = 100_000
"""Active tickets read to colour the map; a site has far fewer unless something is very wrong."""


def ticket_state(t: TicketBrief) -> SensorState:
    if t.recovered:
        return "ok"  # the condition cleared; the ticket only waits for the crew to close it
    if t.rule in (OFFLINE_RULE, SILENT_RULE):
        return "offline"
    return "critical" if t.severity == "critical" else "warning"


def sensor_states(
    placements: Iterable[Placement],
    tickets: Iterable[TicketBrief],
    presence: HubPresence | None = None,
    now_ns: int = 0,
) -> dict[str, SensorState]:
    """Each sensor's state from the active tickets: a community.silent ticket (its `sensor` is
    the community id) makes every sensor of that community offline. A sensor that would be ok
    is "waiting" while the hub has no verdict on it (`presence`, the hub's own record; without
    one — no hub has run on this database — states come from the tickets alone)."""
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
        st = own if RANK[own] >= RANK[community] else community
        if (
            st == "ok"
            and presence is not None
            and presence.waiting(p.sensor.id, p.sensor.interval_s, now_ns)
        ):
            st = "waiting"
        out[p.sensor.id] = st
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
        hub.tickets.reads.find, TicketFilter(status="active", limit=MAX_ACTIVE)
    )
    presence = await asyncio.to_thread(SqlRuleStateStore(hub.engine).presence)
    states = sensor_states(seen, tickets, presence, time.time_ns())
    out = [_public(p, states[p.sensor.id]) for p in seen]
    return SensorList(count=len(out), sensors=out)


@router.get("/{sensor_id}", response_model=SensorDetail)
async def get_sensor(hub: HubDep, who: PrincipalDep, sensor_id: str) -> SensorDetail:
    p = who.placement(hub.registry, sensor_id)  # NotVisible (404) for another grid's sensor
    tickets = await asyncio.to_thread(
        hub.tickets.reads.find, TicketFilter(status="active", sensor=sensor_id, limit=100)
    )
    silent = await asyncio.to_thread(
        hub.tickets.reads.find, TicketFilter(status="active", sensor=p.community.id, limit=100)
    )
    presence = await asyncio.to_thread(SqlRuleStateStore(hub.engine).presence, sensor_id)
    state = sensor_states(
        [p], [*tickets, *(t for t in silent if t.rule == SILENT_RULE)], presence, time.time_ns()
    )
    last = await hub.readings.last(sensor_id, str(p.sensor.kind))
    at: datetime | None = None
    online: bool | None = None
    if last is not None and isinstance(last.get("time"), int):
        ts = int(last.pop("time"))
        at = from_ns(ts)
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
