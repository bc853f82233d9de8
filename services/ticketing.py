"""The ticket side of a hub process, opened once and shared: database, ticket service,
rejection store and notification dispatcher.

Both processes need it — `gridwatch gateway` (rules open and update tickets) and `gridwatch api`
(crews acknowledge and resolve) — so it is built in one place from the same settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from domain.site import Registry
from services.db.engine import open_database
from services.db.rejections import RejectionStore
from services.notify.channel import Channel
from services.notify.dispatcher import Dispatcher
from services.notify.mqtt import MqttChannel
from services.notify.webhook import WebhookChannel
from services.tickets.service import DEFAULT_ACK_TIMEOUT_S, TicketService


class TicketingSettings(BaseSettings):
    """Where tickets live and where their notices go: `GRIDWATCH_*` environment variables,
    shared by every process that opens tickets (the API's settings extend these)."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore")

    db_url: str | None = Field(default=None, description="default sqlite:///./var/gridwatch.db")
    mqtt_url: str | None = Field(
        default=None, description="broker for ticket events on gridwatch/tickets/{grid}"
    )
    notify_client_id: str = ""
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str = ""
    ack_timeout_s: float = Field(default=DEFAULT_ACK_TIMEOUT_S, gt=0)


@dataclass(slots=True)
class Ticketing:
    engine: Engine
    tickets: TicketService
    rejections: RejectionStore
    dispatcher: Dispatcher


@asynccontextmanager
async def open_ticketing(
    config: TicketingSettings, registry: Registry, channels: Sequence[Channel] = ()
) -> AsyncIterator[Ticketing]:
    """Open the database (migrated to head) and the channels; close them in reverse order."""
    engine = await asyncio.to_thread(open_database, config.db_url)
    try:
        async with AsyncExitStack() as stack:
            chans: list[Channel] = list(channels)
            if config.mqtt_url:
                chans.append(
                    await stack.enter_async_context(
                        MqttChannel(config.mqtt_url, client_id=config.notify_client_id)
                    )
                )
            if config.webhook_urls:
                chans.append(
                    await stack.enter_async_context(
                        WebhookChannel(config.webhook_urls, config.webhook_secret, engine=engine)
                    )
                )
            rejections = await stack.enter_async_context(RejectionStore(engine))
            dispatcher = await stack.enter_async_context(Dispatcher(chans))
            yield Ticketing(
                engine=engine,
                tickets=TicketService(engine, registry, ack_timeout_s=config.ack_timeout_s),
                rejections=rejections,
                dispatcher=dispatcher,
            )
    finally:
        engine.dispose()
