"""What the end-to-end ticket tests share: a hub process (`gridwatch.hub`) running in the test's
event loop on real Mosquitto, InfluxDB and SQL, ways to publish to it and wait until it has
committed, and the tickets it opened, read back from the database the way the API would."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import topics
from domain.settings import Settings
from domain.site import Registry, Site
from gateway.service import Gateway
from gridwatch.hub import build_front, open_alarms, run_front
from gridwatch.settings import load_settings
from services.alarms import Alarms
from services.db.engine import make_engine
from services.rules.book import RuleBook
from services.tickets.reads import TicketFilter, TicketReads
from services.tickets.schemas import TicketPublic
from simulators.clock import SimClock
from simulators.device import Emission
from simulators.publisher import BrokerAddress, publish
from simulators.scenario import ExpectedTicket
from tests.harness import MOSQUITTO_MAX_QUEUED, InfluxDB, Mosquitto

START_TIMEOUT_S = 30.0
LEAD = MOSQUITTO_MAX_QUEUED // 2
"""How far `publish_paced` lets the publisher run ahead of the hub's commits: the broker drops
what it cannot queue for the hub, and a hub waiting for dropped messages just times out."""
BROKER_DROPPED = "Outgoing messages are being dropped"


@dataclass(frozen=True, slots=True)
class Services:
    """Where one test's hub runs: the shared servers plus this test's prefix, database names."""

    mosquitto: Mosquitto
    influxdb: InfluxDB
    topic_prefix: str
    influx_db: str
    db_url: str

    def gateway(self, client_id: str | None = None) -> Settings:
        """A hub's settings: this test's broker, InfluxDB, prefix and ticket database."""
        return load_settings(
            mqtt_url=self.mosquitto.url,
            influx_url=self.influxdb.url,
            influx_db=self.influx_db,
            topic_prefix=self.topic_prefix,
            batch_interval_s=0.1,
            mqtt_client_id=client_id or f"gw-{uuid.uuid4().hex[:8]}",
            db_url=self.db_url,
            notify_client_id=f"notify-{uuid.uuid4().hex[:8]}",
        )


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'tickets.db'}"


@dataclass
class Hub:
    """One running ingest process (gateway + rules + tickets) inside the test's event loop."""

    gateway: Gateway
    alarms: Alarms
    task: asyncio.Task[None]

    async def wait_committed(self, messages: int, timeout_s: float = 60.0) -> None:
        """Until the gateway has committed (stored, judged, acknowledged) `messages`."""
        async with asyncio.timeout(timeout_s):
            while self.gateway.committed < messages:
                if self.task.done():
                    self.task.result()  # raises what killed the process
                    raise AssertionError("the gateway stopped before committing everything")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if not self.task.done():
            self.gateway.stop()
        async with asyncio.timeout(30):
            await self.task


@asynccontextmanager
async def running_hub(
    settings: Settings, registry: Registry, rules: RuleBook
) -> AsyncIterator[Hub]:
    """Start the ingest process as `gridwatch gateway` composes it, wait until it is
    subscribed, stop it gracefully on exit."""
    async with open_alarms(settings, registry, rules) as runtime:
        gateway = build_front(settings, registry, runtime.sinks)
        assert isinstance(gateway, Gateway)
        task = asyncio.create_task(
            run_front(gateway, settings), name=f"hub {settings.mqtt.client_id}"
        )
        ready = asyncio.ensure_future(gateway.wait_ready())
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                either: set[asyncio.Future[Any]] = {task, ready}
                done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    task.result()
                    raise AssertionError("the hub returned before it was ready")
        except BaseException:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            ready.cancel()
        hub = Hub(gateway, runtime.alarms, task)
        try:
            yield hub
        finally:
            await hub.stop()


async def publish_all(emissions: Iterable[Emission], broker: Mosquitto, start: float) -> int:
    """Publish at full speed (the readings carry simulated time); returns the message count."""
    progress = await publish(
        emissions, BrokerAddress.parse(broker.url), clock=SimClock(start, speed=None)
    )
    return progress.messages


async def publish_paced(
    emissions: Iterable[Emission],
    broker: Mosquitto,
    start: float,
    hub: Hub,
    lead: int = LEAD,
    timeout_s: float = 120.0,
) -> int:
    """Like `publish_all`, but never more than `lead` messages ahead of what `hub` has committed.

    The publisher shares the test's process and event loop with the hub and outruns it; on a
    busy machine the hub fell more than the broker's queue behind, Mosquitto dropped the rest of
    the scenario and the test timed out waiting for it, whatever the code under test did."""
    chunk = max(1, lead // 2)
    emissions = iter(emissions)
    sent = 0
    while part := list(itertools.islice(emissions, chunk)):
        await hub.wait_committed(sent - chunk, timeout_s)  # at most one chunk still in the broker
        sent += await publish_all(part, broker, start)
    return sent


def broker_dropped(broker: Mosquitto) -> bool:
    """Whether the broker's log says it dropped messages queued for a slow client."""
    try:
        return BROKER_DROPPED in broker.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def reading(sensor_kind: str, sensor: str, prefix: str, ts: float, **values: float) -> Emission:
    """One JSON reading (contract §2) as an emission."""
    payload = json.dumps({"ts": ts, "values": values}).encode()
    return Emission(
        due=ts,
        topic=topics.telemetry(sensor_kind, sensor, prefix),
        payload=payload,
        sensor=sensor,
        readings=1,
    )


def tickets(db_url: str, registry: Registry) -> list[TicketPublic]:
    """Every ticket in the database, oldest first, with its whole timeline (paged through)."""
    engine = make_engine(db_url)
    try:
        reads = TicketReads(engine)
        found = [reads.get(b.id) for b in reads.find(TicketFilter(limit=1_000_000))]
        return sorted((_whole(reads, t) for t in found), key=lambda t: t.id)
    finally:
        engine.dispose()


def _whole(reads: TicketReads, t: TicketPublic) -> TicketPublic:
    events, before = list(t.events), t.events_next
    while before is not None:
        page = reads.events(t.id, before=before)
        events[:0] = page.events
        before = page.next
    return t.model_copy(update={"events": events, "events_next": None})


def describe(t: TicketPublic, start: float | None = None) -> str:
    """`sensor rule severity @+offset` for reports and failure messages."""
    opened = t.opened_at.timestamp() if t.opened_at else float("nan")
    when = f"+{(opened - start) / 3600:.2f}h" if start is not None else str(t.opened_at)
    return f"{t.sensor} {t.rule} {t.severity} opened {when}"


@dataclass(frozen=True, slots=True)
class Mismatch:
    missing: list[ExpectedTicket]
    unexpected: list[TicketPublic]
    wrong: list[tuple[ExpectedTicket, TicketPublic]]


def compare(
    expected: Sequence[ExpectedTicket], got: Sequence[TicketPublic], start: float
) -> Mismatch:
    """Pair each expectation with the ticket of its (sensor, rule); report the differences."""
    by_key: dict[tuple[str, str], list[TicketPublic]] = {}
    for t in got:
        by_key.setdefault((t.sensor, t.rule), []).append(t)
    missing: list[ExpectedTicket] = []
    wrong: list[tuple[ExpectedTicket, TicketPublic]] = []
    for x in expected:
        found = by_key.pop((x.sensor, x.rule), [])
        if not found:
            missing.append(x)
            continue
        t = found[0]
        opened = t.opened_at.timestamp() if t.opened_at else -1.0
        in_window = start + x.after <= opened and (x.before is None or opened <= start + x.before)
        if len(found) > 1 or t.severity != x.severity or not in_window:
            wrong.extend((x, f) for f in found)
    unexpected = [t for ts in by_key.values() for t in ts]
    return Mismatch(missing, unexpected, wrong)


def report(name: str, got: Sequence[TicketPublic], start: float, seconds: float) -> str:
    lines = [f"{name}: {len(got)} ticket(s) in {seconds:.1f} s"]
    lines += [f"  {describe(t, start)}" for t in got]
    return "\n".join(lines)


def explain(diff: Mismatch, start: float) -> str:
    """A failure message a reader can act on, times as hours after the scenario start."""
    lines = [f"missing: {x.sensor} {x.rule} {x.severity}" for x in diff.missing]
    lines += [f"unexpected: {describe(t, start)}" for t in diff.unexpected]
    lines += [
        f"wrong: expected {x.severity} within +{x.after / 3600:.2f}h..+"
        f"{(x.before or float('inf')) / 3600:.2f}h, got {describe(t, start)}"
        for x, t in diff.wrong
    ]
    return "\n".join(lines)


def small_site(tag: str, sensors: Sequence[tuple[str, str, str, int]]) -> Site:
    """A site of its own for one test: communities `c1-<tag>`, `c2-<tag>`, one grid each
    (`g1-<tag>`, `g2-<tag>`: ticket topics no other test shares), and `sensors` given as
    (id, kind, community 1 or 2 as "1"/"2", interval_s)."""
    communities = [
        {
            "id": f"c{n}-{tag}",
            "name": f"社区{n}",
            "supervisor": {"id": f"s{n}-{tag}", "name": f"主任{n}"},
            "grids": [
                {
                    "id": f"g{n}-{tag}",
                    "name": f"网格{n}",
                    "worker": {"id": f"w{n}-{tag}", "name": f"网格员{n}"},
                }
            ],
        }
        for n in (1, 2)
    ]
    return Site.model_validate(
        {
            "communities": communities,
            "sensors": [
                {"id": sid, "kind": kind, "grid": f"g{c}-{tag}", "interval_s": interval}
                for sid, kind, c, interval in sensors
            ],
        }
    )
