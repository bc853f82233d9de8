"""Rules beyond a single limit: black-odorous grade, night leak, burst, stuck, implausible."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.breach import Change, Severity
from services.rules import RuleEngine
from services.rules.state import RuleStateStore
from tests.services.rules.conftest import HOUR, MIN, NS, T0, changes, feed

R, H, E, C = Change.RAISED, Change.HOLDING, Change.ESCALATED, Change.CLEARED
HEALTHY_POND = {"do": 6.0, "orp": 150.0, "nh3n": 1.0, "transparency": 40.0}


def pond(minutes: int, start: int = 0, **worse: float) -> list[tuple[int, dict[str, float]]]:
    return [(T0 + (start + m) * MIN, {**HEALTHY_POND, **worse}) for m in range(0, minutes, 10)]


def test_black_odorous_grade_takes_the_worst_indicator(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    series = pond(70, do=1.0) + pond(70, 70, do=1.0, orp=-250.0) + pond(70, 140)
    out = [b for b in feed(engine, "pond-01", series) if b.rule == "pond.black_odorous"]
    got = [(b.change, b.severity, b.metric, b.limit_zh) for b in out if b.change is not H]
    assert got == [
        (R, Severity.WARNING, "do", "轻度黑臭"),
        (E, Severity.CRITICAL, "orp", "重度黑臭"),
        (C, Severity.CRITICAL, "transparency", "轻度黑臭"),  # the first indicator, all clear
    ]
    assert out[0].threshold == 2.0
    assert out[0].source.startswith("城市黑臭水体整治工作指南")


def test_grade_light_in_one_indicator_heavy_in_none_stays_warning(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    series = pond(130, nh3n=9.0, transparency=20.0)
    out = [b for b in feed(engine, "pond-01", series) if b.rule == "pond.black_odorous"]
    assert {b.severity for b in out} == {Severity.WARNING}
    assert changes(out) == [R]


SHANGHAI = ZoneInfo("Asia/Shanghai")


def flow_days(nights: list[float]) -> list[tuple[int, dict[str, float]]]:
    """Half-hourly flow: 5 m³/h by day, each night's 02:00–05:00 minimum as given."""
    start = datetime(2025, 6, 1, tzinfo=SHANGHAI)
    out = []
    for day, night_min in enumerate(nights):
        for half_hour in range(48):
            t = start + timedelta(days=day, minutes=30 * half_hour)
            in_night = 2 <= t.hour < 5
            flow = (night_min + (0.5 if half_hour % 2 else 0.0)) if in_night else 5.0
            out.append((int(t.timestamp()) * NS, {"flow": flow}))
    return out


def test_night_leak_two_nights_warn_then_escalate_then_clear(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    nights = [1.0] * 7 + [1.3, 1.3, 1.6, 1.6, 1.0, 1.0]
    out = [b for b in feed(engine, "water-01", flow_days(nights)) if b.rule == "water.night_leak"]
    assert [(b.change, b.severity) for b in out] == [
        (R, Severity.WARNING),
        (H, Severity.WARNING),
        (E, Severity.CRITICAL),
        (C, Severity.CRITICAL),
    ]
    raised = out[0]
    night8 = datetime(2025, 6, 8, 2, 0, tzinfo=SHANGHAI)
    assert raised.since_ns == int(night8.timestamp()) * NS
    assert datetime.fromtimestamp(raised.at_ns / NS, SHANGHAI) == datetime(
        2025, 6, 9, 5, 0, tzinfo=SHANGHAI
    )
    assert (raised.value, raised.threshold) == (1.3, 1.2)


def test_one_high_night_is_not_a_leak(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    nights = [1.0] * 7 + [1.4, 1.0, 1.4, 1.0]
    assert changes(feed(engine, "water-01", flow_days(nights)), "water.night_leak") == []


def test_no_judgement_while_learning_the_baseline(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    assert changes(feed(engine, "water-01", flow_days([1.0, 3.0, 3.0])), "water.night_leak") == []


def pressure(values: list[float], step: int = MIN) -> list[tuple[int, dict[str, float]]]:
    return [(T0 + i * step, {"pressure": v}) for i, v in enumerate(values)]


def test_burst_is_a_fast_drop(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    values = [0.30] * 5 + [0.28, 0.24, 0.23, 0.23] + [0.30] * 8
    out = [b for b in feed(engine, "water-01", pressure(values)) if b.rule == "water.burst"]
    assert [b.change for b in out] == [R, H, H, C]
    raised = out[0]
    assert raised.severity is Severity.CRITICAL
    assert raised.comparison == "drop"
    assert abs((raised.value or 0) - 0.06) < 1e-9
    assert raised.since_ns == T0 + 6 * MIN  # the first reading showing the fall (0.24)
    assert out[-1].at_ns == T0 + 14 * MIN  # back at 0.30 from minute 9, held 5 min


def test_a_slow_decline_is_not_a_burst(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    values = [0.30 - 0.004 * i for i in range(30)]  # 0.02 MPa per 5 min
    assert changes(feed(engine, "water-01", pressure(values)), "water.burst") == []


def test_stuck_after_45_samples_of_do(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    series = [(T0 + i * 5 * MIN, {"do": 7.0, "temp": 20.0 + i / 10}) for i in range(50)]
    series += [(T0 + 50 * 5 * MIN, {"do": 7.3, "temp": 26.0})]
    out = [b for b in feed(engine, "pond-01", series) if b.rule == "sensor.stuck"]
    assert changes(out) == [R, C]
    raised = out[0]
    assert (raised.metric, raised.since_ns, raised.at_ns) == ("do", T0, T0 + 44 * 5 * MIN)


def test_stuck_after_6h_within_resolution(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    jitter = [0.0, 0.04, -0.04]  # below half the 0.1 °C resolution
    series = [
        (T0 + i * 20 * MIN, {"temp": 20.0 + jitter[i % 3], "do": 5.0 + i / 10}) for i in range(20)
    ]
    out = [b for b in feed(engine, "pond-01", series) if b.rule == "sensor.stuck"]
    raised = next(b for b in out if b.change is R)
    assert (raised.metric, raised.at_ns) == ("temp", T0 + 6 * HOUR)


def test_a_moving_value_is_not_stuck(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    series = [(T0 + i * 20 * MIN, {"temp": 20.0 + 0.1 * (i % 2)}) for i in range(40)]
    assert changes(feed(engine, "pond-01", series), "sensor.stuck") == []


def test_sewer_gas_at_zero_for_days_is_not_stuck(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    series = [(T0 + i * HOUR, {"h2s": 0.0, "ch4": 0.0}) for i in range(72)]
    assert changes(feed(engine, "sewer-01", series), "sensor.stuck") == []


def test_only_implausible_values_for_an_hour(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine()
    out = []
    for i in range(13):
        out += engine.note_implausible("water-01", T0 + i * 5 * MIN, "pressure")
    assert [(b.change, b.since_ns, b.at_ns) for b in out] == [(R, T0, T0 + HOUR)]
    cleared = feed(engine, "water-01", [(T0 + 70 * MIN, {"pressure": 0.3})])
    assert [(b.rule, b.change) for b in cleared] == [("sensor.implausible", C)]


def test_implausible_interrupted_by_a_good_value_is_nothing(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    out = []
    for i in range(13):
        if i == 6:
            out += feed(engine, "water-01", [(T0 + i * 5 * MIN, {"pressure": 0.3})])
        else:
            out += engine.note_implausible("water-01", T0 + i * 5 * MIN, "pressure")
    assert changes(out, "sensor.implausible") == []


def test_implausible_metric_does_not_hide_behind_good_other_metrics(
    make_engine: Callable[..., RuleEngine],
) -> None:
    """A broken chlorine probe on a sensor whose pressure is fine still gets a ticket."""
    engine = make_engine()
    out = []
    for i in range(13):
        ts = T0 + i * 5 * MIN
        out += feed(engine, "water-01", [(ts, {"pressure": 0.3})])
        out += engine.note_implausible("water-01", ts, "chlorine")
    assert changes(out, "sensor.implausible") == [R]


def test_a_stuck_run_survives_a_restart_with_its_count(
    make_engine: Callable[..., RuleEngine],
    new_store: Callable[[], RuleStateStore],
) -> None:
    """The runs of every watched metric are persisted as {metric: [value, since, count]}; a
    restart continues them, so the 45th sample still raises at the 45th reading."""
    series = [(T0 + i * 5 * MIN, {"do": 7.0, "ph": 7.0 + i / 20}) for i in range(45)]
    first = make_engine()
    assert feed(first, "pond-01", series[:30]) == []
    store = new_store()
    store.save(first.changes())
    row = store.load()[("pond-01", "sensor.stuck")]
    assert row["runs"] == {"do": [7.0, T0, 30], "ph": [series[29][1]["ph"], T0 + 29 * 5 * MIN, 1]}
    second = make_engine(state=store.load())
    out = [b for b in feed(second, "pond-01", series[30:]) if b.rule == "sensor.stuck"]
    assert [(b.change, b.metric, b.since_ns, b.at_ns) for b in out] == [
        (R, "do", T0, T0 + 44 * 5 * MIN)
    ]
    assert ("pond-01", "sensor.stuck") in second.active()
