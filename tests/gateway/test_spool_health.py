"""The health verdict (gateway/health.py): each finding sets the status it should, and the
JSON form carries the facts an operator reads."""

from __future__ import annotations

import json

from gateway.health import Facts, Status, assess

FINE = Facts(broker_connected=True, session_persistent=True, influx_up=True, spool_enabled=True)


def with_(**changes: object) -> Facts:
    from dataclasses import replace

    return replace(FINE, **changes)  # type: ignore[arg-type]


def test_all_fine_is_ok_with_no_problems() -> None:
    health = assess(FINE)
    assert (health.status, health.problems) == (Status.OK, [])


def test_each_finding_has_its_status() -> None:
    cases = {
        "broker": (with_(broker_connected=False), Status.FAILING),
        "session": (with_(session_persistent=False), Status.DEGRADED),
        "influx": (with_(influx_up=False, spool_depth=10, spool_oldest_age_s=4.0), Status.DEGRADED),
        "full": (with_(spool_full=True), Status.FAILING),
        "dropped": (with_(spool_dropped=3), Status.FAILING),
        "dead": (with_(dead_letters=1), Status.DEGRADED),
        "broker dropped": (with_(broker_dropped=5), Status.DEGRADED),
        "stale": (with_(last_reading_age_s=301.0), Status.DEGRADED),
    }
    got = {name: assess(facts).status for name, (facts, _) in cases.items()}
    assert got == {name: status for name, (_, status) in cases.items()}


def test_the_worst_finding_wins_and_every_problem_is_listed() -> None:
    health = assess(with_(broker_connected=False, dead_letters=2, spool_depth=7))
    assert health.status is Status.FAILING
    assert len(health.problems) == 3
    assert any("7 readings spooled" in p for p in health.problems)


def test_a_recent_reading_is_not_stale() -> None:
    assert assess(with_(last_reading_age_s=10.0), stale_after_s=300).status is Status.OK


def test_json_form_names_the_status_and_keeps_the_facts() -> None:
    doc = assess(with_(spool_depth=4, write_errors={"timeout": 2})).as_dict()
    assert json.loads(json.dumps(doc))["status"] == "degraded"
    assert (doc["spool_depth"], doc["write_errors"]) == (4, {"timeout": 2})
