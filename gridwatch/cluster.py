"""The ingest process scaled out: `gateway.cluster.Cluster` worker processes on one `$share`
subscription, with the one rule engine, ticket service and rejection store in this process
(see gateway/cluster.py for why rule evaluation stays in one place)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from domain.site import Registry
from gateway.cluster import Cluster
from gateway.settings import GatewaySettings
from gridwatch.hub import RejectionFanOut, prepare_influx
from services.alarms import Alarms
from services.db.rule_state import SqlRuleStateStore
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.ticketing import TicketingSettings, open_ticketing


async def run_cluster(
    settings: GatewaySettings,
    ticketing: TicketingSettings,
    registry: Registry,
    rules: RuleBook,
    *,
    workers: int,
    on_ready: Callable[[Cluster, Alarms], None] | None = None,
) -> None:
    """Run `workers` gateway processes and the rules behind them until `Cluster.stop()`."""
    await prepare_influx(settings)
    if ticketing.mqtt_url is None:
        ticketing = ticketing.model_copy(update={"mqtt_url": settings.mqtt_url})
    async with open_ticketing(ticketing, registry) as t:
        store = SqlRuleStateStore(t.engine)
        engine = RuleEngine(
            rules, registry, started_ns=time.time_ns(), state=await asyncio.to_thread(store.load)
        )
        alarms = Alarms(engine, store, t.tickets, t.dispatcher, book=rules)
        cluster = Cluster(
            settings,
            registry,
            workers=workers,
            measurements=alarms,
            rejections=RejectionFanOut(t.rejections, alarms),
        )
        if on_ready is not None:
            on_ready(cluster, alarms)
        clock = asyncio.create_task(alarms.run_clock(), name="rules-clock")
        try:
            await cluster.run()
        finally:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)
