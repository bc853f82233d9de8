"""One MQTT telemetry message to an `Outcome`: the pure entry point of the gateway.

`ingest` resolves the topic against the registry, bounds the message, decodes it
(gateway.decode) and judges its readings (gateway.validate). It never raises and never reads
a clock: the caller passes the hub time, so replays and tests are deterministic.

Nearly every message is one well-formed reading of a known sensor, so `ingest` first tries
`_clean`: the same checks in one pass over the parsed object, no intermediate `Reading`,
instant or rejecter, giving the one Measurement the full path would. At the first thing it
does not take as it is (any value to reject or convert, a batch, SenML, an unknown topic) it
answers None and the full path judges the message from the start, rejections and all — so the
outcome is the full path's for every input (tests/gateway/test_ingest_properties.py holds the
two to that).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain import topics
from domain.catalog import SEQ_FIELD, SEQ_MAX
from domain.measurement import Measurement, Outcome, Rejection, RejectReason
from domain.site import Registry
from gateway.decode import DecodeError, decode, json_decode, shown
from gateway.validate import HEALTH_LIMITS, LIMITS, TimestampError, Window, judge, timestamp_ns

FLOOR_NS = 1_262_304_000 * 10**9
"""2010-01-01T00:00Z: a device clock before this was reset (1970, 2000), never a real reading."""

HEAD_CHARS = 200

MAX_ITEMIZED = 1_000
"""Rejections itemized per message; past this, the rest fold into one `too_large` summary (so at
most MAX_ITEMIZED + 1), and a 64 KiB message of junk names cannot become 10,000 rejections to
count, store and log."""


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    """Limits on what one message may carry; the defaults are contract §2's."""

    prefix: str = topics.DEFAULT_PREFIX
    max_payload: int = 65_536  # bytes; larger -> too_large
    max_batch: int = 1_000  # readings per message; more -> too_large
    max_future_ns: int = 300 * 10**9  # more than 5 min ahead of the hub clock -> future_ts
    retention_ns: int | None = None  # older than now - retention -> too_old (None: no window)
    floor_ns: int = FLOOR_NS  # before this -> too_old always (clock reset to 1970/2000)

    def window(self, now_ns: int) -> Window:
        oldest = self.floor_ns
        if self.retention_ns is not None:
            oldest = max(oldest, now_ns - self.retention_ns)
        return Window(oldest, now_ns + self.max_future_ns)


_DEFAULT = IngestPolicy()

# Devices publish on the same topic for years: parse each once (a pure memo, bounded).
_TOPIC_MEMO = 4_096
_MISSING = topics.DeviceTopic("", "", "")
_TOPICS: dict[tuple[str, str], topics.DeviceTopic | None] = {}


class _Rejecter:
    """Builds the Rejections of one message; the payload head is decoded once, if ever."""

    __slots__ = ("_folded", "_head", "now_ns", "outcome", "payload", "sensor", "topic")

    def __init__(self, topic: str, payload: bytes, now_ns: int, outcome: Outcome) -> None:
        self.topic = topic
        self.payload = payload
        self.now_ns = now_ns
        self.outcome = outcome
        self.sensor: str | None = None
        self._head: str | None = None
        self._folded = 0

    def __call__(self, reason: RejectReason, detail: str, metric: str | None = None) -> None:
        if len(self.outcome.rejections) >= MAX_ITEMIZED:
            self._folded += 1
            return
        if self._head is None:
            self._head = self.payload[: HEAD_CHARS * 4].decode("utf-8", "replace")[:HEAD_CHARS]
            self.topic = shown(self.topic, 256)
        self.outcome.rejections.append(
            Rejection(
                reason=reason,
                topic=self.topic,
                received_at_ns=self.now_ns,
                detail=detail,
                sensor=self.sensor,
                payload_head=self._head,
                metric=metric,
            )
        )

    def finish(self) -> None:
        """Add the summary of what was refused past MAX_ITEMIZED, if anything was."""
        if self._folded:
            folded, self._folded = self._folded, 0
            self.outcome.rejections.append(
                Rejection(
                    reason=RejectReason.TOO_LARGE,
                    topic=self.topic,
                    received_at_ns=self.now_ns,
                    detail=f"{folded} more refused values in this message, not itemized",
                    sensor=self.sensor,
                    payload_head=self._head or "",
                )
            )


def ingest(
    topic: str,
    payload: bytes,
    registry: Registry,
    now_ns: int,
    policy: IngestPolicy = _DEFAULT,
) -> Outcome:
    """The measurements and rejections of one telemetry message received at `now_ns`."""
    clean = _clean(topic, payload, registry, now_ns, policy)
    if clean is not None:
        return Outcome([clean], [])
    return ingest_in_full(topic, payload, registry, now_ns, policy)


def _clean(
    topic: str, payload: bytes, registry: Registry, now_ns: int, policy: IngestPolicy
) -> Measurement | None:
    """The Measurement of a message that is one reading with nothing to refuse or convert,
    else None (the full path then judges it): a known telemetry topic of the sensor's kind,
    a JSON object within the size limit with a `ts` in the window, known metrics under
    `values` and only `seq` and health fields beside them, every value a plain number in range."""
    where = _TOPICS.get((policy.prefix, topic))
    if where is None or where.channel != topics.TELEMETRY or len(payload) > policy.max_payload:
        return None
    placement = registry.get(where.sensor)
    if placement is None:
        return None
    sensor = placement.sensor
    if where.kind != sensor.kind:
        return None
    try:
        doc = json_decode(payload)
    except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
        return None
    if type(doc) is not dict or "readings" in doc:
        return None
    values = doc.get("values")
    ts = doc.get("ts")
    if type(values) is not dict or not values or ts is None:
        return None
    try:
        ts_ns = timestamp_ns(ts)
    except TimestampError:
        return None
    oldest = policy.floor_ns
    if policy.retention_ns is not None:
        oldest = max(oldest, now_ns - policy.retention_ns)
    if not oldest <= ts_ns <= now_ns + policy.max_future_ns:
        return None
    limits = LIMITS[sensor.kind]
    fields: dict[str, float] = {}
    for name, raw in values.items():
        lim = limits.get(name)
        t = type(raw)
        if lim is None or (t is not float and t is not int) or not lim[0] <= raw <= lim[1]:
            return None
        fields[name] = raw if t is float else float(raw)
    seq = None
    if len(doc) > 2:
        for name, raw in doc.items():
            if name == "ts" or name == "values":
                continue
            t = type(raw)
            if name == SEQ_FIELD:
                if t is not int or not 0 <= raw <= SEQ_MAX:
                    return None
                seq = raw
                continue
            lim = HEALTH_LIMITS.get(name)
            if (
                lim is None
                or (t is not float and t is not int)
                or not lim[0] <= raw <= lim[1]
                or name in fields
            ):
                return None
            fields[name] = raw if t is float else float(raw)
    return Measurement(
        sensor.id, sensor.kind, placement.grid.id, placement.community.id, ts_ns, fields, seq
    )


def ingest_in_full(
    topic: str,
    payload: bytes,
    registry: Registry,
    now_ns: int,
    policy: IngestPolicy = _DEFAULT,
) -> Outcome:
    """`ingest` without the clean-reading shortcut: every message judged part by part."""
    outcome = Outcome()
    reject = _Rejecter(topic, payload, now_ns, outcome)
    try:
        _ingest(topic, payload, registry, now_ns, policy, reject)
    except Exception as e:  # the last guard of the receive loop; tests assert it never fires
        outcome.measurements.clear()
        reject(RejectReason.MALFORMED, f"internal error while decoding: {type(e).__name__}")
    reject.finish()
    return outcome


def _ingest(
    topic: str,
    payload: bytes,
    registry: Registry,
    now_ns: int,
    policy: IngestPolicy,
    reject: _Rejecter,
) -> None:
    key = (policy.prefix, topic)
    where = _TOPICS.get(key, _MISSING)
    if where is _MISSING:
        if len(_TOPICS) >= _TOPIC_MEMO:
            _TOPICS.clear()  # junk topics cannot grow it without bound
        where = _TOPICS[key] = topics.parse(topic, policy.prefix)
    if where is None or where.channel != topics.TELEMETRY:
        reject(RejectReason.MALFORMED, f"not a telemetry topic under {policy.prefix!r}")
        return
    placement = registry.get(where.sensor)
    if placement is None:
        if registry.is_retired(where.sensor):
            reject.sensor = where.sensor
            reject(RejectReason.RETIRED_SENSOR, f"sensor {where.sensor!r} is retired")
            return
        reject(RejectReason.UNKNOWN_SENSOR, f"no sensor {shown(where.sensor)!r} in the registry")
        return
    reject.sensor = placement.sensor.id
    if where.kind != placement.sensor.kind:
        reject(
            RejectReason.KIND_MISMATCH,
            f"topic says {shown(where.kind)!r}, the registry says {placement.sensor.kind.value!r}",
        )
        return
    if len(payload) > policy.max_payload:
        reject(RejectReason.TOO_LARGE, f"{len(payload)} bytes (at most {policy.max_payload})")
        return
    try:
        readings = decode(payload, policy.max_batch)
    except DecodeError as e:
        reject(e.reason, e.detail)
        return
    reject.outcome.measurements = judge(readings, placement, now_ns, policy.window(now_ns), reject)


def parse_status(payload: bytes) -> bool | None:
    """A device's retained status: "online" -> True, "offline" -> False, anything else None.

    Case, surrounding whitespace and JSON string quotes are tolerated."""
    text = payload[:32].strip().strip(b'"').strip().lower()
    if text == b"online":
        return True
    if text == b"offline":
        return False
    return None
