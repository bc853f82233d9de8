"""What an MQTT consumer of the gateway is besides its wire: its options, the inbox and health
facts the gateway reads, and how a CONNACK's session grant and a SUBACK's refusals are taken.
`gateway.mqttsession.MqttSession` (the `mqtt5` codec) is the gateway's; bench.consumer measures
it against paho (`bench.pahoconsumer.MqttSource`) on these same session rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Required, TypedDict, Unpack

from gateway.backoff import Backoff
from gateway.metrics import GatewayMetrics
from gateway.source import Inbox, InboxSource


class ConsumerOptions(TypedDict, total=False):
    """The settings of either consumer; the defaults of the optional ones are in `MqttConsumer`."""

    subscriptions: Required[Sequence[str]]
    client_id: Required[str]
    username: str | None
    password: str | None
    session_expiry_s: int
    """Asked of the broker (default 14 days): how long it keeps our session while we are away."""
    receive_maximum: int
    """The in-flight window (default 10,000): unacknowledged messages the broker may send."""
    keepalive_s: int
    """The keepalive agreed with the broker (default 30 s): a silent connection is dead after it."""
    backoff: Backoff | None
    metrics: GatewayMetrics | None


class MqttConsumer(InboxSource):
    """`async with Consumer(...) as source:` connect (retrying in the background), then
    `await source.receive(n)` batches of messages and `source.ack(messages)` after commit.

    The common part; a subclass connects, fills `inbox` and acknowledges."""

    log: logging.Logger
    """The subclass's own logger, so its lines keep their module's name."""

    def __init__(
        self,
        host: str,
        port: int,
        **options: Unpack[ConsumerOptions],
    ) -> None:
        self.host = host
        self.port = port
        self.subscriptions = list(options["subscriptions"])
        self.client_id = options["client_id"]
        self.username = options.get("username")
        self.password = options.get("password")
        self.session_expiry_s = options.get("session_expiry_s", 14 * 86_400)
        self.receive_maximum = receive_maximum = options.get("receive_maximum", 10_000)
        self.keepalive_s = options.get("keepalive_s", 30)
        self.backoff = options.get("backoff") or Backoff()
        self.metrics = options.get("metrics")
        self.capacity = 2 * receive_maximum + 1_000
        """Inbox size past which a QoS 0 message is dropped (QoS 1 is bounded by the window)."""
        self.dropped_qos0 = 0
        self.session_persistent: bool | None = None
        """After a connect: whether the broker granted a session expiry > 0 (CONNACK)."""
        self.subscribed = asyncio.Event()
        """Set while the current connection holds its subscriptions (tests wait on it)."""
        self.inbox = Inbox()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect; messages not acknowledged stay with the broker for the next session."""
        raise NotImplementedError

    def _connected(self, session_present: bool, granted: int | None) -> None:
        """A successful CONNACK: `granted` is its Session Expiry Interval (None: the one we
        asked for stands). A session the broker will not keep loses what is sent while we are
        away, so it is logged as an error."""
        expiry = self.session_expiry_s if granted is None else int(granted)
        self.session_persistent = expiry > 0
        self.log.info(
            "MQTT connected to %s:%s (session present: %s, expiry granted: %s s)",
            self.host,
            self.port,
            session_present,
            expiry,
        )
        if not self.session_persistent:
            self.log.error(
                "the broker granted no persistent session: messages sent while we are "
                "away will be lost"
            )
        if self.metrics is not None:
            self.metrics.connects.inc()

    def _granted_all(self, results: Iterable[tuple[str, bool]]) -> bool:
        """A SUBACK, as (reason, refused) per subscription in order: whether every one that
        matters was granted (the broker's `$SYS/` statistics are optional), logging those not."""
        refused = [
            f"{topic}: {reason}"
            for topic, (reason, failed) in zip(self.subscriptions, results, strict=False)
            if failed and not topic.startswith("$SYS/")
        ]
        if refused:
            self.log.error("MQTT subscription refused for %s: %s", self.subscriptions, refused)
            return False
        # One line per (re)connect: an operator (and the deployment test) reads here that
        # this process now receives readings.
        self.log.info("MQTT subscribed to %s", ", ".join(self.subscriptions))
        return True
