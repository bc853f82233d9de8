"""The wire between a gateway worker process and the rules process that owns the sinks
(gateway/cluster.py): typed messages in length-prefixed frames on a local Unix socket.

A frame is `[u32 length][u8 kind][msgpack body]`; the receiver answers each frame with one
byte, `OK` or `FAILED` (a sink raised: the worker still acknowledges, because the data is
stored in InfluxDB — as the in-process gateway does). Kinds:

- `H` Hello: the worker's index, first on every connection (whose batches these are);
- `M` measurements, `R` rejections, `T` statuses: one committed batch, handed on before the
  worker acknowledges it to the broker;
- `S` Report: the worker's health facts and a snapshot of its Prometheus metrics, every
  second, so the parent's health and `--metrics-port` show what the workers see and count.

Both ends are the same build (the parent spawns its workers), so there is no version field. A
frame of an unknown kind, over `MAX_FRAME`, or with a body that does not decode as its kind is
a `WireError`; the receiver closes that connection (the stream can no longer be trusted) and
the worker's next frame reconnects.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.measurement import Measurement, Rejection
from gateway.health import Facts
from gateway.metrics import Family

HEADER = struct.Struct(">IB")
MAX_FRAME = 64 * 1024 * 1024
"""Largest body accepted: a live batch (≤ ~6k measurements) is well under 2 MiB."""
OK = b"\x00"
FAILED = b"\x01"


class WireError(Exception):
    """A frame that breaks the protocol: unknown kind, too large, or an undecodable body."""


@dataclass(frozen=True, slots=True)
class Hello:
    index: int


@dataclass(frozen=True, slots=True)
class Measurements:
    items: list[Measurement]


@dataclass(frozen=True, slots=True)
class Rejections:
    items: list[Rejection]


@dataclass(frozen=True, slots=True)
class Statuses:
    items: list[tuple[str, bool, int]]
    """(sensor, online, at_ns) per status message."""


@dataclass(frozen=True, slots=True)
class Report:
    facts: Facts
    families: list[Family]


Frame = Hello | Measurements | Rejections | Statuses | Report

_KINDS: dict[type[Any], int] = {
    Hello: ord("H"),
    Measurements: ord("M"),
    Rejections: ord("R"),
    Statuses: ord("T"),
    Report: ord("S"),
}
_DECODERS: dict[int, msgspec.msgpack.Decoder[Any]] = {
    kind: msgspec.msgpack.Decoder(cls) for cls, kind in _KINDS.items()
}
_encoder = msgspec.msgpack.Encoder()


def encode(frame: Frame) -> bytes:
    """The frame's bytes: header and msgpack body."""
    body = _encoder.encode(frame)
    if len(body) > MAX_FRAME:
        raise WireError(f"frame of {len(body)} bytes is over the {MAX_FRAME}-byte limit")
    return HEADER.pack(len(body), _KINDS[type(frame)]) + body


def decode(kind: int, body: bytes) -> Frame:
    """The message a frame of `kind` carries; WireError when it is not one."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise WireError(f"unknown frame kind {kind:#04x}")
    try:
        frame: Frame = decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise WireError(f"frame of kind {chr(kind)!r} does not decode: {e}") from e
    return frame


async def read(reader: asyncio.StreamReader) -> Frame:
    """The next frame; `asyncio.IncompleteReadError` when the peer closes, WireError when what
    it sent is not a frame (nothing past a bad header is read)."""
    size, kind = HEADER.unpack(await reader.readexactly(HEADER.size))
    if kind not in _DECODERS:
        raise WireError(f"unknown frame kind {kind:#04x}")
    if size > MAX_FRAME:
        raise WireError(f"frame of {size} bytes is over the {MAX_FRAME}-byte limit")
    return decode(kind, await reader.readexactly(size))
