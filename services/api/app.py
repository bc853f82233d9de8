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

from adapters.influx.query import InfluxQuery
from domain.settings import Settings
from domain.site import Registry
from services.api import errors
from services.api.events import EventHub
from services.api.hub import Hub
from services.api.live import follow_ticket_events
from services.api.metrics import registry_for
from services.api.readings import InfluxLastReadings, LastReadings, NoReadings
from services.api.routes import (
    health,
    maintenance,
    me,
    notify,
    photos,
    rejections,
    residents,
    rules,
    sensors,
    signin,
    tickets,
    trends,
)
from services.api.routes import registry as registry_routes
from services.api.security import AuthBeforeBody, SecuredApp
from services.api.web import mount
from services.auth.tokens import TokenStore
from services.notify.channel import Channel
from services.registry.changes import RegistryEmpty
from services.registry.logins import DeviceLogins
from services.registry.runtime import attach, open_registry
from services.registry.watcher import POLL_S, RegistryWatcher
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
    settings: Settings,
    *,
    registry: Registry | None = None,
    ticketing: Ticketing | None = None,
    channels: Sequence[Channel] = (),
    tick_interval_s: float = TICK_INTERVAL_S,
    live_poll_s: float = 1.0,
    web: bool = True,
    on_start: Callable[[Hub], None] | None = None,
    ingest_health: Callable[[], dict[str, Any] | None] | None = None,
    logins: DeviceLogins | None = None,
    registry_poll_s: float = POLL_S,
) -> FastAPI:
    """The API. `registry` overrides `settings.site`; `ticketing` is a ticket runtime opened by
    the caller (one process running gateway and API shares it), else the lifespan opens one
    from the settings, adding `channels` to the MQTT and webhook channels they name;
    `on_start` sees the hub once it is built. The registry follows the database (a watcher
    polling every `registry_poll_s`, 0: never); `logins` sets new sensors' broker logins."""
    holder: list[Hub] = []
    events = EventHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Hub]]:
        reg = registry
        if reg is None:
            # The database's registry, seeded from the site file when it holds none.
            try:
                reg = await asyncio.to_thread(open_registry, settings.db.url, settings.site)
            except RegistryEmpty as e:
                raise ValueError(f"the API needs a site registry: {e}") from None
        async with AsyncExitStack() as stack:
            t = ticketing
            if t is None:
                # The API's own broker login (GRIDWATCH_API_MQTT_URL), not the gateway notifier's.
                api_side = settings.replace(notify_mqtt_url=settings.api_notice_url)
                t = await stack.enter_async_context(open_ticketing(api_side, reg, channels))
            readings: LastReadings = NoReadings()
            trends_service: Trends | None = None
            if settings.influx.url:
                influx = await stack.enter_async_context(
                    InfluxQuery(
                        settings.influx.url,
                        settings.influx.db,
                        token=settings.influx.token_value,
                        user=settings.influx.user,
                        password=settings.influx.password_value,
                    )
                )
                readings = InfluxLastReadings(influx)
                try:
                    trends_service = await Trends.start(
                        influx, raw_duration=settings.influx.raw_retention
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
                notifier=t.notifier,
            )
            hub.store = await asyncio.to_thread(attach, t.engine, reg, t.registry_outbox)
            hub.watcher = RegistryWatcher(hub.store, reg, poll_s=registry_poll_s)
            hub.logins = logins
            holder.append(hub)
            if trends_service is not None:  # indicators scope by placement history
                trends_service.registry_store = hub.store
            if on_start is not None:
                on_start(hub)
            background: list[asyncio.Task[None]] = []
            if registry_poll_s > 0:
                background.append(asyncio.create_task(hub.watcher.run(), name="registry-watch"))
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
                close = getattr(logins, "close", None)  # the broker client, if it holds one
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close()
                holder.clear()

    app = SecuredApp(
        title="GridWatch",
        version="0.1.0",
        summary="Sensor hub for community water, power, sewer and pond infrastructure",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN on the token's origin
        redoc_url=None,
        max_body_size=settings.api.max_body_bytes,
    )
    app.add_middleware(AuthBeforeBody)
    errors.install(app)
    api = APIRouter(prefix=PREFIX)
    for r in (
        tickets.router,
        sensors.router,
        rejections.router,
        health.router,
        trends.router,
        maintenance.router,
        rules.router,
        me.router,
        notify.router,
        photos.router,
        signin.router,
        residents.router,
        signin.public,  # /public/…: no token (security.PUBLIC_PREFIX)
        residents.public,
        registry_routes.router,
    ):
        api.include_router(r)
    app.include_router(api)
    if web:
        mount(app, hub=events)
    return app
