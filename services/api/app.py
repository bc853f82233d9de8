"""`create_app(settings)`: the API process as a FastAPI application — REST API under /api/v1,
trends, and the web dashboard at `/` with its live event stream.

Nothing happens at import or construction time beyond building routes: the lifespan opens the
ticket runtime (database migrated to head, stores, notification channels), the InfluxDB
queries and trends, and closes them on the way down. Request handlers reach all of it through
one typed `Hub` (services.api.deps).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from domain.site import Registry, load_site
from services.api import errors
from services.api.events import EventHub
from services.api.hub import Hub
from services.api.live import follow_ticket_events
from services.api.metrics import registry_for
from services.api.readings import InfluxLastReadings, LastReadings, NoReadings
from services.api.routes import health, maintenance, rejections, rules, sensors, tickets, trends
from services.api.settings import ApiSettings
from services.api.web import mount
from services.auth.tokens import TokenStore
from services.influx.client import InfluxQuery
from services.notify.channel import Channel
from services.ticketing import Ticketing, open_ticketing
from services.trends.service import Trends

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
    ticketing: Ticketing | None = None,
    channels: Sequence[Channel] = (),
    tick_interval_s: float = TICK_INTERVAL_S,
    live_poll_s: float = 1.0,
    web: bool = True,
    on_start: Callable[[Hub], None] | None = None,
    ingest_health: Callable[[], dict[str, Any] | None] | None = None,
) -> FastAPI:
    """The API. `registry` overrides `settings.site`; `ticketing` is a ticket runtime opened by
    the caller (one process running gateway and API shares it), else the lifespan opens one
    from the settings, adding `channels` to the MQTT and webhook channels they name;
    `on_start` sees the hub once it is built."""
    holder: list[Hub] = []
    events = EventHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Hub]]:
        reg = registry or Registry(await asyncio.to_thread(load_site, settings.site))
        async with AsyncExitStack() as stack:
            t = ticketing
            if t is None:
                t = await stack.enter_async_context(open_ticketing(settings, reg, channels))
            readings: LastReadings = NoReadings()
            trends_service: Trends | None = None
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
                try:
                    trends_service = await Trends.start(
                        influx, raw_duration=settings.influx_raw_retention
                    )
                except Exception:  # InfluxDB down at start: the ticket API still serves
                    log.exception("trends unavailable: could not set up InfluxDB retention")
            hub = Hub(
                settings=settings,
                engine=t.engine,
                registry=reg,
                tickets=t.tickets,
                tokens=TokenStore(t.engine),
                rejections=t.rejections,
                dispatcher=t.dispatcher,
                readings=readings,
                metrics=registry_for(lambda: holder[0] if holder else None),
                trends=trends_service,
                events=events,
                ingest_health=ingest_health,
            )
            holder.append(hub)
            if on_start is not None:
                on_start(hub)
            background: list[asyncio.Task[None]] = []
            if tick_interval_s > 0:
                background.append(
                    asyncio.create_task(
                        _escalations(hub, tick_interval_s), name="ticket-escalations"
                    )
                )
            if live_poll_s > 0:
                background.append(
                    asyncio.create_task(
                        follow_ticket_events(hub.tickets, events, live_poll_s),
                        name="live-ticket-events",
                    )
                )
            try:
                yield {"hub": hub}
            finally:
                events.close()
                for task in background:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                holder.clear()

    app = FastAPI(
        title="GridWatch",
        version="0.1.0",
        summary="Sensor hub for community water, power, sewer and pond infrastructure",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    api = APIRouter(prefix=PREFIX)
    for r in (tickets.router, sensors.router, rejections.router, health.router, trends.router):
        api.include_router(r)
    for r in (maintenance.router, rules.router):
        api.include_router(r)
    app.include_router(api)
    if web:
        mount(app, hub=events)
    return app
