"""The two ways bench.noise runs the hub on a simulated clock: payloads straight into ingest
(`run_site`, rules work only) or published to a real Mosquitto and taken by the real gateway
into a real InfluxDB (`run_site_gateway`, the benchmark's default), into the same rules and
ticket service on SQLite; both answer the tickets as `Seen`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from bench.common import BROKER_EXTRA
from domain.measurement import Measurement, Rejection
from domain.site import Registry, Site
from gateway.front import Sinks
from gateway.ingest import IngestPolicy, ingest
from gateway.service import build_gateway
from gridwatch.settings import load_settings
from services.alarms import Alarms
from services.db.engine import open_database
from services.db.models import Ticket
from services.db.rule_state import SqlRuleStateStore
from services.notify.dispatcher import Dispatcher
from services.rules.book import RuleBook, default_rules_text
from services.rules.engine import RuleEngine
from services.tickets.service import TicketService
from simulators.device import Emission
from tests.harness import InfluxDB, Mosquitto

NS = 1_000_000_000


@dataclass(frozen=True)
class Seen:
    sensor: str
    rule: str
    opened_ns: int
    created_ns: int
    episodes: tuple[int, ...] = ()  # event times it opened and re-triggered (nobody resolves)


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


class _Hub(NamedTuple):
    """The rules and ticket side both runs share, on one SQLite file and the simulated clock."""

    registry: Registry
    engine: Engine
    clock: Clock
    store: SqlRuleStateStore
    rules: RuleEngine
    tickets: TicketService


def _hub(site: Site, db: Path, start_s: float, overrides: dict[str, Any] | None) -> _Hub:
    registry = Registry(site)
    engine = open_database(f"sqlite:///{db}")
    clock = Clock(int(start_s * NS))
    store = SqlRuleStateStore(engine)
    defaults = yaml.safe_load(default_rules_text())
    book = RuleBook(defaults, overrides, overrides_origin="bench.noise", registry=registry)
    rules = RuleEngine(book, registry, started_ns=clock.ns)
    return _Hub(registry, engine, clock, store, rules, TicketService(engine, registry, clock=clock))


async def run_site(
    site: Site,
    emissions: Iterable[Emission],
    start_s: float,
    db: Path,
    overrides: dict[str, Any] | None = None,
) -> tuple[list[Seen], int, float]:
    """Every emission through ingest -> rules -> tickets; the tickets, readings, seconds."""
    registry, engine, clock, store, rules, tickets = _hub(site, db, start_s, overrides)
    policy = IngestPolicy()
    readings = 0
    began = time.perf_counter()
    async with Dispatcher([]) as dispatcher:
        alarms = Alarms(rules, store, tickets, dispatcher, clock=clock)
        batch: list[Measurement] = []
        refused: list[Rejection] = []
        next_tick = clock.ns + 60 * NS
        for e in emissions:
            due = int(e.due * NS)
            while due >= next_tick:  # the gateway's batches and the hub's clock task
                clock.ns = next_tick
                await _flush(alarms, batch, refused)
                await alarms.tick()
                next_tick += 60 * NS
            clock.ns = due
            out = ingest(e.topic, e.payload, registry, due, policy)
            batch.extend(out.measurements)
            refused.extend(out.rejections)
            readings += len(out.measurements)
        await _flush(alarms, batch, refused)
    seconds = time.perf_counter() - began
    return _tickets_seen(engine), readings, seconds


async def run_site_gateway(
    site: Site,
    emissions: Iterable[Emission],
    start_s: float,
    work: Path,
    overrides: dict[str, Any] | None = None,
    step_s: int = 600,
) -> tuple[list[Seen], int, float]:
    """Every emission published (QoS 1) to a real Mosquitto and taken by the real `Gateway`
    (MQTT session, batcher, InfluxDB commit, ack after commit) into the same rules and ticket
    service as `run_site`. The hub clock is the simulated one, in lockstep with the broker:
    the publisher sends `step_s` of simulated time (a wait costs ~20 ms
    quiet, ~100 ms on a busy box), waits until the gateway has committed and
    handed it all to the rules, then the clock task's minute ticks of that step run. While the
    gateway hands a batch over, the clock reads its newest reading's time (live, a reading is
    judged the moment it arrives); a tick reads its own minute."""
    registry, engine, clock, store, rules, tickets = _hub(
        site, work / "site.db", start_s, overrides
    )
    with (
        Mosquitto(workdir=work / "mosquitto", config_extra=BROKER_EXTRA) as broker,
        InfluxDB(workdir=work / "influxdb") as influx,
    ):
        settings = load_settings(
            mqtt_url=f"mqtt://{broker.host}:{broker.port}",
            influx_url=influx.url,
            influx_db="noise",
            mqtt_client_id="noise-gateway",
            spool_dir=work / "spool",
            batch_interval_s=0.02,  # a step's messages in a few batches, not one each
        )
        publisher = _Publisher(broker.host, broker.port)
        readings = 0
        began = time.perf_counter()
        async with Dispatcher([]) as dispatcher:
            alarms = Alarms(rules, store, tickets, dispatcher, clock=clock)
            arrivals = _Arrivals(alarms, clock)
            gateway = build_gateway(settings, registry, Sinks(arrivals, alarms))
            running = asyncio.create_task(gateway.run(), name="gateway")
            await gateway.wait_ready()
            sent = 0
            next_tick = clock.ns + 60 * NS
            step_end = clock.ns + step_s * NS
            try:
                for e in emissions:
                    due = int(e.due * NS)
                    if due >= step_end:
                        # The step is in: its minutes tick (late by up to a step, which
                        # offline does not mind: the readings it waits for never came),
                        # and so do quiet minutes up to this emission.
                        await _settle(gateway, publisher, sent, running)
                        while next_tick <= due:
                            clock.ns = next_tick
                            await alarms.tick()
                            next_tick += 60 * NS
                        while due >= step_end:
                            step_end += step_s * NS
                    publisher.publish(e.topic, e.payload)
                    sent += 1
                    readings += e.readings if e.topic.endswith("/telemetry") else 0
                await _settle(gateway, publisher, sent, running)
            finally:
                gateway.stop()
                await running
                publisher.close()
        seconds = time.perf_counter() - began
    return _tickets_seen(engine), readings, seconds


class _Arrivals:
    """The measurement sink in front of the rules: the hub clock reads the newest reading's
    time while a batch is judged, as it would live."""

    def __init__(self, alarms: Alarms, clock: Clock) -> None:
        self.alarms = alarms
        self.clock = clock
        self.newest = clock.ns

    async def accept(self, measurements: Sequence[Measurement]) -> None:
        newest = max((m.ts_ns for m in measurements), default=self.newest)
        self.newest = max(self.newest, newest)
        self.clock.ns = max(self.clock.ns, newest)
        await self.alarms.accept(measurements)


class _Publisher:
    """One paho client publishing QoS 1 from its network thread; counts the broker's acks."""

    def __init__(self, host: str, port: int) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="noise-devices")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.acked = 0
        self._lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_publish(self, *_: Any) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _settle(
    gateway: Any, publisher: _Publisher, sent: int, running: asyncio.Task[None]
) -> None:
    """Until the broker acked every message sent and the gateway committed (and handed to
    the rules) as many; the gateway's failure ends the run."""
    deadline = time.monotonic() + 120
    while publisher.acked < sent or gateway.committed < sent:
        if running.done():
            running.result()
            raise RuntimeError("the gateway stopped")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"gateway committed {gateway.committed} of {sent} (acked {publisher.acked})"
            )
        await asyncio.sleep(0.001)


def _tickets_seen(engine: Any) -> list[Seen]:
    with Session(engine) as s:
        seen = [
            Seen(
                t.sensor,
                t.rule,
                t.opened_at_ns,
                t.created_at_ns,
                tuple(e.at_ns for e in t.events if e.kind in ("opened", "retriggered")),
            )
            for t in s.scalars(select(Ticket).options(selectinload(Ticket.events)))
        ]
    engine.dispose()
    return seen


async def _flush(alarms: Alarms, batch: list[Measurement], refused: list[Rejection]) -> None:
    if batch:
        await alarms.accept(batch)
        batch.clear()
    if refused:
        await alarms.record(refused)
        refused.clear()
