"""Hypothesis fuzzing of the data path's pure half: any message through `ingest` and the
line-protocol encoder gives only declared outcomes and exactly one point per measurement,
read back by an independent parser (tests/fuzz/oracle.py) as that measurement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import Kind
from domain.measurement import Measurement
from gateway.ingest import IngestPolicy
from tests.fuzz.oracle import NotOnePoint, check, check_encoding, parse_point
from tests.gateway.ingest_site import NOW_NS, POND, POWER, TS, WATER, registry

REG = registry()
POLICY = IngestPolicy(max_payload=1 << 20)
TOPICS = st.sampled_from([POND, WATER, POWER, "sensors/pond/pond-zz/telemetry", "x/y"])

KEYS = st.sampled_from(
    ["ts", "values", "readings", "seq", "battery_v", "do", "ph", "temp", "voltage", "pressure",
     "bn", "bt", "n", "u", "v", "t", "x y", "a,b", "c=d", "e\nf"]
)  # fmt: skip
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([TS, TS * 1000, TS - 3600, TS + 10**6, "2025-11-26T08:00:00Z", "mg/L", "V"]),
    st.text(max_size=12),
)
TREES = st.recursive(
    LEAVES,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(KEYS, kids, max_size=5),
    max_leaves=30,
)


@given(TOPICS, st.binary(max_size=4096))
def test_arbitrary_bytes_give_declared_outcomes_only(topic: str, payload: bytes) -> None:
    check(topic, payload, REG, NOW_NS, POLICY)


@settings(max_examples=300)
@given(TOPICS, TREES)
def test_arbitrary_json_gives_one_point_per_measurement(topic: str, tree: Any) -> None:
    check(topic, json.dumps(tree, allow_nan=True).encode(), REG, NOW_NS, POLICY)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"ts": st.integers(min_value=TS - 10**5, max_value=TS + 100)},
            optional={
                "seq": st.integers(min_value=-5, max_value=2**64),
                "values": st.dictionaries(
                    st.sampled_from(["do", "ph", "temp", "nh3n", "orp", "turbidity", "bogus"]),
                    st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
                    max_size=5,
                ),
            },
        ),
        max_size=30,
    )
)
def test_batches_never_give_two_points_for_one_reading(batch: list[dict[str, Any]]) -> None:
    out = check(POND, json.dumps({"readings": batch}, allow_nan=True).encode(), REG, NOW_NS, POLICY)
    assert len(out.measurements) <= len({r["ts"] for r in batch})


HOSTILE = st.text(st.characters(codec="utf-8") | st.sampled_from(list(',= \\\n\t\r"')), max_size=20)


@given(
    sensor=HOSTILE.filter(bool),
    grid=HOSTILE,
    community=HOSTILE,
    fields=st.dictionaries(
        st.sampled_from(["do", "ph", "temp"]),
        st.floats(allow_nan=False, allow_infinity=False),
        min_size=1,  # as ingest makes them (a hub_timed marker alone is no reading)
        max_size=3,
    ),
    seq=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    hub_timed=st.booleans(),
    ts=st.integers(min_value=0, max_value=2**62),
)
def test_hostile_tag_text_is_one_point(
    sensor: str,
    grid: str,
    community: str,
    fields: dict[str, float],
    seq: int | None,
    hub_timed: bool,
    ts: int,
) -> None:
    m = Measurement(sensor, Kind.POND, grid, community, ts, fields, seq, hub_timed)
    check_encoding([m, m])


def test_the_oracle_rejects_a_forged_second_point() -> None:
    """The parser would catch injection: a raw separator splits a line into more than one."""
    with pytest.raises(NotOnePoint):
        parse_point("pond,sensor=a b=1 2 x=1 3")
    with pytest.raises(NotOnePoint):
        parse_point("pond,sensor=a\npond,sensor=b do=1 2")
    assert parse_point(r"pond,sensor=a\ b\,c do=1 2").tags == {"sensor": "a b,c"}
