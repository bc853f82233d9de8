"""What the InfluxDB fault tests share: a small site, a gateway running in the background with
its own spool, a QoS 1 publisher, exact counts from InfluxDB, and a TCP proxy that delays
every request (a slow InfluxDB)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from domain.settings import Settings
from domain.site import Registry, parse_site
from gateway.front import Sinks
from gateway.service import Gateway, build_gateway
from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
from gridwatch.settings import load_settings
from tests.harness import InfluxDB, Mosquitto

SITE: dict[str, Any] = {
    "communities": [
        {
            "id": "comm-a",
            "name": "A",
            "supervisor": {"id": "sup-a", "name": "S"},
            "grids": [{"id": "grid-a1", "name": "A1", "worker": {"id": "wrk-a", "name": "W"}}],
        }
    ],
    "sensors": [{"id": f"pond-{i:02d}", "kind": "pond", "grid": "grid-a1"} for i in range(10)]
    + [{"id": "power-01", "kind": "power", "grid": "grid-a1"}],
}
T0 = int(time.time()) - 7200
"""Device time of reading 0: two hours ago, one second apart, so every reading is its own
point and a redelivered one overwrites itself."""


def reading(i: int) -> tuple[str, bytes]:
    """Reading i: pond sensor i % 10 at T0 + i // 10 (so (sensor, time) is unique per i)."""
    sensor = f"pond-{i % 10:02d}"
    body = {"ts": T0 + i // 10, "seq": i, "values": {"do": 5.0 + (i % 7) * 0.1, "ph": 7.0}}
    return f"sensors/pond/{sensor}/telemetry", json.dumps(body).encode()


def readings(start: int, n: int, prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for i in range(start, start + n):
        topic, payload = reading(i)
        out.append((topic.replace("sensors", prefix, 1), payload))
    return out


async def publish(broker: Mosquitto, messages: Sequence[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client(broker.host, broker.port, max_queued_outgoing_messages=0) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


async def count(influx: InfluxDB, db: str, field: str = "do", kind: str = "pond") -> int:
    """Distinct points holding `field` (InfluxDB keeps one per series and time)."""
    async with httpx.AsyncClient(base_url=influx.url, timeout=10) as http:
        r = await http.get("/query", params={"db": db, "q": f'SELECT count("{field}") FROM {kind}'})  # noqa: S608 - our own names
    result = r.json()["results"][0]
    series = result.get("series")
    return int(series[0]["values"][0][1]) if series else 0


def settings_for(
    broker: Mosquitto, influx_url: str, prefix: str, db: str, spool: Path, **extra: Any
) -> Settings:
    defaults: dict[str, Any] = {
        "batch_interval_s": 0.1,
        "mqtt_client_id": f"gw-{uuid.uuid4().hex[:8]}",
        "influx_timeout_s": 2.0,
        "influx_retry_budget_s": 0.5,
    }
    return load_settings(
        mqtt_url=broker.url,
        influx_url=influx_url,
        influx_db=db,
        topic_prefix=prefix,
        spool_path=spool,
        **{**defaults, **extra},
    )


class Running:
    """A gateway running in the background with in-memory sinks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gateway: Gateway = build_gateway(
            settings,
            Registry(parse_site(SITE)),
            Sinks(MemoryMeasurementSink(), MemoryRejectionSink()),
        )
        self.task: asyncio.Task[None] | None = None
        self.max_depth = 0

    def sample(self, name: str, **labels: str) -> float:
        return self.gateway.metrics.registry.get_sample_value(name, labels) or 0.0

    async def until(self, what: str, check: Any, limit_s: float = 30.0) -> float:
        """Wait until check() is true (also tracking the spool depth metric); seconds taken."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(limit_s):
                while not check():
                    self.max_depth = max(
                        self.max_depth, int(self.sample("gridwatch_gateway_spool_depth"))
                    )
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}: {self.gateway.health()}") from None
        return time.monotonic() - started


@asynccontextmanager
async def gateway_running(settings: Settings) -> AsyncIterator[Running]:
    running = Running(settings)
    running.task = asyncio.create_task(running.gateway.run(), name="gateway")
    try:
        async with asyncio.timeout(15):
            await running.gateway.source.subscribed.wait()
        yield running
    finally:
        running.gateway.stop()
        async with asyncio.timeout(30):
            with suppress(asyncio.CancelledError):
                await running.task


class DelayProxy:
    """A TCP proxy that holds each request going to the server for `delay` seconds: an
    InfluxDB that takes seconds per request."""

    def __init__(self, target_host: str, target_port: int, delay: float) -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        tasks = [
            asyncio.create_task(self._pipe(reader, up_writer, self.delay)),
            asyncio.create_task(self._pipe(up_reader, writer, 0.0)),
        ]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)
        for w in (writer, up_writer):
            w.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
        """Forward; a chunk that starts a request (not the rest of a body) waits first."""
        try:
            while chunk := await src.read(65_536):
                if delay and chunk.startswith((b"POST ", b"GET ")):
                    await asyncio.sleep(delay)
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with suppress(Exception):
                dst.close()
