"""The worker ↔ rules-process wire (gateway/wire.py): every message survives the round trip
through the frame reader, and what is not a frame is a WireError — never a crash, never a
half-read stream taken for a frame."""

from __future__ import annotations

import asyncio
import struct

import msgspec
import pytest

from domain.measurement import Measurement, Rejection, RejectReason
from gateway import wire
from gateway.health import Facts
from gateway.metrics import Family

M = Measurement("pond-01", "pond", "g1", "c1", 1_764_144_000 * 10**9, {"do": 5.5, "ph": 7.1}, 42)
R = Rejection(
    RejectReason.NOT_FINITE,
    "sensors/pond/pond-01/telemetry",
    7,
    "do is NaN",
    "pond-01",
    '{"values":{"do":NaN}}',
    "do",
)
FACTS = Facts(
    broker_connected=True,
    session_persistent=None,
    influx_up=False,
    spool_enabled=True,
    spool_depth=12,
    spool_oldest_age_s=3.5,
    write_errors={"timeout": 2},
    broker_dropped=None,
)
FRAMES: list[wire.Frame] = [
    wire.Hello(3),
    wire.Measurements([M, M]),
    wire.Rejections([R]),
    wire.Statuses([("pond-01", False, 123)]),
    wire.Report(FACTS, [Family("x", "counter", "an x", [("x_total", {"a": "b"}, 2.0)])]),
    wire.Measurements([]),
]


def reader_of(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
async def test_every_message_survives_the_round_trip(frame: wire.Frame) -> None:
    assert await wire.read(reader_of(wire.encode(frame))) == frame


async def test_frames_back_to_back_are_read_one_at_a_time() -> None:
    reader = reader_of(b"".join(wire.encode(f) for f in FRAMES))
    assert [await wire.read(reader) for _ in FRAMES] == FRAMES
    with pytest.raises(asyncio.IncompleteReadError):
        await wire.read(reader)


async def test_an_unknown_kind_is_refused_before_its_body_is_read() -> None:
    data = wire.HEADER.pack(4, ord("Z")) + b"\x00" * 4
    with pytest.raises(wire.WireError, match="unknown frame kind"):
        await wire.read(reader_of(data))


async def test_a_length_over_the_limit_is_refused_without_waiting_for_the_body() -> None:
    data = wire.HEADER.pack(wire.MAX_FRAME + 1, ord("M"))
    with pytest.raises(wire.WireError, match="over the"):
        await wire.read(reader_of(data, eof=False))  # no body follows: it must not wait


async def test_a_body_that_is_not_its_kind_is_refused() -> None:
    wrong = msgspec.msgpack.encode({"items": [{"sensor": 1}]})
    data = wire.HEADER.pack(len(wrong), ord("M")) + wrong
    with pytest.raises(wire.WireError, match="does not decode"):
        await wire.read(reader_of(data))


async def test_garbage_is_refused() -> None:
    junk = b"\xc1\xff\x00garbage"
    with pytest.raises(wire.WireError):
        await wire.read(reader_of(wire.HEADER.pack(len(junk), ord("S")) + junk))


async def test_a_truncated_frame_is_the_peer_closing_not_a_frame() -> None:
    data = wire.encode(wire.Measurements([M]))
    with pytest.raises(asyncio.IncompleteReadError):
        await wire.read(reader_of(data[:-3]))
    with pytest.raises(asyncio.IncompleteReadError):
        await wire.read(reader_of(data[:3]))


def test_a_header_is_length_then_kind() -> None:
    data = wire.encode(wire.Hello(1))
    size, kind = struct.unpack(">IB", data[:5])
    assert (size, chr(kind)) == (len(data) - 5, "H")
