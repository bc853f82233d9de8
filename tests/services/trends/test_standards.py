"""The trends' reference limits are the default rule book's: one source, so the trends' grade
and class boundaries and the rules' thresholds cannot disagree."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from services.rules import RuleBook, default_rules_text, load_rules
from services.rules.latch import Limit
from services.rules.spec import GradeRule, ThresholdRule
from services.trends.sewer import episodes
from services.trends.standards import (
    GB3838_DO_MIN,
    GB3838_NH3N_MAX,
    Standards,
    WaterClass,
    standards,
    water_class,
)


def _defaults() -> dict[str, Any]:
    data = yaml.safe_load(default_rules_text())
    assert isinstance(data, dict)
    return data


def _threshold(book: RuleBook, rule_id: str) -> ThresholdRule:
    rule = book.site[rule_id]
    assert isinstance(rule, ThresholdRule)
    return rule


def test_the_limits_are_the_rule_books_own_objects() -> None:
    book = load_rules()
    ref = Standards.of(book)
    grade = book.site["pond.black_odorous"]
    assert isinstance(grade, GradeRule)
    for metric, limits in ref.black_odorous.items():
        assert limits.indicator is grade.indicators[metric]
    overflow, surcharge = _threshold(book, "sewer.overflow"), _threshold(book, "sewer.surcharge")
    assert ref.sewer_events["overflow"].level is overflow.critical
    assert ref.sewer_events["overflow_warning"].level is overflow.warning
    assert ref.sewer_events["surcharge"].level is surcharge.critical
    assert ref.sewer_events["surcharge_warning"].level is surcharge.warning
    shipped = standards()  # the cached reference: the same defaults, read once per process
    assert {m: g.indicator for m, g in shipped.black_odorous.items()} == grade.indicators
    assert shipped.sewer_events["surcharge"].level == surcharge.critical


def test_what_officers_are_told_matches_the_rules() -> None:
    """The numbers of domain.md §2, read back through the trends."""
    ref = standards()
    assert ref.voltage_qualified == (198.0, 235.4)
    assert ref.outage_below_v == 132.0
    assert ref.chlorine_compliant == (0.05, 2.0)
    assert ref.chlorine_warning_min == 0.1
    assert ref.night_window_hours == (2, 5)
    assert {m: (g.light, g.heavy) for m, g in ref.black_odorous.items()} == {
        "transparency": (25.0, 10.0),
        "do": (2.0, 0.2),
        "orp": (50.0, -200.0),
        "nh3n": (8.0, 15.0),
    }


@pytest.mark.parametrize("metric", ["transparency", "do", "orp", "nh3n"])
def test_grade_boundaries_are_where_the_rule_tickets(metric: str) -> None:
    """Around each boundary, the trends' grade is light/heavy exactly where the rule engine's
    compiled limits say warning/critical."""
    book = load_rules()
    grade = book.site["pond.black_odorous"]
    assert isinstance(grade, GradeRule)
    ind = grade.indicators[metric]
    warn, crit = Limit(ind.warning, None), Limit(ind.critical, None)
    limits = standards().black_odorous[metric]
    for edge in (limits.light, limits.heavy):
        for v in (edge - 1e-9, edge, edge + 1e-9):
            expected = "heavy" if crit.violated(v) else "light" if warn.violated(v) else "none"
            assert limits.grade(v) == expected, (metric, v)


def test_the_trends_move_with_the_rule_book() -> None:
    """No copy: change a default and the trends' boundary moves with it."""
    data = _defaults()
    patched = copy.deepcopy(data)
    rules = patched["rules"]
    rules["pond.black_odorous"]["indicators"]["do"]["warning"]["value"] = 2.5
    rules["power.voltage"]["critical"]["band"] = [200, 234]
    rules["water.chlorine_low"]["critical"]["value"] = 0.06
    rules["sewer.overflow"]["critical"]["value"] = 0.25
    ref = Standards.of(RuleBook(patched))
    assert ref.black_odorous["do"].grade(2.4) == "light"
    assert standards().black_odorous["do"].grade(2.4) == "none"
    assert ref.voltage_qualified == (200.0, 234.0)
    assert ref.chlorine_compliant == (0.06, 2.0)
    assert ref.sewer_events["overflow"].holds(0.24)


def test_a_reference_limit_must_stay_a_standards_limit() -> None:
    data = copy.deepcopy(_defaults())
    data["rules"]["power.voltage"]["critical"]["provenance"] = "P"
    with pytest.raises(ValueError, match=r"power\.voltage: provenance P"):
        Standards.of(RuleBook(data))


def test_the_rules_that_quote_gb3838_agree_with_its_class_table() -> None:
    """`pond.low_oxygen` warns below class IV's DO, `pond.ammonia` above class V's NH3-N: a
    reading that trips the warning is classed worse, one that does not is not."""
    book = load_rules()
    do_iv = _threshold(book, "pond.low_oxygen").warning
    nh3n_v = _threshold(book, "pond.ammonia").warning
    assert do_iv is not None
    assert nh3n_v is not None
    assert do_iv.value == GB3838_DO_MIN[WaterClass.IV - 1]
    assert nh3n_v.value == GB3838_NH3N_MAX[WaterClass.V - 1]
    warn_do, warn_nh3n = Limit(do_iv, None), Limit(nh3n_v, None)
    for do in (2.99, 3.0, 3.01):
        cls = water_class(do, None)
        assert cls is not None
        assert warn_do.violated(do) == (cls > WaterClass.IV), do
    for nh3n in (1.99, 2.0, 2.01):
        cls = water_class(None, nh3n)
        assert cls is not None
        assert warn_nh3n.violated(nh3n) == (cls > WaterClass.V), nh3n


def test_surcharge_warning_is_above_0_9_as_the_rule_says() -> None:
    """domain.md and sewer.surcharge: warning when fill > 0.9, surcharge when fill >= 1.0."""
    found = episodes("mh-1", [(0, None, 0.9), (60, None, 0.95), (120, None, 1.0), (180, None, 0.5)])
    assert [(e.event, e.start_ns, e.end_ns) for e in found] == [
        ("surcharge_warning", 60, 120),
        ("surcharge", 120, 120),
    ]
