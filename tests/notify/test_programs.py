"""The channels for programs: a site `webhook` channel (signed as services.notify.webhook says,
checked by the shipped receiver) and an `mqtt` channel, one ticket event per message."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
from sqlalchemy import Engine

from domain import topics
from tests.harness import Mosquitto
from tests.notify.support import running, site, until
from tests.robots.server import WebhookReceiver


async def test_webhook_channel_is_signed_and_taken_once(engine: Engine) -> None:
    hook = WebhookReceiver(secret="s3cret", token="h1").start()
    try:
        reg = site(
            [{"id": "qp-hook", "type": "webhook", "url": hook.url, "secret": "s3cret",
              "grids": ["qp-g1"]}]
        )  # fmt: skip
        async with running(engine, reg) as hub:
            n = hub.open()
            hub.open("water-qp-01")
            await until(lambda: len(hook.received) == 2, what="two deliveries")
    finally:
        hook.stop()
    assert hook.answers == [{"ok": 0}, {"ok": 0}]
    first = hook.received[0].body
    assert first["event"] == "opened"
    assert first["ticket"]["id"] == n.ticket.id


async def test_mqtt_channel_publishes_the_ticket_event(
    engine: Engine, mosquitto: Mosquitto
) -> None:
    reg = site([{"id": "qp-mqtt", "type": "mqtt", "url": mosquitto.url, "grids": ["qp-g1"]}])
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe(topics.tickets("qp-g1"), qos=1)
        async with running(engine, reg) as hub:
            n = hub.open()
            async with asyncio.timeout(15):
                message = await anext(sub.messages)
            await until(lambda: hub.rows()[0].status == "sent")
    event = json.loads(bytes(message.payload))
    assert (event["event"], event["ticket"]["id"]) == ("opened", n.ticket.id)
