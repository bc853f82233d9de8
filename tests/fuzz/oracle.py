"""The fuzzers' oracle: an independent line-protocol reader, and the check that one message
through `ingest` and the encoder yields only declared outcomes and exactly one point per
measurement, each reading back as the measurement it came from.

Shared by the Hypothesis tests and the atheris script (which calls `check` on raw bytes), so
both hold the code to the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from adapters.influx.lineprotocol import HUB_TIMED_FIELD, body, encode_lines
from domain.measurement import Measurement, Outcome, RejectReason
from domain.site import Registry
from gateway.ingest import IngestPolicy, ingest


def stored_text(text: str) -> str:
    """What InfluxDB keeps of a tag value the encoder escaped: line breaks and tabs as their
    two-character escapes; a trailing backslash followed by the guard space."""
    kept = text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return kept[:-1] + " " if kept.endswith("\\") else kept


class NotOnePoint(AssertionError):
    """The encoder's output is not exactly one well-formed point."""


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, str]
    ts: int


class _Scanner:
    """Reads escaped tokens of one line: a token ends at an unescaped stop character."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.i = 0

    def token(self, stops: str) -> tuple[str, str]:
        """The unescaped token and the stop character that ended it ("" at the end)."""
        out: list[str] = []
        line = self.line
        while self.i < len(line):
            c = line[self.i]
            if c == "\\" and self.i + 1 < len(line) and line[self.i + 1] in ",= ":
                out.append(line[self.i + 1])  # InfluxDB 1.x unescapes only these
                self.i += 2
                continue
            self.i += 1
            if c in stops:
                return "".join(out), c
            out.append(c)
        return "".join(out), ""


def parse_point(line: str) -> Point:
    """One line of line protocol (no string fields: the gateway writes none)."""
    if "\n" in line or "\r" in line:
        raise NotOnePoint(f"raw line break inside a line: {line!r}")
    scan = _Scanner(line)
    measurement, stop = scan.token(", ")
    tags: dict[str, str] = {}
    while stop == ",":
        key, eq = scan.token("=, ")
        if eq != "=":
            raise NotOnePoint(f"tag {key!r} without '=' in {line!r}")
        tags[key], stop = scan.token(", =")
        if stop == "=":
            raise NotOnePoint(f"unescaped '=' in tag value in {line!r}")
    if stop != " ":
        raise NotOnePoint(f"no field section in {line!r}")
    fields: dict[str, str] = {}
    while True:
        key, eq = scan.token("=, ")
        if eq != "=":
            raise NotOnePoint(f"field {key!r} without '=' in {line!r}")
        fields[key], stop = scan.token(", =")
        if stop != ",":
            break
    if stop != " ":
        raise NotOnePoint(f"no timestamp in {line!r}")
    ts_text = line[scan.i :]
    if not ts_text.lstrip("-").isdigit():
        raise NotOnePoint(f"timestamp {ts_text!r} in {line!r}")
    return Point(measurement, tags, fields, int(ts_text))


def points(lines_body: bytes) -> list[Point]:
    return [parse_point(line) for line in lines_body.decode().split("\n") if line]


def check_point(m: Measurement, p: Point) -> None:
    """The point reads back as the measurement: series, every finite field, seq, time."""
    if p.measurement != m.kind.value:
        raise NotOnePoint(f"measurement {p.measurement!r} != {m.kind.value!r}")
    want_tags = {
        k: v for k, v in (("community", m.community), ("grid", m.grid), ("sensor", m.sensor)) if v
    }
    want_tags = {k: stored_text(v) for k, v in want_tags.items()}
    if p.tags != want_tags:
        raise NotOnePoint(f"tags {p.tags!r} != {want_tags!r}")
    want = {k: v for k, v in m.fields.items() if math.isfinite(v)}
    got = {k: float(v) for k, v in p.fields.items() if k not in ("seq", HUB_TIMED_FIELD)}
    if got != want:
        raise NotOnePoint(f"fields {got!r} != {want!r}")
    if m.seq is not None and p.fields.get("seq") != f"{m.seq}i":
        raise NotOnePoint(f"seq {p.fields.get('seq')!r} != {m.seq}")
    if m.hub_timed != (p.fields.get(HUB_TIMED_FIELD) == "true"):
        raise NotOnePoint("hub_timed marker wrong")
    if p.ts != m.ts_ns:
        raise NotOnePoint(f"time {p.ts} != {m.ts_ns}")


def check_encoding(measurements: list[Measurement]) -> None:
    """Exactly one point per storable measurement, each reading back as itself."""
    storable = [
        m
        for m in measurements
        if m.seq is not None or any(math.isfinite(v) for v in m.fields.values())
    ]
    got = points(body(encode_lines(measurements)))
    if len(got) != len(storable):
        raise NotOnePoint(f"{len(got)} points from {len(storable)} measurements")
    for m, p in zip(storable, got, strict=True):
        check_point(m, p)


def check(
    topic: str, payload: bytes, registry: Registry, now_ns: int, policy: IngestPolicy
) -> Outcome:
    """Run one message through ingest and the encoder; raise AssertionError on any breach."""
    out = ingest(topic, payload, registry, now_ns, policy)
    for r in out.rejections:
        if type(r.reason) is not RejectReason:
            raise AssertionError(f"undeclared reason {r.reason!r}")
        if r.detail.startswith("internal error"):
            raise AssertionError(f"undeclared error: {r.detail}")
    for m in out.measurements:
        placement = registry.get(m.sensor)
        if placement is None or placement.sensor.kind != m.kind:
            raise AssertionError(f"measurement for {m.sensor!r} that the registry lacks")
    if len({m.ts_ns for m in out.measurements}) != len(out.measurements):
        raise AssertionError("two measurements for one instant")
    check_encoding(out.measurements)
    return out
