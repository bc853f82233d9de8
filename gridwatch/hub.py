"""How the hub's parts are put together into processes.

`run_gateway` is the ingest process: the gateway (MQTT → validated measurements → InfluxDB)
with the rule engine and ticket service behind it as its sinks. The API process is
`services.api.app.create_app`. `gridwatch up` runs both in one event loop; deployments that
scale out run them as separate processes on the same settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from domain.measurement import Rejection
from domain.ports import RejectionSink
from domain.site import Registry
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway, build_gateway
from gateway.settings import GatewaySettings
from services.alarms import Alarms
from services.db.rule_state import SqlRuleStateStore
from services.influx.client import InfluxQuery
from services.influx.errors import InfluxError
from services.influx.retention import ensure_retention
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.ticketing import Ticketing, TicketingSettings, open_ticketing

log = logging.getLogger("gridwatch.hub")


class RejectionFanOut:
    """One RejectionSink that hands every rejection to several (the store, the rules)."""

    def __init__(self, *sinks: RejectionSink) -> None:
        self.sinks = sinks

    async def record(self, rejections: Sequence[Rejection]) -> None:
        for sink in self.sinks:
            await sink.record(rejections)


async def prepare_influx(settings: GatewaySettings, attempts: int | None = None) -> None:
    """Create the database, its retention policies and hourly rollups (idempotent), so the
    gateway writes where the trends read; retries while InfluxDB is unreachable (`attempts`
    times, or until it answers)."""
    token = settings.influx_token.get_secret_value() if settings.influx_token else None
    password = settings.influx_password.get_secret_value() if settings.influx_password else None
    attempt = 0
    while True:
        attempt += 1
        try:
            async with InfluxQuery(
                settings.influx_url, settings.influx_db, token, settings.influx_user, password
            ) as q:
                await ensure_retention(q, settings.influx_db, settings.influx_raw_retention)
            return
        except InfluxError as e:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning("InfluxDB not ready for the retention setup (%s); retrying", e)
            await asyncio.sleep(min(30.0, attempt))


async def run_gateway(
    settings: GatewaySettings,
    ticketing: TicketingSettings,
    registry: Registry,
    rules: RuleBook,
    *,
    metrics: GatewayMetrics | None = None,
    on_ready: Callable[[Gateway, Alarms], None] | None = None,
) -> None:
    """Run the ingest process until its gateway is stopped (`on_ready` receives it).

    The gateway starts at once even when InfluxDB is down (it spools); the retention setup
    keeps trying beside it."""
    if ticketing.mqtt_url is None:  # ticket events go to the broker the readings come from
        ticketing = ticketing.model_copy(update={"mqtt_url": settings.mqtt_url})
    async with open_ticketing(ticketing, registry) as t:
        await serve_gateway(settings, t, registry, rules, metrics=metrics, on_ready=on_ready)


async def serve_gateway(
    settings: GatewaySettings,
    ticketing: Ticketing,
    registry: Registry,
    rules: RuleBook,
    *,
    metrics: GatewayMetrics | None = None,
    on_ready: Callable[[Gateway, Alarms], None] | None = None,
) -> None:
    """The gateway with the rule engine behind it, on a ticket runtime that is already open
    (shared with the API when both run in one process, as in `gridwatch up`)."""
    t = ticketing
    store = SqlRuleStateStore(t.engine)
    engine = RuleEngine(
        rules, registry, started_ns=time.time_ns(), state=await asyncio.to_thread(store.load)
    )
    alarms = Alarms(engine, store, t.tickets, t.dispatcher, book=rules)
    gateway = build_gateway(
        settings,
        registry,
        measurements=alarms,
        rejections=RejectionFanOut(t.rejections, alarms),
        metrics=metrics,
    )
    if on_ready is not None:
        on_ready(gateway, alarms)
    background = [
        asyncio.create_task(alarms.run_clock(), name="rules-clock"),
        asyncio.create_task(prepare_influx(settings), name="influx-retention"),
    ]
    try:
        await gateway.run()
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
