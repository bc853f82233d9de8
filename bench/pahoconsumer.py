"""The gateway's former MQTT consumer, kept as bench.consumer's baseline.

paho-mqtt 2.x under asyncio, acknowledging QoS 1 messages only after the batch holding them
is committed. The gateway runs `gateway.mqttsession.MqttSession` (the `mqtt5` codec) since it
measured 9 µs of CPU a message against this one's 214 (bench/README.md); the same session
rules hold for both:

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
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Unpack

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.mqttconsumer import ConsumerOptions, MqttConsumer
from gateway.source import Message

log = logging.getLogger(__name__)


class MqttSource(MqttConsumer):
    """The consumer over paho's network thread (the module docstring says how messages cross
    to the event loop); acknowledgements go out through paho, in order."""

    log = log

    def __init__(
        self,
        host: str,
        port: int,
        **options: Unpack[ConsumerOptions],
    ) -> None:
        super().__init__(host, port, **options)
        self._wake_pending = False
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.username is not None:
            self._client.username_pw_set(self.username, self.password)
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

    async def close(self) -> None:
        """Disconnect (after any acks already queued: paho sends in order) and stop the network
        thread. Unacknowledged messages stay with the broker for the next session."""
        with self._ack_lock:
            self._generation += 1
        self._closing = True
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        # paho closes the socket pair that wakes its thread only when the client is collected;
        # inside a reference cycle the sockets can be finalized first (a ResourceWarning, an
        # error under pytest's strict warnings). The thread is gone: close them now (paho has
        # no public call for it).
        self._client._reset_sockets(sockpair_only=True)
        self.subscribed.clear()

    # -- acknowledging (receiving is InboxSource's) ------------------------------------------
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
        inbox = self.inbox
        if msg.qos == 0 and len(inbox) >= self.capacity:
            self.dropped_qos0 += 1
            return
        payload = msg.payload if type(msg.payload) is bytes else bytes(msg.payload)
        inbox.append(
            Message(
                msg.topic, payload, msg.qos, msg.retain, msg.mid, self._generation, time.time_ns()
            )
        )
        # Wake the loop only when the waiting receive has enough to act on (module docstring).
        if not self._wake_pending and inbox.ready:
            self._wake_pending = True
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        self.inbox.wake()

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
        self._connected(flags.session_present, getattr(properties, "SessionExpiryInterval", None))
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
        if not self._granted_all((str(r), r.is_failure) for r in reasons):
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
