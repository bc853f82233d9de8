"""Feeds the dashboard's live stream from the ticket timeline in the database.

Tickets change in whichever process acts — the gateway's rules open and escalate them, any API
process acknowledges and resolves — so each API process follows the `ticket_events` table
(one indexed query a second) rather than trusting in-process notifications it would only see
for its own actions. Every timeline event (comments and acknowledgements included) reaches
open pages within about a second, whatever process made it — as that one line and the ticket's
brief (services.tickets.schemas.LiveEvent), never the ticket's whole timeline.
"""

from __future__ import annotations

import asyncio
import logging

from services.api.events import EventHub
from services.tickets.service import TicketService

log = logging.getLogger(__name__)

POLL_S = 1.0


async def follow_ticket_events(
    tickets: TicketService, events: EventHub, poll_s: float = POLL_S
) -> None:
    """Publish each new timeline event to `events`; runs until cancelled."""
    last = await asyncio.to_thread(tickets.reads.last_event_id)
    while True:
        await asyncio.sleep(poll_s)
        try:
            last, lines = await asyncio.to_thread(tickets.reads.events_since, last)
        except Exception:  # a database hiccup: try again next time
            log.exception("reading new ticket events failed")
            continue
        for line in lines:
            events.publish(line.model_dump(mode="json"))
