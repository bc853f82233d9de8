"""Tickets: list and read (scoped to a crew's grids), acknowledge, comment, resolve.

Crews act only on tickets of their own grid cells; another grid's ticket is "not found" (404),
so its existence is not revealed. Officers read everything and change nothing (403).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query

from services.api.deps import HubDep, PrincipalDep, RowId, WriterDep
from services.api.schemas import AckCreate, CommentCreate, ResolveCreate, TicketList
from services.tickets.schemas import TicketPublic
from services.tickets.service import TicketFilter

router = APIRouter(prefix="/tickets", tags=["tickets"])

IdPattern = Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
TicketId = RowId
INT64 = 2**63 - 1


def _ns(moment: datetime) -> int:
    """Nanoseconds, clamped to the database's 64-bit range (years before 1677 or after 2262
    were a 500; as a lower bound they select the same tickets clamped)."""
    return max(-INT64, min(INT64, int(moment.timestamp() * 1e9)))


@router.get("", response_model=TicketList)
async def list_tickets(
    hub: HubDep,
    who: PrincipalDep,
    status: Annotated[str | None, Query(pattern=r"^(open|acknowledged|resolved|active)$")] = None,
    grid: Annotated[str | None, IdPattern] = None,
    community: Annotated[str | None, IdPattern] = None,
    kind: Annotated[str | None, Query(pattern=r"^(water|power|sewer|pond|community)$")] = None,
    severity: Annotated[str | None, Query(pattern=r"^(warning|critical)$")] = None,
    sensor: Annotated[str | None, IdPattern] = None,
    since: Annotated[datetime | None, Query(description="opened at or after (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TicketList:
    """Newest first. `status=active` means open or acknowledged."""
    f = TicketFilter(
        status=status,
        grid=grid,
        community=community,
        kind=kind,
        severity=severity,
        sensor=sensor,
        since_ns=_ns(since) if since else None,
        grids=who.scope,
        limit=min(limit, hub.settings.max_limit),
    )
    found = await asyncio.to_thread(hub.tickets.find, f)
    return TicketList(count=len(found), tickets=found)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(hub: HubDep, who: PrincipalDep, ticket_id: TicketId) -> TicketPublic:
    return await asyncio.to_thread(hub.tickets.get, ticket_id, who.scope)


@router.post("/{ticket_id}/ack", response_model=TicketPublic)
async def acknowledge(
    hub: HubDep,
    who: WriterDep,
    ticket_id: TicketId,
    body: Annotated[AckCreate | None, Body()] = None,
) -> TicketPublic:
    """Take the ticket on: status open -> acknowledged (repeating it is harmless)."""
    n = await asyncio.to_thread(hub.tickets.acknowledge, ticket_id, who.name, who.scope)
    hub.dispatcher.submit([n])
    return n.ticket


@router.post("/{ticket_id}/comments", response_model=TicketPublic, status_code=201)
async def comment(
    hub: HubDep, who: WriterDep, ticket_id: TicketId, body: CommentCreate
) -> TicketPublic:
    n = await asyncio.to_thread(hub.tickets.comment, ticket_id, who.name, body.text, who.scope)
    return n.ticket


@router.post("/{ticket_id}/resolve", response_model=TicketPublic)
async def resolve(
    hub: HubDep,
    who: WriterDep,
    ticket_id: TicketId,
    body: Annotated[ResolveCreate | None, Body()] = None,
) -> TicketPublic:
    """Close the ticket. If the condition still holds, the next violation opens a new ticket
    that links this one."""
    note = body.note if body else ""
    n = await asyncio.to_thread(hub.tickets.resolve, ticket_id, who.name, note, who.scope)
    hub.dispatcher.submit([n])
    return n.ticket
