"""How the hub's ingest is put together into a process — one composition for `gridwatch up`,
`gridwatch gateway [--workers N]`, the benchmarks and the tests.

    async with open_alarms(settings, registry, rules) as alarms:       # rules, tickets
        front = build_front(settings, registry, alarms.sinks, workers)  # Gateway or Cluster
        await run_front(front, settings)                                 # until front.stop()

The front is a `Gateway` in this process (workers = 1) or a `Cluster` of worker processes
feeding this one (gateway/cluster.py); both take their committed batches to the same sinks
and start while InfluxDB is down (they spool). The API process is
`services.api.app.create_app`; `gridwatch up` runs both in one event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from adapters import heap
from adapters.influx.errors import InfluxError
from adapters.influx.query import InfluxQuery
from adapters.influx.retention import ensure_retention
from domain.endpoints import DEFAULT_MQTT_URL
from domain.measurement import Rejection
from domain.ports import RejectionSink
from domain.settings import Settings
from domain.site import Registry
from gateway.cluster import Cluster
from gateway.front import Front, Sinks
from gateway.metrics import GatewayMetrics
from gateway.service import build_gateway
from gridwatch.registryfeed import DbRegistryFeed
from services.alarms import Alarms
from services.db.rule_state import SqlRuleStateStore
from services.registry.runtime import attach
from services.registry.watcher import POLL_S, RegistryWatcher
from services.rules.book import RuleBook
from services.rules.engine import RuleEngine
from services.rules.overrides import RuleError
from services.ticketing import Ticketing, open_ticketing

log = logging.getLogger("gridwatch.hub")


class RejectionFanOut:
    """One RejectionSink that hands every rejection to several (the store, the rules)."""

    def __init__(self, *sinks: RejectionSink) -> None:
        self.sinks = sinks

    async def record(self, rejections: Sequence[Rejection]) -> None:
        for sink in self.sinks:
            await sink.record(rejections)


@dataclass(frozen=True, slots=True)
class AlarmRuntime:
    """The rule engine (behind `Alarms`) on an open ticket runtime."""

    alarms: Alarms
    ticketing: Ticketing
    watcher: RegistryWatcher

    @property
    def sinks(self) -> Sinks:
        """Where a front hands committed batches: the rules, and the rejection store too."""
        return Sinks(self.alarms, RejectionFanOut(self.ticketing.rejections, self.alarms))


@asynccontextmanager
async def open_alarms(
    settings: Settings,
    registry: Registry,
    rules: RuleBook,
    *,
    ticketing: Ticketing | None = None,
    registry_poll_s: float = POLL_S,
) -> AsyncIterator[AlarmRuntime]:
    """The rule engine with its persisted state, on the ticket runtime, and its clock ticking
    (offline and `for` durations) until the block ends. The ticket runtime is opened here from
    `settings` (ticket events go to the readings' broker unless another is named) unless one
    already open is given, as `gridwatch up` shares one with the API.

    The registry is the database's (seeded from `registry`'s site when the database holds
    none) and follows it: a watcher swaps each committed version in and the engine follows
    it (new sensors, moves keeping their state, retired sensors' state dropped)."""
    async with AsyncExitStack() as stack:
        t = ticketing
        if t is None:
            t = await stack.enter_async_context(
                open_ticketing(with_notice_broker(settings), registry)
            )
        registry_store = await asyncio.to_thread(attach, t.engine, registry)
        try:
            rules.follow(registry)  # the registry's per-sensor rule patches
        except RuleError as e:
            log.error("a sensor's rules in the registry cannot be used: %s", e)
        store = SqlRuleStateStore(t.engine)
        with heap.paused():  # a bulk build: every sensor's state, nothing to collect
            state = await asyncio.to_thread(store.load)
            engine = RuleEngine(rules, registry, started_ns=time.time_ns(), state=state)
            del state
        alarms = Alarms(engine, store, t.tickets, t.dispatcher, book=rules)
        watcher = RegistryWatcher(
            registry_store,
            registry,
            poll_s=registry_poll_s,
            listeners=(lambda _old, new: follow(rules, engine, new),),
        )
        tasks = [
            asyncio.create_task(alarms.run_clock(), name="rules-clock"),
            asyncio.create_task(watcher.run(), name="registry-watch"),
        ]
        try:
            yield AlarmRuntime(alarms, t, watcher)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def follow(rules: RuleBook, engine: RuleEngine, registry: Registry) -> None:
    """A new registry version in the rules process: the book takes its sensors' rule patches
    (a patch it cannot use is logged and the sensor keeps its rules), then the engine."""
    try:
        rules.follow(registry)
    except RuleError as e:
        log.error("registry version %d: a sensor's rules cannot be used: %s", registry.version, e)
    engine.follow(registry)


def with_notice_broker(settings: Settings) -> Settings:
    """Ticket events go to the broker the readings come from unless another is named."""
    if settings.notice_url is not None:
        return settings
    return settings.replace(notify_mqtt_url=DEFAULT_MQTT_URL)


def build_front(
    settings: Settings,
    registry: Registry,
    sinks: Sinks,
    workers: int = 1,
    *,
    metrics: GatewayMetrics | None = None,
) -> Front:
    """The ingest front: a Gateway in this process for one worker, else a Cluster of
    `workers` gateway processes on a `$share` subscription feeding `sinks` here. A single
    gateway shares `registry` with the rules (their watcher keeps it live); each worker of a
    cluster follows the database itself."""
    if workers > 1:
        feed = DbRegistryFeed(settings.db.url)
        return Cluster(settings, registry, sinks, workers=workers, feed=feed)
    return build_gateway(settings, registry, sinks, metrics=metrics)


async def run_front(front: Front, settings: Settings) -> None:
    """Run `front` until it is stopped, with InfluxDB's retention setup retrying beside it:
    the front does not wait for InfluxDB (it spools), in one process or many."""
    setup = asyncio.create_task(_retention_setup(settings), name="influx-retention")
    try:
        await front.run()
    finally:
        setup.cancel()
        await asyncio.gather(setup, return_exceptions=True)


async def _retention_setup(settings: Settings) -> None:
    try:
        await prepare_influx(settings)
    except Exception:  # a configuration error: say so now, not at shutdown; ingest goes on
        log.exception("InfluxDB retention setup failed; readings are still written")


async def prepare_influx(settings: Settings, attempts: int | None = None) -> None:
    """Create the database, its retention policies and hourly rollups (idempotent), so the
    gateway writes where the trends read; retries while InfluxDB is unreachable (`attempts`
    times, or until it answers)."""
    influx = settings.influx
    attempt = 0
    while True:
        attempt += 1
        try:
            async with InfluxQuery(
                influx.url_or_default,
                influx.db,
                influx.token_value,
                influx.user,
                influx.password_value,
            ) as q:
                await ensure_retention(q, influx.db, influx.raw_retention)
            return
        except InfluxError as e:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning("InfluxDB not ready for the retention setup (%s); retrying", e)
            await asyncio.sleep(min(30.0, attempt))
