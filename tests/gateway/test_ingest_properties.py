"""Properties of ingest() on hostile input: only declared outcomes, one measurement per instant,
and every value accounted for exactly once."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import CATALOG, HEALTH, Kind
from domain.measurement import Outcome
from gateway.ingest import IngestPolicy, _clean, ingest, ingest_in_full
from tests.gateway.ingest_site import NOW_NS, POND, TS, registry

REG = registry()
POLICY = IngestPolicy(max_payload=1 << 20)  # let the fuzzers reach the decoder


def check_invariants(out: Outcome) -> None:
    """What must hold for any message, good or bad."""
    instants = [m.ts_ns for m in out.measurements]
    assert len(instants) == len(set(instants)), "more than one measurement for an instant"
    for m in out.measurements:
        assert m.fields or m.seq is not None
        for name, v in m.fields.items():
            spec = CATALOG[m.kind].get(name) or HEALTH[name]
            assert type(v) is float
            assert math.isfinite(v)
            assert spec.lo <= v <= spec.hi
        assert m.seq is None or (type(m.seq) is int and m.seq >= 0)
        assert m.ts_ns <= NOW_NS + POLICY.max_future_ns
        assert m.ts_ns >= POLICY.floor_ns
    for r in out.rejections:
        assert not r.detail.startswith("internal error"), r.detail
        assert len(r.payload_head) <= 200
        r.detail.encode("utf-8")
        r.payload_head.encode("utf-8")
        r.topic.encode("utf-8")
        if r.metric is not None:
            r.metric.encode("utf-8")


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_escape(payload: bytes) -> None:
    check_invariants(ingest(POND, payload, REG, NOW_NS, POLICY))


@given(st.text(max_size=200), st.binary(max_size=200))
def test_arbitrary_topics_never_escape(topic: str, payload: bytes) -> None:
    check_invariants(ingest(topic, payload, REG, NOW_NS, POLICY))


NAMES = st.sampled_from(
    ["ts", "values", "readings", "seq", "battery_v", "rssi_dbm", "do", "ph", "temp", "orp",
     "bn", "bt", "bu", "bv", "n", "u", "v", "t", "vs", "vb", "K", "Cel", "voltage", "x_"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([TS, TS * 1000, TS + 0.5, 0, -1, 2**28, 2**63, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["2025-11-26T08:00:00Z", "1970-01-01T00:00:00Z", "K", "Cel", "mV"]),
)
TREES = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=6) | st.dictionaries(NAMES | st.text(max_size=8), kids, max_size=6)
    ),
    max_leaves=40,
)


@given(TREES)
def test_arbitrary_json_trees_never_escape(tree: Any) -> None:
    payload = json.dumps(tree, allow_nan=True).encode()  # NaN/Infinity literals on purpose
    check_invariants(ingest(POND, payload, REG, NOW_NS, POLICY))


@given(TREES, st.lists(st.tuples(st.integers(min_value=0), st.binary(min_size=1, max_size=4))))
def test_json_with_spliced_bytes_never_escapes(tree: Any, splices: list[tuple[int, bytes]]) -> None:
    """Near-JSON: valid text with random bytes (invalid UTF-8, stray quotes) spliced in."""
    payload = json.dumps(tree, allow_nan=True, ensure_ascii=False).encode()
    for at, junk in splices:
        at %= len(payload) + 1
        payload = payload[:at] + junk + payload[at:]
    check_invariants(ingest(POND, payload, REG, NOW_NS, POLICY))


@given(st.lists(st.dictionaries(NAMES, TREES, max_size=5), max_size=8))
def test_arbitrary_senml_like_packs_never_escape(records: list[dict[str, Any]]) -> None:
    payload = json.dumps(records, allow_nan=True).encode()
    check_invariants(ingest(POND, payload, REG, NOW_NS, POLICY))


# ---------------------------------------------------------------- every value accounted for

POND_NAMES = [*CATALOG[Kind.POND], *HEALTH, "seq", "salinity", "voltage"]
VALUES: st.SearchStrategy[Any] = st.one_of(
    st.floats(min_value=-1000, max_value=30000),
    st.integers(min_value=-5, max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, "5.8", [], {}]),
)
TIMES = st.one_of(
    st.none(),
    st.sampled_from([TS, TS - 1, TS * 1000, "2025-11-26T08:00:00Z", 0, TS + 10**6, "bad", True]),
    st.integers(min_value=TS - 10, max_value=TS + 10),
)


@settings(max_examples=200)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.tuples(
                    TIMES,
                    st.lists(st.sampled_from(POND_NAMES), min_size=k, max_size=k, unique=True),
                    st.lists(VALUES, min_size=k, max_size=k),
                ),
                min_size=1,
                max_size=12,
            ),
        )
    )
)
def test_every_value_is_stored_or_rejected_exactly_once(
    case: tuple[int, list[tuple[Any, list[str], list[Any]]]],
) -> None:
    k, spec = case
    readings = [
        {**({} if ts is None else {"ts": ts}), "values": dict(zip(names, vals, strict=True))}
        for ts, names, vals in spec
    ]
    payload = json.dumps({"readings": readings}, allow_nan=True).encode()
    out = ingest(POND, payload, REG, NOW_NS, POLICY)
    check_invariants(out)
    stored = sum(len(m.fields) + (m.seq is not None) for m in out.measurements)
    per_value = sum(r.metric is not None for r in out.rejections)
    per_reading = sum(r.metric is None for r in out.rejections)
    assert stored + per_value + k * per_reading == k * len(readings)


SENML_TIMES = st.sampled_from([None, TS, TS - 1, TS * 1000, TS + 10**6, 10, -60, 0.5, 1e300])


@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.tuples(
                    SENML_TIMES,
                    st.lists(st.sampled_from(POND_NAMES), min_size=k, max_size=k, unique=True),
                    st.lists(VALUES, min_size=k, max_size=k),
                ),
                min_size=1,
                max_size=8,
                unique_by=lambda g: g[0],
            ),
        )
    )
)
def test_every_senml_record_is_stored_or_rejected_exactly_once(
    case: tuple[int, list[tuple[Any, list[str], list[Any]]]],
) -> None:
    k, groups = case
    pack = [
        {"n": name, "v": value, **({} if t is None else {"t": t})}
        for t, names, values in groups
        for name, value in zip(names, values, strict=True)
    ]
    out = ingest(POND, json.dumps(pack, allow_nan=True).encode(), REG, NOW_NS, POLICY)
    check_invariants(out)
    stored = sum(len(m.fields) + (m.seq is not None) for m in out.measurements)
    per_value = sum(r.metric is not None for r in out.rejections)
    per_time = sum(r.metric is None for r in out.rejections)
    assert stored + per_value + k * per_time == len(pack)


# ---------------------------------------------------------------- the clean-reading shortcut

TOPICS = st.sampled_from(
    [POND, "sensors/water/pond-qp-01/telemetry", "sensors/pond/nobody/telemetry", "x/y"]
)
TOP_NAMES = st.sampled_from(["ts", "values", "seq", "battery_v", "rssi_dbm", "readings", "x_"])
IN_RANGE = ["do", "ph", "orp", "nh3n", "temp", "turbidity", "transparency", "chla", "battery_v"]
"""Pond fields whose ranges all hold 2..5."""
PLAUSIBLE: st.SearchStrategy[Any] = st.one_of(
    st.floats(min_value=2, max_value=5),
    st.integers(min_value=2, max_value=5),
    st.sampled_from([2, 2.0, 5, 5.0, 4.999999999999999]),
)
CLEAN = st.fixed_dictionaries(  # mostly what the shortcut takes, now and then one thing not
    {
        "ts": st.one_of(st.just(TS), st.just(float(TS) + 0.25), st.just(TS * 1000)),
        "values": st.dictionaries(
            st.sampled_from(IN_RANGE), st.one_of(*[PLAUSIBLE] * 8, VALUES), min_size=1, max_size=5
        ),
    },
    optional={
        "seq": st.one_of(st.integers(min_value=0, max_value=2**63 + 1), st.just(-1), VALUES),
        "battery_v": st.one_of(*[PLAUSIBLE] * 4, VALUES),
        "rssi_dbm": st.one_of(st.integers(min_value=-141, max_value=1), VALUES),
    },
)
SINGLE = st.fixed_dictionaries(
    {"ts": TIMES, "values": st.dictionaries(st.sampled_from(POND_NAMES), VALUES, max_size=6)},
    optional={"seq": VALUES, "battery_v": VALUES, "rssi_dbm": VALUES, "x_": VALUES},
)


@settings(max_examples=1000)
@given(
    st.one_of(st.just(POND), TOPICS),
    st.one_of(CLEAN, SINGLE, st.dictionaries(TOP_NAMES, TREES, max_size=5)),
)
def test_the_shortcut_gives_what_the_full_path_gives(topic: str, doc: dict[str, Any]) -> None:
    """`ingest` takes a clean single reading without the full path; for every message the
    outcome is the full path's, to the field."""
    payload = json.dumps(doc, allow_nan=True).encode()
    assert ingest(topic, payload, REG, NOW_NS, POLICY) == ingest_in_full(
        topic, payload, REG, NOW_NS, POLICY
    )


def test_the_shortcut_takes_the_common_reading() -> None:
    payload = json.dumps(
        {"ts": TS, "seq": 812, "battery_v": 3.61, "values": {"do": 5.8, "ph": 7, "temp": 18.4}}
    ).encode()
    ingest_in_full(POND, payload, REG, NOW_NS, POLICY)  # the topic is memoized
    clean = _clean(POND, payload, REG, NOW_NS, POLICY)
    assert clean is not None
    assert clean.fields == {"do": 5.8, "ph": 7.0, "temp": 18.4, "battery_v": 3.61}
    assert type(clean.fields["ph"]) is float
    assert (clean.seq, clean.ts_ns, clean.hub_timed) == (812, TS * 10**9, False)
    assert ingest(POND, payload, REG, NOW_NS, POLICY).measurements == [clean]
