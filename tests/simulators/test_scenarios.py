"""The shipped scenario files validate, and their expected tickets follow from the data they
put on the wire (judged by domain.md §2's thresholds) — with no other ticket firing."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.catalog import Kind
from domain.site import Site
from simulators import demo
from simulators.device import Emission
from simulators.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from tests.simulators.conftest import involved, load, run
from tests.simulators.reference_rules import evaluate
from tests.simulators.wire import decode

NAMES = ["black-odorous-pond", "faulty-sensor-week", "leak", "outage", "storm-night"]


def test_the_demo_site_has_about_100_sensors_of_every_kind_in_three_communities(
    demo_site: Site,
) -> None:
    assert 90 <= len(demo_site.sensors) <= 110
    assert {s.kind for s in demo_site.sensors} == set(Kind)
    names = {c.name for c in demo_site.communities}
    assert names == {"朝阳社区", "清平社区", "工矿社区"}
    for c in demo_site.communities:
        assert 2 <= len(c.grids) <= 3
        assert c.supervisor.name
        assert all(g.worker.name for g in c.grids)
    for s in demo_site.sensors:
        assert s.location is not None
        assert abs(s.location.lat - 30.66) < 0.02
        assert abs(s.location.lon - 104.06) < 0.04


def test_all_five_scenarios_ship() -> None:
    assert demo.scenario_names() == NAMES


def check(sc: Scenario, site: Site, emissions: list[Emission], only: set[str] | None) -> None:
    start = sc.start.timestamp()
    seen = []
    for e in emissions:
        if e.topic.endswith("/telemetry"):
            readings = decode(e) or []
            # what a gateway stores: not before 2010, not more than 5 min ahead of its clock
            seen += [r for r in readings if 1.2624e9 <= r.ts <= e.due + 300]
    fired = evaluate(seen, {s.id: s.kind for s in site.sensors}, site.tz)
    expected = {(x.sensor, x.rule): x for x in sc.expect if only is None or x.sensor in only}
    assert set(fired) == set(expected), "tickets beyond or missing from the scenario's expect"
    for key, x in expected.items():
        f = fired[key]
        assert f.severity == x.severity, key
        assert start + x.after <= f.opened, key
        assert x.before is None or f.opened <= start + x.before, key


@pytest.mark.parametrize("name", NAMES)
def test_expected_tickets_follow_from_the_data_of_the_sensors_named(name: str) -> None:
    sc, site = load(name)
    only = involved(sc)
    check(sc, site, run(sc, site, only), only)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_no_other_sensor_of_the_site_raises_a_ticket(name: str) -> None:
    sc, site = load(name)
    check(sc, site, run(sc, site), None)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_errors_name_the_file_the_entry_and_the_field(tmp_path: Path, demo_site: Site) -> None:
    p = write(
        tmp_path,
        "name: x\nsite: s.yaml\nstart: 2025-07-14T18:00:00+08:00\n"
        "faults:\n  - {type: spike, sensor: pond-cy-01, metric: do, size: 1, every: soon}\n",
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(p, demo_site)
    msg = str(err.value)
    assert str(p) in msg
    assert "faults[0] (pond-cy-01).every" in msg
    assert "soon" in msg


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("events: [{type: burst, sensors: [pond-cy-01], at: 1h}]", "is pond, not water"),
        ("faults: [{type: stuck, sensor: nope-01, at: 1h}]", "unknown sensor 'nope-01'"),
        ("faults: [{type: drift, sensor: pond-cy-01, metric: flow}]", "pond has no metric 'flow'"),
        ("expect: [{sensor: pond-cy-01, rule: pond.smelly, severity: warning}]", "unknown rule"),
        ("expect: [{sensor: pond-cy-01, rule: pond.ph, severity: bad}]", "expect[0]"),
        ("events: [{type: hail, at: 1h}]", "events[0]"),
    ],
)
def test_bad_references_are_refused(entry: str, words: str, demo_site: Site) -> None:
    data = {"name": "x", "site": "s.yaml", "start": "2025-07-14T18:00:00+08:00"}
    import yaml

    data.update(yaml.safe_load(entry))
    with pytest.raises(ScenarioError, match=r"bad\.yaml") as err:
        parse_scenario(data, "bad.yaml", demo_site)
    assert words in str(err.value)


def test_a_start_without_offset_is_refused(demo_site: Site) -> None:
    with pytest.raises(ScenarioError, match="UTC offset"):
        parse_scenario({"name": "x", "site": "s", "start": "2025-07-14T18:00:00"}, "f", demo_site)
