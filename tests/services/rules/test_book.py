"""The rules file: every default of domain.md §2, overrides, and errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from domain.catalog import Kind
from domain.site import Registry
from services.rules import RuleBook, RuleError, default_rules_text, load_rules
from services.rules.spec import GradeRule, Level, ThresholdRule

RULE_IDS = [
    "pond.low_oxygen",
    "pond.ammonia",
    "pond.reducing",
    "pond.ph",
    "pond.murky",
    "pond.black_odorous",
    "water.chlorine_low",
    "water.chlorine_high",
    "water.turbidity",
    "water.ph",
    "water.pressure_low",
    "water.pressure_high",
    "water.burst",
    "water.tank_low",
    "water.night_leak",
    "power.voltage",
    "power.outage",
    "power.overvoltage",
    "power.frequency",
    "power.load",
    "power.oil_temp",
    "power.power_factor",
    "sewer.surcharge",
    "sewer.overflow",
    "sewer.h2s",
    "sewer.ch4",
    "sewer.o2",
    "sewer.cover",
    "sensor.offline",
    "sensor.stuck",
    "sensor.battery",
    "sensor.implausible",
    "community.silent",
]


def defaults() -> dict[str, object]:
    data = yaml.safe_load(default_rules_text())
    assert isinstance(data, dict)
    return data


def test_defaults_ship_exactly_the_agreed_rule_ids(book: RuleBook) -> None:
    assert sorted(book.site) == sorted(RULE_IDS)


def test_every_default_limit_names_its_source_and_provenance(book: RuleBook) -> None:
    levels: list[Level] = []
    for rule in book.site.values():
        if isinstance(rule, ThresholdRule):
            levels += [lv for lv in (rule.warning, rule.critical) if lv is not None]
        elif isinstance(rule, GradeRule):
            levels += [lv for ind in rule.indicators.values() for lv in (ind.warning, ind.critical)]
        else:
            assert getattr(rule, "source", "")
            assert getattr(rule, "provenance", "")
    assert len(levels) > 50
    assert all(lv.source and lv.provenance in ("S", "S?", "P", "D") for lv in levels)


@pytest.mark.parametrize(
    ("rule_id", "level", "op", "limit", "provenance"),
    [
        ("pond.low_oxygen", "critical", "<", 2.0, "S"),
        ("pond.ammonia", "warning", ">", 2.0, "S"),
        ("pond.reducing", "critical", "<", -200, "S"),
        ("water.chlorine_low", "critical", "<", 0.05, "S"),
        ("water.turbidity", "critical", ">", 1.0, "S"),
        ("water.pressure_high", "critical", ">", 0.60, "S?"),
        ("power.outage", "critical", "<", 132, "S"),
        ("power.oil_temp", "critical", ">", 95, "S?"),
        ("sewer.surcharge", "critical", ">=", 1.0, "P"),
        ("sewer.h2s", "warning", ">=", 10, "P"),
        ("sensor.battery", "critical", "<", 3.2, "P"),
    ],
)
def test_defaults_match_domain_md(
    book: RuleBook, rule_id: str, level: str, op: str, limit: float, provenance: str
) -> None:
    rule = book.site[rule_id]
    assert isinstance(rule, ThresholdRule)
    lv = getattr(rule, level)
    assert (lv.op, lv.value, lv.provenance) == (op, limit, provenance)


def test_bands_and_durations(book: RuleBook) -> None:
    voltage = book.site["power.voltage"]
    assert isinstance(voltage, ThresholdRule)
    assert voltage.warning is not None
    assert voltage.critical is not None
    assert (voltage.warning.band, voltage.critical.band, voltage.for_) == (
        (209, 231),
        (198, 235.4),
        600,
    )


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "site-rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_most_specific_override_wins(tmp_path: Path, registry: Registry) -> None:
    path = write(
        tmp_path,
        {
            "rules": {"pond.low_oxygen": {"for": "30min"}},
            "kinds": {"water": {"sensor.battery": {"for": "2h"}}},
            "sensors": {"pond-01": {"pond.low_oxygen": {"for": "5min"}}},
        },
    )
    book = load_rules(path, registry=registry)
    assert book.site["pond.low_oxygen"].for_ == 1800  # type: ignore[union-attr]
    assert book.for_sensor("pond-01", Kind.POND)["pond.low_oxygen"].for_ == 300  # type: ignore[union-attr]
    assert book.for_sensor("pond-99", Kind.POND)["pond.low_oxygen"].for_ == 1800  # type: ignore[union-attr]
    assert book.for_sensor("water-01", Kind.WATER)["sensor.battery"].for_ == 7200  # type: ignore[union-attr]
    assert book.for_sensor("power-01", Kind.POWER)["sensor.battery"].for_ == 3600  # type: ignore[union-attr]


def test_a_site_limit_is_never_called_a_standard(tmp_path: Path) -> None:
    path = write(tmp_path, {"rules": {"pond.low_oxygen": {"critical": {"value": 1.5}}}})
    rule = load_rules(path).site["pond.low_oxygen"]
    assert isinstance(rule, ThresholdRule)
    assert rule.critical is not None
    assert (rule.critical.value, rule.critical.provenance, rule.critical.limit_zh) == (
        1.5,
        "site",
        "",
    )
    assert "site setting" in rule.critical.source
    assert rule.warning is not None
    assert rule.warning.provenance == "S"


def test_disable_a_rule_for_one_sensor(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, {"sensors": {"sewer-01": {"sewer.cover": {"enabled": False}}}})
    book = load_rules(path, registry=registry)
    assert "sewer.cover" not in book.for_sensor("sewer-01", Kind.SEWER)
    assert "sewer.cover" in book.for_sensor("sewer-02", Kind.SEWER)


def test_a_site_may_add_a_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "rules": {
                "pond.warm": {
                    "type": "threshold",
                    "kind": "pond",
                    "metric": "temp",
                    "for": "1h",
                    "warning": {"op": ">", "value": 30, "source": "site", "provenance": "site"},
                }
            }
        },
    )
    assert "pond.warm" in load_rules(path).for_sensor("x", Kind.POND)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"rules": {"pond.low_oxygen": {"for": "soon"}}},
            "rule pond.low_oxygen: field 'for': Value error, cannot read 'soon' as a duration",
        ),
        (
            {"rules": {"pond.low_oxygen": {"warning": {"value": "three"}}}},
            "rule pond.low_oxygen: field 'warning.value'",
        ),
        (
            {"rules": {"pond.low_oxygen": {"treshold": 3}}},
            "rule pond.low_oxygen: field 'treshold': Extra inputs are not permitted",
        ),
        (
            {"rules": {"pond.low_oxygen": {"critical": {"value": 3.5}}}},
            "rule pond.low_oxygen: the rule: Value error, critical (3.5) must be at or below",
        ),
        (
            {"rules": {"pond.low_oxygen": {"metric": "oxygen"}}},
            "metric 'oxygen' is not in the catalog for kind pond",
        ),
        (
            {"kinds": {"pond": {"pond.nope": {"for": 0}}}},
            "kinds.pond: no rule 'pond.nope' to override",
        ),
        ({"kinds": {"lake": {}}}, "kinds: unknown kind 'lake'"),
        (
            {"sensors": {"pond-01": {"water.ph": {"for": 0}}}},
            "sensors.pond-01: rule water.ph does not apply to pond",
        ),
        ({"sensors": {"ghost-01": {"pond.ph": {"for": 0}}}}, "no sensor 'ghost-01' in the site"),
        (
            {"sensors": {"pond-01": {"pond.ph": {"warning": {"band": [9, 6]}}}}},
            "(sensors.pond-01): rule pond.ph: field 'warning': Value error, band must be",
        ),
        ({"rule": {}}, "unknown section(s) ['rule']"),
        ({"rules": {"Pond Oxygen": {}}}, "rule 'Pond Oxygen': the id must look like"),
    ],
)
def test_invalid_rules_name_file_rule_and_field(
    tmp_path: Path, registry: Registry, data: object, message: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(RuleError) as err:
        load_rules(path, registry=registry)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_unreadable_files_are_rule_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [", encoding="utf-8")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules(bad)


def test_broken_defaults_name_the_defaults_file(tmp_path: Path) -> None:
    data = defaults()
    data["rules"]["water.ph"]["for"] = -1  # type: ignore[index]
    path = tmp_path / "my-defaults.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RuleError, match=r"my-defaults.yaml: rule water.ph: field 'for'"):
        load_rules(defaults=path)
