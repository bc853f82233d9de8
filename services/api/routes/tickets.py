"""Tickets: list and read (scoped to a crew's grids), acknowledge, comment, resolve.

Crews act only on tickets of their own grid cells; another grid's ticket is "not found" (404),
so its existence is not revealed. Officers read everything and change nothing (403).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Query

from domain.ids import ID_PATTERN
from domain.instants import ZONE_RULE, to_ns
from services.api.deps import FieldCrewDep, HubDep, PrincipalDep, RowId, WriterDep
from services.api.schemas import (
    AckCreate,
    ArriveCreate,
    CommentCreate,
    ResolveCreate,
    TicketList,
)
from services.tickets.reads import MAX_PAGE, TicketFilter
from services.tickets.schemas import EventPage, TicketPublic

router = APIRouter(prefix="/tickets", tags=["tickets"])

IdPattern = Query(pattern=ID_PATTERN)
TicketId = RowId


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
    since: Annotated[
        datetime | None,
        Query(description=f"opened at or after: {ZONE_RULE}"),
    ] = None,
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
        since_ns=to_ns(since, hub.registry.site.tz) if since else None,
        grids=who.scope,
        limit=min(limit, hub.settings.api.max_limit),
    )
    found = await asyncio.to_thread(hub.tickets.reads.find, f)
    return TicketList(count=len(found), tickets=found)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(hub: HubDep, who: PrincipalDep, ticket_id: TicketId) -> TicketPublic:
    """The ticket with the newest lines of its timeline (`events`, oldest first); when there
    are older ones, `events_next` is the `before` of GET /tickets/{id}/events for them."""
    return await asyncio.to_thread(hub.tickets.reads.get, ticket_id, who.scope)


@router.get("/{ticket_id}/events", response_model=EventPage)
async def ticket_events(
    hub: HubDep,
    who: PrincipalDep,
    ticket_id: TicketId,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="event id: lines older than this one")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> EventPage:
    """A page of the timeline, oldest first: the newest `limit` lines older than `before`
    (without `before`: the newest). Pass the answer's `next` as `before` for the page older
    than that, until `next` is null."""
    return await asyncio.to_thread(
        partial(hub.tickets.reads.events, ticket_id, who.scope, before=before, limit=limit)
    )


@router.post("/{ticket_id}/ack", response_model=TicketPublic)
async def acknowledge(
    hub: HubDep,
    who: WriterDep,
    ticket_id: TicketId,
    body: Annotated[AckCreate | None, Body()] = None,
) -> TicketPublic:
    """Take the ticket on: status open -> acknowledged (repeating it is harmless)."""
    n = await asyncio.to_thread(hub.tickets.actions.acknowledge, ticket_id, who.shown, who.scope)
    hub.dispatcher.submit([n])
    return n.ticket


@router.post("/{ticket_id}/comments", response_model=TicketPublic, status_code=201)
async def comment(
    hub: HubDep, who: WriterDep, ticket_id: TicketId, body: CommentCreate
) -> TicketPublic:
    """At most 2,000 characters (422), and a few a minute per person (429 with Retry-After)."""
    hub.comments.take(who.name)
    n = await asyncio.to_thread(
        hub.tickets.actions.comment, ticket_id, who.shown, body.text, who.scope
    )
    return n.ticket


@router.post("/{ticket_id}/arrive", response_model=TicketPublic)
async def arrive(
    hub: HubDep,
    who: FieldCrewDep,
    ticket_id: TicketId,
    body: Annotated[ArriveCreate | None, Body()] = None,
) -> TicketPublic:
    """The crew is on site: an `on_site` line on the timeline, with `lat`/`lon` when the phone
    shares them; an open ticket is taken on (acknowledged). Crew of the ticket's grid only."""
    position = body.position() if body else None
    n = await asyncio.to_thread(
        partial(hub.tickets.actions.arrive, ticket_id, who.shown, who.scope, position)
    )
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
    photos = body.photos if body else []
    n = await asyncio.to_thread(
        hub.tickets.actions.resolve, ticket_id, who.shown, note, who.scope, photos
    )
    hub.dispatcher.submit([n])
    return n.ticket
