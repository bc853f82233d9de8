"""The mqtt5-codec session against a real Mosquitto: what the delivery promise rests on —
durable session, ack only after the caller says so, the bounded in-flight window, reconnect and
resubscribe, refused logins — plus the framing of a byte stream cut anywhere."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable

import mqtt5
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.backoff import Backoff
from gateway.mqttsession import MqttSession, ProtocolError, _complete_length
from tests.harness import Mosquitto
from tests.integration.faults import publish


def session(broker: Mosquitto, prefix: str, client_id: str, **kw: object) -> MqttSession:
    return MqttSession(
        broker.host,
        broker.port,
        subscriptions=[f"{prefix}/#"],
        client_id=client_id,
        backoff=Backoff(base=0.05, cap=0.5),
        **kw,  # type: ignore[arg-type]
    )


def messages(prefix: str, n: int) -> list[tuple[str, bytes]]:
    return [(f"{prefix}/pond/p{i % 7}/telemetry", f'{{"seq": {i}}}'.encode()) for i in range(n)]


async def collect(source: MqttSession, n: int, within_s: float = 10.0) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(within_s):
        while len(got) < n:
            batch = await source.receive(n - len(got))
            got += [m.payload for m in batch]
            source.ack(batch)
    return got


async def test_receives_every_message_once_and_acked_ones_are_not_redelivered(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    cid = f"s-{uuid.uuid4().hex[:8]}"
    async with session(mosquitto, topic_prefix, cid) as s:
        async with asyncio.timeout(5):
            await s.subscribed.wait()
        assert s.session_persistent is True
        sent = messages(topic_prefix, 2_000)
        await publish(mosquitto, sent)
        got = await collect(s, len(sent))
    assert sorted(got) == sorted(p for _, p in sent)
    async with session(mosquitto, topic_prefix, cid) as again:
        async with asyncio.timeout(5):
            await again.subscribed.wait()
        await asyncio.sleep(0.5)
        assert again.pending == 0, "acknowledged messages came back"


async def test_unacknowledged_messages_are_redelivered_to_the_next_connection(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    cid = f"s-{uuid.uuid4().hex[:8]}"
    sent = messages(topic_prefix, 300)
    async with session(mosquitto, topic_prefix, cid) as s:
        async with asyncio.timeout(5):
            await s.subscribed.wait()
        await publish(mosquitto, sent)
        async with asyncio.timeout(5):
            while s.pending < len(sent):
                await s.receive(len(sent), min_messages=len(sent))
                break
        # nothing acknowledged: the durable session keeps them all
    async with session(mosquitto, topic_prefix, cid) as again:
        got = await collect(again, len(sent))
    assert sorted(got) == sorted(p for _, p in sent)


async def test_receive_maximum_bounds_what_is_in_flight(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    cid = f"s-{uuid.uuid4().hex[:8]}"
    async with session(mosquitto, topic_prefix, cid, receive_maximum=50) as s:
        async with asyncio.timeout(5):
            await s.subscribed.wait()
        await publish(mosquitto, messages(topic_prefix, 400))
        await asyncio.sleep(1.0)
        assert s.pending == 50, "the broker sent past our Receive Maximum"
        first = s.take(50)
        s.ack(first)  # Mosquitto 2.0 then sends its whole queue, not 50 more: its choice
        rest = await collect(s, 350)
    assert len(first) + len(rest) == 400


async def test_reconnects_and_resubscribes_after_a_broker_restart(
    make_mosquitto: Callable[..., Mosquitto], topic_prefix: str
) -> None:
    broker = make_mosquitto()
    cid = f"s-{uuid.uuid4().hex[:8]}"
    async with session(broker, topic_prefix, cid) as s:
        async with asyncio.timeout(5):
            await s.subscribed.wait()
        broker.stop()
        async with asyncio.timeout(5):
            while s.subscribed.is_set():  # noqa: ASYNC110 - no 'lost' event to wait on
                await asyncio.sleep(0.05)
        broker.start()
        async with asyncio.timeout(10):
            await s.subscribed.wait()
        sent = messages(topic_prefix, 100)
        await publish(broker, sent)
        assert len(await collect(s, len(sent))) == len(sent)


async def test_a_refused_login_keeps_retrying_and_never_subscribes(
    make_mosquitto: Callable[..., Mosquitto], topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = make_mosquitto(config_extra="allow_anonymous false\n")
    async with session(broker, topic_prefix, "nobody") as s:
        await asyncio.sleep(1.0)
        assert not s.subscribed.is_set()
    assert "refused the connection" in caplog.text


_PACKETS = [
    mqtt5.PublishPacket("a/b", b"x" * n, qos=mqtt5.QoS.AT_LEAST_ONCE, packet_id=i + 1)
    for i, n in enumerate((0, 1, 126, 127, 128, 16_383, 16_384, 70_000))
]
_STREAM = b"".join(p.write() for p in _PACKETS)


@given(st.lists(st.integers(1, len(_STREAM)), max_size=30))
def test_framing_finds_the_same_packets_wherever_the_stream_is_cut(cuts: list[int]) -> None:
    """Remaining Length varints of 1–3 bytes, split anywhere across socket reads."""
    buf = bytearray()
    got: list[bytes] = []
    bounds = sorted({0, *cuts, len(_STREAM)})
    for lo, hi in itertools.pairwise(bounds):
        buf += _STREAM[lo:hi]
        while size := _complete_length(buf, 0):
            packet, used = mqtt5.read(memoryview(buf)[:size])
            assert used == size
            assert isinstance(packet, mqtt5.PublishPacket)
            got.append(packet.payload)
            del buf[:size]
    assert got == [p.payload for p in _PACKETS]
    assert not buf


_MIXED = b"".join(
    [mqtt5.PingRespPacket().write(), *(p.write() for p in _PACKETS[:4]), b"\xd0\x00"]
    + [p.write() for p in _PACKETS[4:]]
)
"""PUBLISHes with 1- to 3-byte Remaining Lengths and two 2-byte PINGRESPs among them."""


@given(st.lists(st.integers(1, len(_MIXED)), max_size=30))
def test_the_session_takes_the_same_messages_wherever_the_stream_is_cut(cuts: list[int]) -> None:
    """`_handle_packets` (lengths read inline for 1- and 2-byte varints): every message once,
    in order, whatever the socket reads were; a partial packet waits for its rest."""
    session = MqttSession("127.0.0.1", 1, subscriptions=["a/#"], client_id="framing")
    buf = bytearray()
    bounds = sorted({0, *cuts, len(_MIXED)})
    for lo, hi in itertools.pairwise(bounds):
        buf += _MIXED[lo:hi]
        session._handle_packets(buf, generation=3)
    got = session.take(100)
    assert [m.payload for m in got] == [p.payload for p in _PACKETS]
    assert [(m.mid, m.qos, m.generation) for m in got] == [(i + 1, 1, 3) for i in range(8)]
    assert not buf


def test_a_remaining_length_longer_than_four_bytes_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        _complete_length(bytearray(b"\x30\xff\xff\xff\xff\x01"), 0)
