"""A hub's notification side on a real database, pointed at the local robot and SMTP servers."""

from __future__ import annotations

import asyncio
import copy
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.breach import Change, Severity
from domain.site import Registry, parse_site
from services.db.models import OutboxRow, TicketEvent
from services.notify.directory import SiteDirectory
from services.notify.notifier import Notifier
from services.notify.outbox import Outbox, OutboxConfig
from services.notify.senders import Senders
from services.tickets.schemas import Notice
from services.tickets.service import TicketService
from tests.services.tickets.site import SITE, T0, low_do

PUBLIC = "https://gw.example.org"
WORKER_PHONE = "138-0000-0017"
SUPERVISOR_PHONE = "138-0000-0003"


def outbox_row(
    ticket_id: int,
    channel: str,
    status: str,
    attempts: int,
    at_ns: int,
    *,
    due_ns: int | None = None,
    error: str = "",
) -> OutboxRow:
    """An `opened` notice owed to `channel` as the outbox holds it after its last attempt at
    `at_ns` (done then, unless still pending)."""
    return OutboxRow(
        channel=channel,
        ticket_id=ticket_id,
        event="opened",
        severity="critical",
        payload="{}",
        status=status,
        attempts=attempts,
        created_at_ns=at_ns,
        due_at_ns=at_ns if due_ns is None else due_ns,
        done_at_ns=None if status == "pending" else at_ns,
        last_error=error,
    )


def notified_line(ticket_id: int, at_ns: int, note: str) -> TicketEvent:
    """A `notified` line of the ticket's timeline as the notifier writes it (`note`: from
    services.notify.deliveries.attempt_note)."""
    return TicketEvent(
        ticket_id=ticket_id,
        kind="notified",
        actor="hub",
        at_ns=at_ns,
        recorded_at_ns=at_ns,
        note=note,
    )


def site(
    channels: list[dict[str, Any]],
    *,
    escalation: list[dict[str, Any]] | None = None,
    sensors: int = 0,
) -> Registry:
    """The ticket tests' site with phones, `channels`, a site-wide chain, and `sensors` extra
    pond sensors in grid qp-g1 (pond-qp-b00 …) for bursts."""
    data = copy.deepcopy(SITE)
    qp = data["communities"][0]
    qp["supervisor"]["phone"] = SUPERVISOR_PHONE
    qp["grids"][0]["worker"]["phone"] = WORKER_PHONE
    qp["grids"][1]["worker"]["phone"] = "138-0000-0018"
    for i in range(sensors):
        data["sensors"].append(
            {"id": f"pond-qp-b{i:02d}", "kind": "pond", "grid": "qp-g1", "asset": f"检查井{i:02d}"}
        )
    data["channels"] = channels
    if escalation is not None:
        data["escalation"] = escalation
    return Registry(parse_site(data))


@dataclass
class Runtime:
    tickets: TicketService
    outbox: Outbox
    notifier: Notifier
    engine: Engine

    def open(self, sensor: str = "pond-qp-01", severity: Severity = Severity.CRITICAL) -> Notice:
        """A new ticket at `sensor` (a dissolved-oxygen breach)."""
        notices = self.tickets.apply(
            low_do(Change.RAISED, T0 + 60 * 10**9, sensor=sensor, severity=severity)
        )
        self.notifier.wake()
        return notices[0]

    def open_many(self, sensors: list[str]) -> list[Notice]:
        """New tickets at `sensors`, in one batch (as one gateway batch applies them)."""
        notices = self.tickets.apply_all(
            [low_do(Change.RAISED, T0 + 60 * 10**9, sensor=s) for s in sensors]
        )
        self.notifier.wake()
        return notices

    def rows(self, channel: str | None = None) -> list[OutboxRow]:
        with Session(self.engine) as s:
            q = select(OutboxRow).order_by(OutboxRow.id)
            if channel is not None:
                q = q.where(OutboxRow.channel == channel)
            return list(s.scalars(q))

    def notified(self, ticket_id: int) -> list[str]:
        """The notes of a ticket's `notified` lines, oldest first."""
        with Session(self.engine) as s:
            return list(
                s.scalars(
                    select(TicketEvent.note)
                    .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "notified")
                    .order_by(TicketEvent.id)
                )
            )


@asynccontextmanager
async def running(
    engine: Engine,
    registry: Registry,
    *,
    window_s: float = 0.3,
    retry_base_s: float = 0.1,
    max_attempts: int = 6,
    send_timeout_s: float = 2.0,
    smtp_url: str | None = None,
    smtp_tls: ssl.SSLContext | None = None,
    clock: Callable[[], int] = time.time_ns,
    ack_timeout_s: float = 1800.0,
) -> AsyncIterator[Runtime]:
    directory = SiteDirectory(registry)
    outbox = Outbox(
        directory,
        registry,
        OutboxConfig(
            public_url=PUBLIC,
            group_window_s=window_s,
            lease_s=30.0,
            retry_base_s=retry_base_s,
            retry_max_s=1.0,
            max_attempts=max_attempts,
        ),
        clock=clock,
    )
    tickets = TicketService(
        engine,
        registry,
        outbox=outbox.enqueue,
        chained=lambda c: bool(directory.chain(c)),
        ack_timeout_s=ack_timeout_s,
    )
    senders = Senders(
        smtp_url, "gridwatch@example.org", timeout_s=send_timeout_s, smtp_tls=smtp_tls
    )
    async with Notifier(
        engine,
        outbox,
        directory,
        senders,
        poll_s=0.02,
        send_timeout_s=send_timeout_s,
        refresh_s=0.05,
    ) as notifier:
        yield Runtime(tickets, outbox, notifier, engine)


async def until(check: Callable[[], bool], timeout_s: float = 15.0, what: str = "") -> float:
    """Wait until `check()` holds; returns the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what or check}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def settle(s: float = 0.5) -> None:
    await asyncio.sleep(s)


Waiter = Callable[[], Awaitable[None]]
