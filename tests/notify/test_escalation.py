"""Escalation chains: a ticket nobody acknowledges goes to the next person on the same channels,
mentioned by mobile; an acknowledgement stops the chain; the chain survives a restart."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.db.models import EscalationRow, TicketEvent
from tests.notify.support import running, site, until
from tests.robots.server import WeComRobot


def mobiles(robot: WeComRobot) -> list[list[str]]:
    return [r.body.get("text", {}).get("mentioned_mobile_list", []) for r in robot.received]


def wecom_channel(robot: WeComRobot) -> dict[str, object]:
    return {
        "id": "esc-wecom",
        "type": "wecom",
        "url": robot.url,
        "grids": ["qp-g1"],
        "group_window_s": 0,
    }


async def test_an_acknowledgement_stops_the_chain(engine: Engine, wecom: WeComRobot) -> None:
    reg = site(
        [wecom_channel(wecom)],
        escalation=[{"after": "1s", "notify": "supervisor"}, {"after": 2.5, "notify": "w-018"}],
    )
    async with running(engine, reg) as hub:
        n = hub.open()
        await until(lambda: len(wecom.received) == 1)
        assert mobiles(wecom) == [["13800000017"]]  # the grid worker
        took = await until(lambda: len(wecom.received) == 2, what="step 1")
        assert took > 0.5
        assert mobiles(wecom)[1] == ["13800000003"]  # the supervisor
        text = wecom.received[1].body["text"]["content"]
        assert "无人确认" in text
        assert "周红" in text
        hub.tickets.actions.acknowledge(n.ticket.id, "li-ming", None)
        hub.notifier.wake()
        await asyncio.sleep(2.5)  # past step 2's time
    assert len(wecom.received) == 3  # the ack line, and no step 2
    assert "已确认" in wecom.received[2].body["markdown"]["content"]
    with Session(engine) as s:
        steps = s.scalars(select(EscalationRow.step)).all()
        lines = s.scalars(
            select(TicketEvent.note).where(TicketEvent.kind == "escalated_to_supervisor")
        ).all()
    assert steps == [0]
    assert lines == ["第 1 级 / step 1: 周红 (s-003)"]


async def test_the_chain_survives_a_restart(engine: Engine, wecom: WeComRobot) -> None:
    reg = site([wecom_channel(wecom)], escalation=[{"after": "3s", "notify": "supervisor"}])
    async with running(engine, reg) as hub:
        opened = time.monotonic()
        hub.open()
        await until(lambda: len(wecom.received) == 1)
    assert len(wecom.received) == 1  # the hub stopped before the step was due
    await asyncio.sleep(0.5)  # the hub is down; the step may fall due meanwhile
    async with running(engine, reg) as hub:  # a new process: the chain re-armed from SQL
        await until(lambda: len(wecom.received) == 2, what="the step after the restart")
        assert time.monotonic() - opened >= 3.0  # not before its `after` (a slow box only adds)
        await asyncio.sleep(1.0)
    assert mobiles(wecom)[1] == ["13800000003"]
    assert len(wecom.received) == 2
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EscalationRow)) == 1


async def test_a_chain_replaces_the_single_timeout_escalation(
    engine: Engine, wecom: WeComRobot
) -> None:
    reg = site([wecom_channel(wecom)], escalation=[{"after": "1h", "notify": "supervisor"}])
    async with running(engine, reg, ack_timeout_s=1) as hub:
        hub.open()
        assert hub.tickets.tick(time.time_ns() + 10**12) == []  # the chain's, not tick's
