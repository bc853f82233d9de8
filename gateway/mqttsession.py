"""The MQTT consumer as a small asyncio session layer over the `mqtt5` packet codec.

Why not paho: py-spy put 41 % of a gateway process in paho's network thread (a v5 `Properties`
object built and cleared per PUBLISH, a `select` and a socket read per packet, a thread hop per
message). Here the socket is read in large chunks on the event loop itself, `mqtt5` (Rust, strict
validation of every packet) parses and serialises every packet, and a batch of acknowledgements
goes out in one write. We own only the session rules below, never the wire format:

- MQTT v5, `clean_start=False` with a Session Expiry Interval > 0: the broker keeps our
  subscriptions and queues messages while we are away, and redelivers unacknowledged ones.
- Acknowledgements only when the caller says so (after its commit), and a bounded in-flight
  window: the v5 Receive Maximum we send makes the broker hold back past that many
  unacknowledged QoS 1 messages, which bounds our inbox and keeps 16-bit packet ids from running
  out.
- Reconnect with jittered exponential backoff; subscriptions are renewed on every connect.
- Keepalive: a PINGREQ when we have sent nothing for half the keepalive, and the connection is
  given up when nothing has arrived for 1.5 keepalives (a black-holed partition).
- Packet ids belong to one connection: a message received before a reconnect is never
  acknowledged on the next connection (that could ack a different message with the same id);
  the broker redelivers it and the idempotent InfluxDB write absorbs the repeat.

The public surface is the one the gateway's batcher uses (`receive`, `take`, `ack`,
`interrupt`, `pending`, `subscribed`), so either consumer can stand behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Iterable
from typing import Unpack

import mqtt5

from gateway.mqttconsumer import ConsumerOptions, MqttConsumer
from gateway.source import Message

log = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024
"""Bytes asked of the socket per read: a backlog arrives as hundreds of packets per read."""

_SUBSCRIBE_ID = 1
"""Our only client-side packet id: one SUBSCRIBE per connection, nothing else is ours to ack."""


class ProtocolError(Exception):
    """The broker sent something the session cannot go on from (the connection is dropped)."""


def _complete_length(buf: bytearray | memoryview, start: int) -> int:
    """Length of the whole packet at `start` when `buf` holds all of it, else 0.

    `mqtt5.read` answers a short buffer with the same IndexError as some malformed ones, so the
    fixed header's Remaining Length (a 1–4 byte varint, MQTT v5 §1.5.5) is read here to tell
    "wait for more bytes" from "the broker sent garbage"."""
    end = len(buf)
    multiplier = 1
    length = 0
    pos = start + 1
    for _ in range(4):
        if pos >= end:
            return 0
        byte = buf[pos]
        length += (byte & 0x7F) * multiplier
        pos += 1
        if not byte & 0x80:
            total = pos - start + length
            return total if start + total <= end else 0
        multiplier *= 128
    raise ProtocolError("malformed Remaining Length in a packet's fixed header")


class MqttSession(MqttConsumer):
    """The consumer on the event loop itself, over the `mqtt5` codec (the module docstring says
    why); a batch of acknowledgements goes out in one write."""

    log = log

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        **options: Unpack[ConsumerOptions],
    ) -> None:
        super().__init__(host, port, **options)
        self.tls = tls
        self._generation = 0
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_sent = 0.0
        self._last_heard = 0.0

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> MqttSession:
        self._task = asyncio.create_task(self._run(), name="mqtt-session")
        return self

    async def close(self) -> None:
        """Disconnect normally, after the acks already written, and wait until the broker has
        closed the connection: it handles one connection's packets in order, so by then every
        ack is applied (a new connection with our client id could otherwise take the session
        over before the broker read them, and they would be redelivered). The session and
        unacknowledged messages stay with the broker for the next connection."""
        self._closing = True
        self._generation += 1
        task, self._task = self._task, None
        writer = self._writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(OSError):
                writer.write(mqtt5.DisconnectPacket().write())
                async with asyncio.timeout(5):
                    await writer.drain()
        if task is not None:
            if writer is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    async with asyncio.timeout(5):
                        await asyncio.shield(task)  # ends at the broker's EOF
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drop_connection()
        self.subscribed.clear()

    async def _run(self) -> None:
        """Connect, serve the connection until it ends, back off, and again — until closed."""
        while not self._closing:
            try:
                await self._connect_and_serve()
            except asyncio.CancelledError:
                raise
            except (OSError, EOFError, ProtocolError, ValueError, IndexError, TimeoutError) as e:
                if self._closing:
                    return
                self._lost(f"{type(e).__name__}: {e}")
                await asyncio.sleep(self.backoff.next())
            except Exception:  # a bug must not end the session silently: log it, reconnect
                log.exception("MQTT session failed unexpectedly; reconnecting")
                self._lost("unexpected error")
                await asyncio.sleep(self.backoff.next())
            finally:
                self._drop_connection()

    def _lost(self, why: str) -> None:
        self.subscribed.clear()
        self._generation += 1
        log.warning("MQTT disconnected from %s:%s (%s); reconnecting", self.host, self.port, why)

    def _drop_connection(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    async def _connect_and_serve(self) -> None:
        async with asyncio.timeout(max(5.0, self.keepalive_s)):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, limit=READ_CHUNK
            )
        self._writer = writer
        connect = mqtt5.ConnectPacket(
            self.client_id,
            username=self.username,
            password=self.password.encode() if self.password is not None else None,
            clean_start=False,
            keep_alive=self.keepalive_s,
            session_expiry_interval=self.session_expiry_s,
            receive_max=self.receive_maximum,
        )
        self._send(connect.write())
        buf = bytearray()
        connack = await self._read_packet(reader, buf)
        if not isinstance(connack, mqtt5.ConnAckPacket):
            raise ProtocolError(f"expected CONNACK, got {type(connack).__name__}")
        if connack.reason_code != mqtt5.ConnAckReasonCode.SUCCESS:
            log.error(
                "MQTT broker %s:%s refused the connection: %s",
                self.host,
                self.port,
                connack.reason_code.name,
            )
            raise ProtocolError(f"connection refused: {connack.reason_code.name}")
        self._generation += 1
        generation = self._generation
        self.backoff.reset()
        self._connected(connack.session_present, connack.session_expiry_interval)
        filters = [
            mqtt5.TopicFilter(t, max_qos=mqtt5.QoS.AT_LEAST_ONCE) for t in self.subscriptions
        ]
        self._send(mqtt5.SubscribePacket(_SUBSCRIBE_ID, filters).write())
        keepalive = asyncio.create_task(self._keepalive(), name="mqtt-keepalive")
        try:
            await self._serve(reader, buf, generation)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _read_packet(self, reader: asyncio.StreamReader, buf: bytearray) -> mqtt5.Packet:
        """One whole packet (for the handshake); what follows it stays in `buf`."""
        while not (size := _complete_length(buf, 0)):
            async with asyncio.timeout(self.keepalive_s):
                chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise EOFError("the broker closed the connection")
            buf += chunk
        packet, used = mqtt5.read(memoryview(buf)[:size])
        del buf[:used]
        return packet

    async def _serve(self, reader: asyncio.StreamReader, buf: bytearray, generation: int) -> None:
        """Read the socket in large chunks and handle every whole packet in it."""
        self._last_heard = time.monotonic()
        while True:
            self._handle_packets(buf, generation)
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise EOFError("the broker closed the connection")
            self._last_heard = time.monotonic()
            buf += chunk

    def _handle_packets(self, buf: bytearray, generation: int) -> None:
        """Every whole packet in `buf` (what is left of a packet stays for the next read). The
        messages of one read share its receipt time; a packet's length is read inline for the
        one- and two-byte Remaining Lengths every gateway message has (a call per packet cost
        more than the codec's parse), `_complete_length` for the rest."""
        view = memoryview(buf)
        start = 0
        end = len(buf)
        inbox = self.inbox
        append = inbox.append
        received = time.time_ns()
        publish = mqtt5.PublishPacket
        qos0 = mqtt5.QoS.AT_MOST_ONCE
        read = mqtt5.read
        try:
            while start + 2 <= end:
                b1 = view[start + 1]
                if b1 < 0x80:
                    size = b1 + 2
                elif start + 2 < end and view[start + 2] < 0x80:
                    size = (b1 & 0x7F) + (view[start + 2] << 7) + 3
                else:
                    size = _complete_length(view, start)
                    if not size:
                        break
                if start + size > end:
                    break
                packet, _ = read(view[start : start + size])
                start += size
                if type(packet) is publish:
                    qos = packet.qos
                    if qos == qos0 and len(inbox) >= self.capacity:
                        self.dropped_qos0 += 1
                        continue
                    append(
                        Message(
                            packet.topic,
                            packet.payload,
                            int(qos),
                            packet.retain,
                            packet.packet_id or 0,
                            generation,
                            received,
                        )
                    )
                else:
                    self._control(packet)
        finally:
            view.release()
            del buf[:start]
        inbox.wake_if_ready()

    def _control(self, packet: mqtt5.Packet) -> None:
        if isinstance(packet, mqtt5.SubAckPacket):
            if self._granted_all((c.name, int(c) >= 0x80) for c in packet.reason_codes):
                self.subscribed.set()
        elif isinstance(packet, mqtt5.DisconnectPacket):
            raise ProtocolError(f"the broker disconnected us: {packet.reason_code.name}")
        elif isinstance(packet, mqtt5.PubRelPacket):  # QoS 2 is never subscribed; answer anyway
            self._send(mqtt5.PubCompPacket(packet.packet_id).write())
        elif not isinstance(packet, mqtt5.PingRespPacket):
            log.warning("MQTT: ignoring an unexpected %s from the broker", type(packet).__name__)

    async def _keepalive(self) -> None:
        period = self.keepalive_s / 2
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            if now - self._last_heard > 1.5 * self.keepalive_s:
                self._drop_connection()  # the reader then sees EOF and the session reconnects
                return
            if now - self._last_sent >= period:
                self._send(mqtt5.PingReqPacket().write())

    def _send(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        writer.write(data)
        self._last_sent = time.monotonic()

    # -- acknowledging (receiving is InboxSource's) ------------------------------------------
    def ack(self, messages: Iterable[Message]) -> int:
        """Acknowledge QoS 1 messages of the current connection in one write; returns how many
        were acked. Messages from an earlier connection are skipped: the broker redelivers them."""
        generation = self._generation
        puback = mqtt5.PubAckPacket
        frames = [puback(m.mid).write() for m in messages if m.qos and m.generation == generation]
        if frames:
            self._send(b"".join(frames))
        return len(frames)
