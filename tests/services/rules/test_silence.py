"""Offline on the hub clock, the start-up grace, and one incident for a silent community."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from domain.breach import Breach, Change
from services.rules import RuleEngine
from services.rules.state import RuleStateStore
from tests.services.rules.conftest import MIN, T0, reading

R, C = Change.RAISED, Change.CLEARED
QINGPING = ["pond-01", "water-01", "power-01", "sewer-01"]
HUASHAN = [f"hs-{i:02d}" for i in range(5)]


def run(
    engine: RuleEngine, start: int, minutes: int, reporting: Callable[[int], Iterable[str]]
) -> list[tuple[int, Breach]]:
    """Each minute the sensors `reporting(minute)` send a reading, then the hub ticks.
    Returns (minute, breach) for offline and community breaches."""
    out: list[tuple[int, Breach]] = []
    for minute in range(minutes):
        now = start + minute * MIN
        for sensor in reporting(minute):
            out += [
                (minute, b)
                for b in engine.evaluate(reading(sensor, now, rssi_dbm=-70.0), received_ns=now)
            ]
        out += [(minute, b) for b in engine.tick(now)]
    return [(m, b) for m, b in out if b.rule in ("sensor.offline", "community.silent")]


def everyone_but(*silent: str, after: int = 20) -> Callable[[int], list[str]]:
    def reporting(minute: int) -> list[str]:
        return [s for s in QINGPING + HUASHAN if minute < after or s not in silent]

    return reporting


def test_no_offline_within_the_grace_period(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    assert engine.tick(T0 + 9 * MIN) == []  # nobody has reported, but the hub just started


def test_a_silent_sensor_goes_offline_after_three_intervals_and_settle(
    make_engine: Callable[..., RuleEngine],
) -> None:
    got = run(make_engine(), T0, 40, everyone_but("water-01"))
    assert [(m, b.sensor, b.change) for m, b in got] == [(27, "water-01", R)]
    raised = got[0][1]
    assert raised.since_ns == T0 + 19 * MIN  # last heard
    assert raised.comparison == "offline"
    assert raised.threshold == 180.0


def test_a_reading_clears_offline(make_engine: Callable[..., RuleEngine]) -> None:
    def reporting(minute: int) -> list[str]:
        back = minute < 20 or minute >= 35
        return [s for s in QINGPING + HUASHAN if back or s != "water-01"]

    got = run(make_engine(), T0, 40, reporting)
    assert [(m, b.change) for m, b in got] == [(27, R), (35, C)]


def test_a_community_falling_silent_is_one_incident(
    make_engine: Callable[..., RuleEngine],
) -> None:
    got = run(make_engine(), T0, 60, everyone_but(*HUASHAN))
    assert [(b.sensor, b.rule, b.change) for _, b in got] == [("huashan", "community.silent", R)]
    incident = got[0][1]
    assert incident.value == 5.0
    assert incident.since_ns == T0 + 19 * MIN


def test_two_of_five_silent_is_not_an_incident(make_engine: Callable[..., RuleEngine]) -> None:
    got = run(make_engine(), T0, 40, everyone_but("hs-00", "hs-01"))
    assert sorted((b.sensor, b.rule) for _, b in got) == [
        ("hs-00", "sensor.offline"),
        ("hs-01", "sensor.offline"),
    ]


def test_incident_clears_when_most_return_and_the_rest_go_offline_alone(
    make_engine: Callable[..., RuleEngine],
) -> None:
    def reporting(minute: int) -> list[str]:
        if 20 <= minute < 40:
            return QINGPING
        return [s for s in QINGPING + HUASHAN if minute < 20 or s != "hs-04"]

    got = run(make_engine(), T0, 50, reporting)
    assert [(b.sensor, b.rule, b.change) for _, b in got] == [
        ("huashan", "community.silent", R),
        ("huashan", "community.silent", C),
        ("hs-04", "sensor.offline", R),
    ]


def test_restart_gives_a_grace_period_and_keeps_an_open_incident(
    make_engine: Callable[..., RuleEngine],
    new_store: Callable[[], RuleStateStore],
) -> None:
    store = new_store()
    first = make_engine()
    run(first, T0, 30, everyone_but(*HUASHAN))
    store.save(first.changes())
    later = T0 + 3 * 60 * MIN  # the hub was down three hours; everyone reports again
    second = make_engine(state=store.load(), started_ns=later)
    got = run(second, later, 30, lambda minute: QINGPING + HUASHAN)
    assert [(b.sensor, b.change) for _, b in got] == [("huashan", C)]


def test_restart_with_no_readings_yet_opens_nothing_during_grace(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine(started_ns=T0 + 999 * MIN)
    got = run(engine, T0 + 999 * MIN, 10, lambda minute: [])
    assert got == []


def test_offline_in_a_maintenance_window_waits(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine(maintenance=[("water-01", T0, T0 + 45 * MIN)])
    got = run(engine, T0, 50, everyone_but("water-01"))
    assert [(m, b.sensor, b.change) for m, b in got] == [(45, "water-01", R)]
