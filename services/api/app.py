"""`create_app(settings)`: the API as a FastAPI application.

Nothing happens at import or construction time beyond building routes: the lifespan opens the
database (migrating it to head), loads the site, builds the stores and the notification
channels, and closes them on the way down. Request handlers reach all of it through one typed
`Hub` (services.api.deps).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI

from domain.site import Registry, load_site
from services.api import errors
from services.api.hub import Hub
from services.api.metrics import registry_for
from services.api.readings import InfluxLastReadings, LastReadings, NoReadings
from services.api.routes import health, rejections, sensors, tickets
from services.api.settings import ApiSettings
from services.auth.tokens import TokenStore
from services.db.engine import open_database
from services.db.rejections import RejectionStore
from services.influx.client import InfluxQuery
from services.notify.channel import Channel
from services.notify.dispatcher import Dispatcher
from services.notify.mqtt import MqttChannel
from services.notify.webhook import WebhookChannel
from services.tickets.service import TicketService

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
TICK_INTERVAL_S = 30.0


async def _escalations(hub: Hub, interval_s: float) -> None:
    """Escalate unacknowledged tickets to supervisors (safe beside other hub processes)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            hub.dispatcher.submit(await asyncio.to_thread(hub.tickets.tick))
        except Exception:  # a database hiccup must not end the loop
            log.exception("escalation tick failed")


def create_app(
    settings: ApiSettings,
    *,
    registry: Registry | None = None,
    channels: Sequence[Channel] = (),
    routers: Sequence[APIRouter] = (),
    tick_interval_s: float = TICK_INTERVAL_S,
    on_start: Callable[[Hub], None] | None = None,
) -> FastAPI:
    """The API. `registry` overrides `settings.site`; `channels` are added to the MQTT and
    webhook channels that the settings name; `routers` are mounted under /api/v1 beside ours
    (e.g. trends); `on_start` sees the hub once it is built (the composition root uses it)."""
    holder: list[Hub] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Hub]]:
        reg = registry or Registry(await asyncio.to_thread(load_site, settings.site))
        engine = await asyncio.to_thread(open_database, settings.db_url)
        try:
            async with AsyncExitStack() as stack:
                chans: list[Channel] = list(channels)
                if settings.mqtt_url:
                    chans.append(await stack.enter_async_context(MqttChannel(settings.mqtt_url)))
                if settings.webhook_urls:
                    chans.append(
                        await stack.enter_async_context(
                            WebhookChannel(
                                settings.webhook_urls, settings.webhook_secret, engine=engine
                            )
                        )
                    )
                readings: LastReadings = NoReadings()
                if settings.influx_url:
                    influx = await stack.enter_async_context(
                        InfluxQuery(
                            settings.influx_url,
                            settings.influx_db,
                            token=settings.influx_token,
                            user=settings.influx_user,
                            password=settings.influx_password,
                        )
                    )
                    readings = InfluxLastReadings(influx)
                hub = Hub(
                    settings=settings,
                    engine=engine,
                    registry=reg,
                    tickets=TicketService(engine, reg, ack_timeout_s=settings.ack_timeout_s),
                    tokens=TokenStore(engine),
                    rejections=RejectionStore(engine),
                    dispatcher=await stack.enter_async_context(Dispatcher(chans)),
                    readings=readings,
                    metrics=registry_for(lambda: holder[0] if holder else None),
                )
                holder.append(hub)
                if on_start is not None:
                    on_start(hub)
                ticker = None
                if tick_interval_s > 0:
                    ticker = asyncio.create_task(
                        _escalations(hub, tick_interval_s), name="ticket-escalations"
                    )
                try:
                    yield {"hub": hub}
                finally:
                    if ticker is not None:
                        ticker.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await ticker
        finally:
            holder.clear()
            engine.dispose()

    app = FastAPI(
        title="GridWatch",
        version="0.1.0",
        summary="Sensor hub for community water, power, sewer and pond infrastructure",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    api = APIRouter(prefix=PREFIX)
    for r in (tickets.router, sensors.router, rejections.router, health.router, *routers):
        api.include_router(r)
    app.include_router(api)
    return app
