"""Closing the notifier ends its workers, even when it is woken in the same instant — Python
3.11's `wait_for` returned the wake-up and swallowed the close's cancel there, so a worker ran
on and the close waited forever (seen in CI as a 300 s hang)."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from tests.notify.support import running, site
from tests.notify.test_channels import channel
from tests.robots.server import WeComRobot


async def test_a_close_right_after_a_wake_up_ends_every_worker(
    engine: Engine, wecom: WeComRobot
) -> None:
    reg = site([channel("qp-wc", "wecom", wecom.url), channel("qp-wc2", "wecom", wecom.url)])
    for _ in range(5):
        async with asyncio.timeout(10):
            async with running(engine, reg) as hub:
                await asyncio.sleep(0.2)  # every worker is waiting for work
                workers = list(hub.notifier._workers.values())
                hub.notifier.wake()
        assert len(workers) == 2
        assert all(t.done() for t in workers)
