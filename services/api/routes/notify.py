"""Deliveries: what became of a ticket's notices (whoever may read the ticket), and the
channels' health for admins (services.notify.deliveries)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import AdminDep, HubDep, PrincipalDep, RowId
from services.notify.deliveries import (
    ChannelHealthList,
    TicketDeliveries,
    channel_health,
    ticket_deliveries,
)
from services.notify.directory import SiteDirectory

router = APIRouter(tags=["notify"])


@router.get("/tickets/{ticket_id}/deliveries", response_model=TicketDeliveries)
async def deliveries(hub: HubDep, who: PrincipalDep, ticket_id: RowId) -> TicketDeliveries:
    """Per channel: every attempt (time, outcome sent | failed | throttled | retrying, attempt
    number, the channel's answer code and message), oldest first, and the notices still owed.
    The ticket's own access rules: a crew's ticket of another grid is a 404."""
    types = {c.id: c.type.value for c in SiteDirectory(hub.registry).channels()}
    return await asyncio.to_thread(ticket_deliveries, hub.engine, ticket_id, who.scope, types)


@router.get("/notify/channels", response_model=ChannelHealthList)
async def channels(
    hub: HubDep,
    _who: AdminDep,
    hours: Annotated[float, Query(gt=0, le=24 * 90, description="the counts' window")] = 24,
) -> ChannelHealthList:
    """Admin: each channel's outbox rows of the last `hours` by status (sent, failed, pending;
    `retrying` of the pending were tried already), its last error and last success; failing
    channels first."""
    specs = SiteDirectory(hub.registry).channels()
    since = time.time_ns() - int(hours * 3600 * 1e9)
    return await asyncio.to_thread(channel_health, hub.engine, specs, since)
