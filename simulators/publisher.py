"""Puts a simulation on the wire: publishes its messages over MQTT (QoS 1 by default) when the
simulated clock reaches them, counts what went out, and stops cleanly when asked.

Many messages are kept in flight at once (a bounded window) so that a load run is limited by
the broker, not by waiting for each acknowledgement in turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt

from simulators.clock import SimClock
from simulators.device import Emission


class PublishError(RuntimeError):
    """The broker could not be reached or refused us; the message says which and why."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://[user:password@]host[:port]` (port 1883 by default)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise PublishError(f"cannot use MQTT URL {url!r}: write mqtt://host:port")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)


@dataclass
class Progress:
    """What has gone out so far; read by the progress display."""

    messages: int = 0
    readings: int = 0
    sim_time: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        """Readings per real second since the start."""
        elapsed = time.monotonic() - self.started
        return self.readings / elapsed if elapsed > 0 else 0.0


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True


async def publish(
    emissions: Iterable[Emission],
    broker: BrokerAddress,
    *,
    clock: SimClock,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
    qos: int = 1,
    window: int = 256,
    max_rate: float | None = None,
    client_id: str = "",
) -> Progress:
    """Publish every emission at its simulated due time; return the counts. Stops early (after
    the messages already in flight are acknowledged) when `stop` is set."""
    stop = stop or asyncio.Event()
    progress = progress or Progress()
    slots = asyncio.Semaphore(window)

    try:
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=client_id or None,
            max_inflight_messages=window,
            timeout=30,
        ) as client:
            client.pending_calls_threshold = window + 16  # a full window is normal here

            async def send(e: Emission) -> None:
                try:
                    await client.publish(e.topic, e.payload, qos=qos, retain=e.retain)
                finally:
                    slots.release()
                progress.messages += 1
                progress.readings += e.readings

            try:
                async with asyncio.TaskGroup() as tg:
                    for e in emissions:
                        if stop.is_set():
                            break
                        delay = clock.delay(e.due)
                        if max_rate and progress.readings:
                            elapsed = time.monotonic() - progress.started
                            delay = max(delay, progress.readings / max_rate - elapsed)
                        if delay > 0 and await _wait(stop, delay):
                            break
                        await slots.acquire()
                        progress.sim_time = e.due
                        tg.create_task(send(e), name=f"publish {e.topic}")
            except* aiomqtt.MqttError as eg:
                first = eg.exceptions[0]
                raise PublishError(f"MQTT broker {broker.host}:{broker.port}: {first}") from eg
    except aiomqtt.MqttError as e:
        raise PublishError(f"MQTT broker {broker.host}:{broker.port}: {e}") from e
    return progress
