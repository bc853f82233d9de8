"""The MQTT consumer adapter: paho-mqtt 2.x under asyncio, acknowledging QoS 1 messages only
after the batch holding them is committed (reliability.md: aiomqtt cannot defer acks yet).

- MQTT v5, `clean_start=False` with a Session Expiry Interval > 0: the broker keeps our
  subscriptions and queues messages while we are away, and redelivers unacknowledged ones.
- `manual_ack=True` and a bounded in-flight window (the v5 Receive Maximum): the broker sends at
  most that many unacknowledged QoS 1 messages, which also bounds our inbox, and packet ids
  (16-bit) never run out.
- Reconnect with jittered exponential backoff; subscriptions are renewed on every connect.
- Messages cross from paho's network thread to asyncio through a deque; the loop is woken with
  `call_soon_threadsafe` only when the waiting receiver has enough of them to act on (the first
  message of a batch, then a chunk): each wake-up is a syscall and a trip through the loop, and
  py-spy put ~6 % of a worker in them when every message woke it.
- Packet ids belong to one connection: a message received before a reconnect is never
  acknowledged on the next connection (that could ack a different message with the same id);
  the broker redelivers it and the idempotent InfluxDB write absorbs the repeat.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    """One received message; `mid` and `generation` identify it for the acknowledgement."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    generation: int
    received_ns: int


class Backoff:
    """Exponential backoff with full jitter: a random delay in [base, min(cap, base·2ⁿ)], so a
    fleet of gateways does not reconnect in lock-step after a broker restart."""

    def __init__(self, base: float = 0.2, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempts)
        self.attempts = min(self.attempts + 1, 32)
        return random.uniform(self.base, max(ceiling, self.base))  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.attempts = 0


class MqttSource:
    """`async with MqttSource(...) as source:` connect (retrying in the background), then
    `await source.receive(n)` batches of messages and `source.ack(messages)` after commit."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        subscriptions: Sequence[str],
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int = 14 * 86_400,
        receive_maximum: int = 10_000,
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.subscriptions = list(subscriptions)
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = receive_maximum
        self.keepalive_s = keepalive_s
        self.backoff = backoff or Backoff()
        self.metrics = metrics
        self.capacity = 2 * receive_maximum + 1_000
        self.dropped_qos0 = 0
        self.session_persistent: bool | None = None
        """After a connect: whether the broker granted a session expiry > 0 (CONNACK)."""
        self.subscribed = asyncio.Event()
        """Set while the current connection holds its subscriptions (tests wait on it)."""

        self._inbox: collections.deque[Message] = collections.deque()
        self._ready = asyncio.Event()
        self._wake_pending = False
        self._want = 1
        """How many messages the waiting `receive` needs before it is worth waking the loop."""
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._interrupted = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> MqttSource:
        self._loop = asyncio.get_running_loop()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        self._set_delay(self.backoff.next())
        self._client.connect_async(
            self.host, self.port, self.keepalive_s, clean_start=False, properties=props
        )
        self._client.loop_start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect (after any acks already queued: paho sends in order) and stop the network
        thread. Unacknowledged messages stay with the broker for the next session."""
        with self._ack_lock:
            self._generation += 1
        self._closing = True
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self.subscribed.clear()

    # -- receiving ----------------------------------------------------------------------------
    async def receive(self, max_messages: int, min_messages: int = 1) -> list[Message]:
        """Up to `max_messages` received messages, waiting until at least `min_messages` are
        there (wrap the call in `asyncio.timeout` to bound the wait; nothing is taken when it is
        cancelled — `take` then collects what came meanwhile). A batching caller asks for many
        at once, so the network thread wakes the loop once per chunk, not once per message."""
        want = max(1, min(min_messages, max_messages))
        while len(self._inbox) < want:
            if self._interrupted:
                return []
            self._want = want  # set before the length check; paho reads it after appending
            self._ready.clear()
            if len(self._inbox) >= want:
                break
            await self._ready.wait()
        return self.take(max_messages)

    def take(self, max_messages: int) -> list[Message]:
        """Up to `max_messages` of the messages already received, without waiting."""
        inbox = self._inbox
        return [inbox.popleft() for _ in range(min(max_messages, len(inbox)))]

    def interrupt(self) -> None:
        """Stop handing out messages: a waiting `receive` returns [] now, and every later one
        at once. What was not taken stays unacknowledged, for the broker to redeliver."""
        self._interrupted = True
        self._ready.set()

    @property
    def pending(self) -> int:
        """Messages received and not yet taken by `receive`."""
        return len(self._inbox)

    def ack(self, messages: Iterable[Message]) -> int:
        """Acknowledge QoS 1 messages of the current connection; returns how many were acked.
        Messages from an earlier connection are skipped: the broker will redeliver them."""
        acked = 0
        with self._ack_lock:
            generation = self._generation
            client_ack = self._client.ack
            for m in messages:
                if m.qos and m.generation == generation:
                    client_ack(m.mid, m.qos)
                    acked += 1
        return acked

    # -- paho callbacks (network thread) ------------------------------------------------------
    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if msg.qos == 0 and len(self._inbox) >= self.capacity:
            self.dropped_qos0 += 1
            return
        payload = msg.payload if type(msg.payload) is bytes else bytes(msg.payload)
        self._inbox.append(
            Message(
                msg.topic, payload, msg.qos, msg.retain, msg.mid, self._generation, time.time_ns()
            )
        )
        if not self._wake_pending and len(self._inbox) >= self._want:
            self._wake_pending = True
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        self._ready.set()

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._ack_lock:
            self._generation += 1
        if reason.is_failure:
            log.error("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason)
            self._set_delay(self.backoff.next())
            return
        self.backoff.reset()
        granted = getattr(properties, "SessionExpiryInterval", self.session_expiry_s)
        self.session_persistent = int(granted) > 0
        log.info(
            "MQTT connected to %s:%s (session present: %s, expiry granted: %s s)",
            self.host, self.port, flags.session_present, granted,
        )  # fmt: skip
        if not self.session_persistent:
            log.error("the broker granted no persistent session: messages sent while we are "
                      "away will be lost")  # fmt: skip
        if self.metrics is not None:
            self.metrics.connects.inc()
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self.subscriptions])

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [
            f"{topic}: {r}"
            for topic, r in zip(self.subscriptions, reasons, strict=False)
            if r.is_failure and not topic.startswith("$SYS/")  # broker stats are optional
        ]
        if refused:
            log.error("MQTT subscription refused for %s: %s", self.subscriptions, refused)
            return
        self._call(self.subscribed.set)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._ack_lock:
            self._generation += 1
        self._call(self.subscribed.clear)
        if self._closing:
            return
        delay = self.backoff.next()
        self._set_delay(delay)
        log.warning("MQTT disconnected (%s); reconnecting in %.1f s", reason, delay)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        delay = self.backoff.next()
        self._set_delay(delay)
        log.warning(
            "MQTT broker %s:%s unreachable; retrying in %.1f s", self.host, self.port, delay
        )

    def _set_delay(self, seconds: float) -> None:
        """paho waits `min_delay` before its next reconnect when the delay is reset, which is
        how our jittered delay replaces its fixed doubling."""
        self._client.reconnect_delay_set(seconds, seconds)  # type: ignore[arg-type]  # paho annotates int, sleeps on float

    def _call(self, fn: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn)
