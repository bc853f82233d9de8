"""A test message to one channel, sent at once (not through the outbox): what `gridwatch notify
test CHANNEL_ID` does to show an operator the channel's own answer."""

from __future__ import annotations

import asyncio
import json
import time

from domain.channels import ChannelSpec
from services.notify.directory import Directory
from services.notify.message import Item, render
from services.notify.outcome import Outcome
from services.notify.senders import Senders


def probe_item(spec: ChannelSpec, public_url: str) -> Item:
    now = time.time_ns()
    return Item(
        event="test",
        severity="info",
        summary_zh=f"这是 GridWatch 发往通道 {spec.id} 的测试消息,收到即表示通道可用",
        summary_en=f"a GridWatch test message to channel {spec.id}: receiving it means it works",
        opened_at_ns=now,
        link=public_url,
        notice=json.dumps({"event": "test", "channel": spec.id, "at_ns": now}),
    )


async def send_probe(
    spec: ChannelSpec, directory: Directory, senders: Senders, public_url: str, timeout_s: float
) -> Outcome:
    message = render([probe_item(spec, public_url)], spec.lang, directory.tz)
    try:
        async with asyncio.timeout(timeout_s):
            return await senders.of(spec).send(message)
    except TimeoutError:
        return Outcome("retry", f"no answer in {timeout_s:g} s")
    finally:
        await senders.aclose()
