"""The engine and the rule book follow a new registry version (contract §7): a moved sensor
keeps its pending duration, a retired one's state is dropped, a sensor's own rule patch from the
registry takes effect."""

from __future__ import annotations

from typing import Any

from domain.breach import Change
from domain.site import Registry, parse_site
from services.rules import RuleEngine, load_rules
from tests.services.rules.conftest import MIN, T0, _site, changes, feed


def version(**edit: Any) -> Registry:
    site = _site()
    for sensor in site["sensors"]:
        sensor.update(edit.get(sensor["id"], {}))
    site["sensors"] = [s for s in site["sensors"] if s["id"] not in edit.get("retire", ())]
    return Registry(parse_site(site))


def low_do(start: int, minutes: int) -> list[tuple[int, dict[str, float]]]:
    return [(start + i * MIN, {"do": 1.5}) for i in range(minutes)]


def test_a_moved_sensor_keeps_its_pending_duration() -> None:
    live = version()
    book = load_rules(registry=live)
    engine = RuleEngine(book, live, started_ns=T0)
    assert changes(feed(engine, "pond-01", low_do(T0, 40)), "pond.low_oxygen") == []
    live.swap(version(**{"pond-01": {"grid": "hs-g1"}}))  # to huashan, 40 min into the hour
    engine.follow(live)
    raised = changes(feed(engine, "pond-01", low_do(T0 + 40 * MIN, 25)), "pond.low_oxygen")
    assert raised == [Change.RAISED]  # the hour ran on across the move, not from zero


def test_a_retired_sensor_state_is_dropped() -> None:
    live = version()
    engine = RuleEngine(load_rules(registry=live), live, started_ns=T0)
    feed(engine, "pond-01", low_do(T0, 40))
    engine.changes()
    live.swap(version(retire=("pond-01",)))
    engine.follow(live)
    gone = engine.changes()
    assert ("pond-01", "pond.low_oxygen") in gone
    assert gone[("pond-01", "pond.low_oxygen")] is None  # deleted at the next save
    assert all(s != "pond-01" for s, _ in engine.active())


def test_a_sensors_rule_patch_from_the_registry_takes_effect() -> None:
    live = version()
    book = load_rules(registry=live)
    engine = RuleEngine(book, live, started_ns=T0)
    live.swap(version(**{"pond-01": {"rules": {"pond.low_oxygen": {"for": "10min"}}}}))
    book.follow(live)
    engine.follow(live)
    raised = changes(feed(engine, "pond-01", low_do(T0, 15)), "pond.low_oxygen")
    assert raised == [Change.RAISED]  # after 10 minutes, not the default hour
