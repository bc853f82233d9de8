"""MQTT v5 test clients (paho-mqtt 2.x) whose broker events land in queues, so tests wait for
what the broker said instead of sleeping: CONNACK, PUBACK, SUBACK, messages and disconnects.

Import the fixture into a test module: `from tests.integration.mqttpeers import peers`.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

WAIT = 5.0
QUIET = 0.3  # how long "nothing arrives" is watched after the broker has provably moved on


@dataclass
class Peer:
    """A paho-mqtt 2.x MQTT v5 client with its events in queues, so tests wait, not sleep."""

    client: mqtt.Client
    connacks: queue.Queue[ReasonCode] = field(default_factory=queue.Queue)
    messages: queue.Queue[mqtt.MQTTMessage] = field(default_factory=queue.Queue)
    pubacks: queue.Queue[tuple[int, ReasonCode]] = field(default_factory=queue.Queue)
    subacks: queue.Queue[list[ReasonCode]] = field(default_factory=queue.Queue)
    disconnects: queue.Queue[ReasonCode] = field(default_factory=queue.Queue)
    session_present: bool = False
    thread: threading.Thread | None = None

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> ReasonCode:
        """Publish and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=qos)
        mid, rc = self.pubacks.get(timeout=WAIT)
        assert mid == info.mid
        return rc

    def subscribe(self, topic: str) -> list[ReasonCode]:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=WAIT)

    def quiet(self, seconds: float = QUIET) -> list[mqtt.MQTTMessage]:
        """Whatever arrives within `seconds` (expected: nothing)."""
        got: list[mqtt.MQTTMessage] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        return got

    def close(self) -> None:
        """Disconnect and end the network thread (again: nothing, the sockets are closed)."""
        if self.thread is None or not self.thread.is_alive():
            return
        self.client.disconnect()
        self.thread.join(WAIT)
        _release(self.client)


def _release(client: mqtt.Client) -> None:
    """Close a finished client's sockets now: paho's wake-up socket pair is otherwise closed
    only when the garbage collector gets to the client, and a ResourceWarning (an error under
    our filterwarnings) fires if it finds the sockets first."""
    client.reinitialise()


@pytest.fixture
def peers() -> Iterator[Callable[..., tuple[Peer, ReasonCode]]]:
    """Connect MQTT v5 clients; every one is closed after the test."""
    made: list[Peer] = []

    def connect(
        port: int,
        user: str | None,
        password: str | None,
        client_id: str = "",
        clean_start: bool = True,
        session_expiry: int = 0,
        protocol: MQTTProtocolVersion = mqtt.MQTTv5,
        tls: ssl.SSLContext | None = None,
    ) -> tuple[Peer, ReasonCode]:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
            protocol=protocol,
        )
        client.reconnect_delay_set(60, 120)  # no silent reconnects: a refusal must stay visible
        peer = Peer(client)
        if user is not None:
            client.username_pw_set(user, password)
        if tls is not None:
            client.tls_set_context(tls)

        def on_connect(c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, p: Any) -> None:
            peer.session_present = bool(flags.session_present)
            peer.connacks.put(rc)

        def on_disconnect(c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, p: Any) -> None:
            peer.disconnects.put(rc)

        def on_publish(c: mqtt.Client, u: Any, mid: int, rc: ReasonCode, p: Any) -> None:
            peer.pubacks.put((mid, rc))

        def on_subscribe(c: mqtt.Client, u: Any, mid: int, rcs: list[ReasonCode], p: Any) -> None:
            peer.subacks.put(rcs)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        client.on_subscribe = on_subscribe
        client.on_message = lambda c, u, m: peer.messages.put(m)
        props = None
        if protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = session_expiry
            client.connect("127.0.0.1", port, clean_start=clean_start, properties=props)
        else:
            client.connect("127.0.0.1", port)
        # Wait for CONNACK on this thread; only an accepted client gets a network thread
        # (loop_forever, which `disconnect()` ends), so a refused one leaves nothing behind.
        deadline = time.monotonic() + WAIT
        while peer.connacks.empty() and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break  # the connection is gone: no CONNACK will come
        try:
            rc = peer.connacks.get_nowait()
        except queue.Empty:
            _release(client)
            raise
        if rc.is_failure:
            _release(client)
        else:
            peer.thread = threading.Thread(target=client.loop_forever, daemon=True)
            peer.thread.start()
            made.append(peer)
        return peer, rc

    yield connect
    for p in made:
        p.close()


Connect = Callable[..., tuple[Peer, ReasonCode]]
