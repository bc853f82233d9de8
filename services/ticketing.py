"""The ticket side of a hub process, opened once and shared: database, ticket service,
rejection store and notification dispatcher.

Both processes need it — `gridwatch gateway` (rules open and update tickets) and `gridwatch api`
(crews acknowledge and resolve) — so it is built in one place from the same settings.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.channels import ChannelType
from domain.settings import Settings
from domain.site import Registry
from services.db.engine import open_database
from services.db.rejections import RejectionStore
from services.notify.channel import Channel
from services.notify.directory import Directory, SiteDirectory
from services.notify.dispatcher import Dispatcher
from services.notify.mqtt import MqttChannel
from services.notify.notifier import Notifier
from services.notify.outbox import Outbox, OutboxConfig
from services.notify.senders import Senders
from services.notify.webhook import WebhookChannel
from services.registry.store import NoticeOutbox
from services.tickets.schemas import Notice
from services.tickets.service import TicketService


@dataclass(slots=True)
class Ticketing:
    engine: Engine
    tickets: TicketService
    rejections: RejectionStore
    dispatcher: Dispatcher
    outbox: Outbox | None = None
    notifier: Notifier | None = None
    registry_outbox: NoticeOutbox | None = None


def outbox_of(config: Settings, registry: Registry, directory: Directory) -> Outbox:
    n = config.notify
    return Outbox(
        directory,
        registry,
        OutboxConfig(
            public_url=n.public_url,
            group_window_s=n.group_window_s,
            lease_s=n.lease_s,
            retry_base_s=n.retry_base_s,
            retry_max_s=n.retry_max_s,
            max_attempts=n.max_attempts,
        ),
    )


def registry_outbox(config: Settings) -> NoticeOutbox:
    """What a registry change owes the chat channels (its moved and retired tickets'
    notices), routed by the version it commits: the new grid's channels, its worker named."""

    def enqueue(s: Session, registry: Registry, notices: Sequence[Notice]) -> None:
        outbox_of(config, registry, SiteDirectory(registry)).enqueue(s, notices)

    return enqueue


def rates_of(config: Settings) -> dict[ChannelType, int]:
    n = config.notify
    return {
        ChannelType.WECOM: n.rate_wecom_per_min,
        ChannelType.DINGTALK: n.rate_dingtalk_per_min,
        ChannelType.FEISHU: n.rate_feishu_per_min,
    }


def senders_of(config: Settings) -> Senders:
    n = config.notify
    smtp = n.smtp_url.get_secret_value() if n.smtp_url else None
    tls = ssl.create_default_context(cafile=str(n.smtp_ca_file)) if n.smtp_ca_file else None
    return Senders(smtp, n.smtp_from, timeout_s=n.send_timeout_s, smtp_tls=tls)


@asynccontextmanager
async def open_ticketing(
    config: Settings,
    registry: Registry,
    channels: Sequence[Channel] = (),
    *,
    directory: Directory | None = None,
    notifier: bool = True,
) -> AsyncIterator[Ticketing]:
    """Open the database (migrated to head) and the channels; close them in reverse order.
    Ticket events go to `config.notice_url` (notify.mqtt_url, else the readings' broker).
    The registry's notification channels (`directory`, else the site file's) are owed their
    notices in the outbox; with `notifier` this process also runs their workers."""
    notify = config.notify
    where = directory if directory is not None else SiteDirectory(registry)
    engine = await asyncio.to_thread(open_database, config.db.url)
    try:
        async with AsyncExitStack() as stack:
            chans: list[Channel] = list(channels)
            if config.notice_url:
                chans.append(
                    await stack.enter_async_context(
                        MqttChannel(config.notice_url, client_id=notify.client_id)
                    )
                )
            if notify.webhook_urls:
                secret = notify.webhook_secret.get_secret_value() if notify.webhook_secret else ""
                chans.append(
                    await stack.enter_async_context(
                        WebhookChannel(notify.webhook_urls, secret, engine=engine)
                    )
                )
            rejections = await stack.enter_async_context(RejectionStore(engine))
            outbox = outbox_of(config, registry, where)
            workers: Notifier | None = None
            if notifier:
                workers = await stack.enter_async_context(
                    Notifier(
                        engine,
                        outbox,
                        where,
                        senders_of(config),
                        rates=rates_of(config),
                        poll_s=notify.poll_s,
                        send_timeout_s=notify.send_timeout_s,
                    )
                )
            dispatcher = await stack.enter_async_context(
                Dispatcher(chans, wake=workers.wake if workers else None)
            )
            yield Ticketing(
                engine=engine,
                tickets=TicketService(
                    engine,
                    registry,
                    ack_timeout_s=notify.ack_timeout_s,
                    outbox=outbox.enqueue,
                    chained=lambda c: bool(where.chain(c)),
                ),
                rejections=rejections,
                dispatcher=dispatcher,
                outbox=outbox,
                notifier=workers,
                registry_outbox=registry_outbox(config),
            )
    finally:
        engine.dispose()
