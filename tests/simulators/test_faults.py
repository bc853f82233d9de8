"""Each sensor fault does what its name says, and nothing else; the same seed gives the same
bytes."""

from __future__ import annotations

import itertools
import json
from typing import Any

from domain.site import Site
from simulators.device import Emission
from simulators.faults import Y2000
from simulators.payload import Encoding
from simulators.scenario import parse_scenario
from simulators.simulation import Simulation
from tests.simulators.conftest import START
from tests.simulators.wire import Seen, decode

H = 3600.0


def emit(
    site: Site,
    faults: list[dict[str, Any]],
    sensor: str,
    hours: float = 24,
    events: Any = (),
    seed: int = 0,
    encoding: Encoding | None = Encoding.READING,
) -> list[Emission]:
    sc = parse_scenario(
        {
            "name": "t",
            "site": "-",
            "start": "2025-07-14T00:00:00+08:00",
            "faults": faults,
            "events": list(events),
        },
        "test",
        site,
    )
    sim = Simulation(site, start=START, seed=seed, scenario=sc, sensors=[sensor], encoding=encoding)
    return list(sim.emissions(START + hours * H))


def readings(emissions: list[Emission]) -> list[Seen]:
    out: list[Seen] = []
    for e in emissions:
        if e.topic.endswith("/telemetry"):
            out += decode(e) or []
    return out


def test_same_seed_same_bytes_other_seed_other_values(demo_site: Site) -> None:
    def run(seed: int) -> list[tuple[float, str, bytes]]:
        sim = Simulation(demo_site, start=START, seed=seed)
        return [(e.due, e.topic, e.payload) for e in sim.emissions(START + 6 * H)]

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_a_sensor_does_not_depend_on_which_others_run(demo_site: Site) -> None:
    alone = Simulation(demo_site, start=START, seed=2, sensors=["pond-qp-01"])
    together = Simulation(demo_site, start=START, seed=2)
    mine = [e.payload for e in together.emissions(START + 6 * H) if e.sensor == "pond-qp-01"]
    assert [e.payload for e in alone.emissions(START + 6 * H)] == mine


def test_stuck_repeats_the_value_it_had_then_recovers(demo_site: Site) -> None:
    faults = [{"type": "stuck", "sensor": "pond-cy-01", "at": "6h", "duration": "4h"}]
    rs = readings(emit(demo_site, faults, "pond-cy-01"))
    during = [r.values for r in rs if START + 6 * H <= r.ts < START + 10 * H]
    after = [r.values["do"] for r in rs if r.ts >= START + 10 * H]
    assert len(during) > 20
    assert all(v == during[0] for v in during)
    assert len(set(after)) > 10


def test_drift_moves_the_reading_and_shrinks_its_daily_swing(demo_site: Site) -> None:
    faults = [
        {
            "type": "drift",
            "sensor": "pond-cy-01",
            "metric": "do",
            "per_day": -0.5,
            "swing_loss_per_day": 0.2,
            "at": "1d",
        }
    ]
    clean = readings(emit(demo_site, [], "pond-cy-01", hours=5 * 24))
    fouled = readings(emit(demo_site, faults, "pond-cy-01", hours=5 * 24))
    last_day = slice(-144, None)
    c = [r.values["do"] for r in clean][last_day]
    f = [r.values["do"] for r in fouled][last_day]
    assert sum(f) / len(f) < sum(c) / len(c) - 1.0
    assert max(f) - min(f) < 0.5 * (max(c) - min(c))


def test_spikes_are_single_samples(demo_site: Site) -> None:
    faults = [{"type": "spike", "sensor": "pond-cy-01", "metric": "do", "size": 10, "every": "2h"}]
    clean = [r.values["do"] for r in readings(emit(demo_site, [], "pond-cy-01"))]
    spiky = [r.values["do"] for r in readings(emit(demo_site, faults, "pond-cy-01"))]
    jumps = [i for i, (a, b) in enumerate(zip(clean, spiky, strict=True)) if abs(a - b) > 5]
    assert 4 <= len(jumps) <= 30
    assert all(b - a > 1 for a, b in itertools.pairwise(jumps))  # never two in a row
    assert sum(1 for a, b in zip(clean, spiky, strict=True) if a != b) == len(jumps)


def test_dropout_goes_offline_then_sends_the_cache_as_batches(demo_site: Site) -> None:
    faults = [{"type": "dropout", "sensor": "pond-cy-01", "at": "2h", "duration": "3h"}]
    out = emit(demo_site, faults, "pond-cy-01", hours=8)
    statuses = [(e.due, e.payload) for e in out if e.topic.endswith("/status")]
    assert [p for _, p in statuses] == [b"online", b"offline", b"online"]
    back = statuses[2][0]
    assert START + 5 * H <= back < START + 5 * H + 600
    telemetry = [e for e in out if e.topic.endswith("/telemetry")]
    assert not any(START + 2 * H + 600 <= e.due < back for e in telemetry)
    burst = [e for e in telemetry if e.due == back and b'"readings"' in e.payload]
    cached = json.loads(burst[0].payload)["readings"]
    assert len(cached) == 18  # 3 h of 10-minute readings
    assert all(START + 2 * H <= r["ts"] < START + 5 * H for r in cached)
    clean = readings(emit(demo_site, [], "pond-cy-01", hours=8))
    assert sorted(r.ts for r in readings(out)) == [r.ts for r in clean]  # nothing lost


def test_clock_skew_stamps_2000_or_far_ahead(demo_site: Site) -> None:
    back = [{"type": "clock_skew", "sensor": "pond-cy-01", "at": "2h", "duration": "2h"}]
    ahead = [{"type": "clock_skew", "sensor": "pond-cy-01", "at": "2h", "to": "ahead"}]
    old = [r for r in readings(emit(demo_site, back, "pond-cy-01", 6)) if r.ts < 1e9]
    assert len(old) == 12
    assert all(Y2000 <= r.ts < Y2000 + 2 * H for r in old)
    late = readings(emit(demo_site, ahead, "pond-cy-01", 6))
    assert sum(r.ts > START + 365 * 86_400 for r in late) == 24


def test_duplicates_and_out_of_order_deliveries(demo_site: Site) -> None:
    faults = [
        {"type": "duplicate", "sensor": "pond-cy-01", "probability": 0.3},
        {"type": "out_of_order", "sensor": "pond-cy-01", "probability": 0.3},
    ]
    ts = [r.ts for r in readings(emit(demo_site, faults, "pond-cy-01"))]
    clean = [r.ts for r in readings(emit(demo_site, [], "pond-cy-01"))]
    assert sorted(set(ts)) == clean
    assert len(ts) - len(clean) > 10
    assert sum(b < a for a, b in itertools.pairwise(ts)) > 10


def test_battery_holds_then_falls(demo_site: Site) -> None:
    faults = [{"type": "battery", "sensor": "sewer-cy-mh-01", "at": "1d"}]
    rs = readings(emit(demo_site, faults, "sewer-cy-mh-01", hours=6 * 24))
    volts = [(r.ts, r.battery_v) for r in rs]
    assert all(v >= 3.55 for t, v in volts if t < START + 86_400)  # type: ignore[operator]
    assert volts[-1][1] is not None
    assert volts[-1][1] < 3.2
    assert all(b <= a + 0.02 for (_, a), (_, b) in itertools.pairwise(volts))  # type: ignore[operator]


def test_malformed_payloads_are_garbage(demo_site: Site) -> None:
    faults = [{"type": "malformed", "sensor": "pond-cy-01", "probability": 0.3}]
    out = [e for e in emit(demo_site, faults, "pond-cy-01") if e.topic.endswith("/telemetry")]
    bad = [e for e in out if decode(e) is None]
    assert 20 <= len(bad) <= 70
    assert len(out) == 144
    assert len({e.payload for e in bad}) > 3


def test_submerged_level_sensor_reads_empty_when_the_manhole_surcharges(demo_site: Site) -> None:
    events = [
        {
            "type": "surcharge",
            "sensors": ["sewer-cy-mh-01"],
            "at": "2h",
            "rise": "10m",
            "duration": "2h",
        }
    ]
    real = readings(emit(demo_site, [], "sewer-cy-mh-01", 6, events))
    faulty = readings(
        emit(
            demo_site,
            [{"type": "submerged", "sensor": "sewer-cy-mh-01"}],
            "sewer-cy-mh-01",
            6,
            events,
        )
    )
    surcharged = {r.ts for r in real if r.values["fill"] >= 1.0}
    assert len(surcharged) > 10
    assert all(r.values["fill"] == 0.0 for r in faulty if r.ts in surcharged)


def test_seq_reset_repeats_sequence_numbers(demo_site: Site) -> None:
    faults = [{"type": "seq_reset", "sensor": "pond-cy-01", "at": "12h"}]
    seqs = [r.seq for r in readings(emit(demo_site, faults, "pond-cy-01"))]
    assert seqs[:3] == [1, 2, 3]
    assert len(set(seqs)) < len(seqs)


def test_payload_forms(demo_site: Site) -> None:
    sim = Simulation(demo_site, start=START, seed=0)
    forms: dict[str, set[str]] = {}
    for e in sim.emissions(START + 2 * H):
        for r in decode(e) or [] if e.topic.endswith("/telemetry") else []:
            forms.setdefault(e.topic.split("/")[1], set()).add(r.form)
    assert forms == {
        "pond": {"reading"},
        "water": {"batch"},
        "power": {"reading", "senml"},
        "sewer": {"reading"},
    }
