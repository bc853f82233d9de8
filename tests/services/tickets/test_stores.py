"""The SQL rule-state store and the bounded rejection store."""

from __future__ import annotations

from sqlalchemy import Engine

from domain.measurement import Rejection, RejectReason
from services.db.rejections import RejectionStore
from services.db.rule_state import SqlRuleStateStore


def test_rule_state_round_trip_and_delete(engine: Engine) -> None:
    store = SqlRuleStateStore(engine)
    store.save({("pond-qp-01", "pond.low_oxygen"): {"pending_since": 17, "active": True}})
    store.save({("pond-qp-01", "pond.ph"): {"x": [1, 2]}})
    store.save({("pond-qp-01", "pond.low_oxygen"): {"pending_since": None, "active": False}})
    fresh = SqlRuleStateStore(engine)  # a restarted hub
    assert fresh.load() == {
        ("pond-qp-01", "pond.low_oxygen"): {"pending_since": None, "active": False},
        ("pond-qp-01", "pond.ph"): {"x": [1, 2]},
    }
    fresh.save({("pond-qp-01", "pond.ph"): None})
    assert list(store.load()) == [("pond-qp-01", "pond.low_oxygen")]


def _rej(i: int) -> Rejection:
    return Rejection(
        reason=RejectReason.IMPLAUSIBLE,
        topic="sensors/pond/pond-qp-01/telemetry",
        received_at_ns=i,
        detail=f"do={i} outside 0..25",
        sensor="pond-qp-01",
        payload_head='{"do": 99}' * 100,
        metric="do",
    )


async def test_rejections_keep_the_newest_n(engine: Engine) -> None:
    async with RejectionStore(engine, keep=50, flush_interval_s=0.01) as store:
        for start in range(0, 120, 30):
            await store.record([_rej(i) for i in range(start, start + 30)])
            await store.flush()
    recent = store.recent(1000)
    assert [r.received_at_ns for r in recent] == list(range(119, 69, -1))
    assert recent[0].reason == "implausible"
    assert recent[0].sensor == "pond-qp-01"
    assert len(recent[0].payload_head) == 512
    assert [r.received_at_ns for r in store.recent(3)] == [119, 118, 117]
    assert store.recorded == 120
