"""Real data replayed as a sensor's metric: the hourly pipeline flow shipped in the `river`
package (dev extra), with its missing hour and its 7-hour flat stretch during a maintenance
drop, must come through as published readings."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest
import river

from domain.site import Site
from simulators.replay import ReplayError, read_series
from simulators.scenario import parse_scenario
from simulators.simulation import Simulation
from tests.simulators.wire import decode

CSV = Path(river.__file__).parent / "datasets" / "water-flow.csv"
FLAT_FROM = datetime.fromisoformat("2022-03-29T09:00:00+02:00").timestamp()
MISSING_HOUR = datetime.fromisoformat("2022-03-29T04:00:00+02:00").timestamp()
FLAT_TO = datetime.fromisoformat("2022-03-29T15:00:00+02:00").timestamp()


def replayed(site: Site, encoding: str) -> list[tuple[float, dict[str, float], bytes]]:
    rows = read_series(CSV)
    first, last = rows[0][0], rows[-1][0]
    sc = parse_scenario(
        {
            "name": "replay",
            "site": "-",
            "start": datetime.fromtimestamp(first).astimezone().isoformat(),
            "replay": [
                {"sensor": "water-cy-net-01", "metric": "flow", "csv": str(CSV), "unit": "l/s"}
            ],
            "encodings": {"water-cy-net-01": encoding},
        },
        "replay",
        site,
    )
    sim = Simulation(site, start=first, scenario=sc, sensors=["water-cy-net-01"])
    out = []
    for e in sim.emissions(last + 1):
        for r in decode(e) or []:
            out.append((r.ts, r.values, e.payload))
    return out


def test_the_csv_has_its_1268_rows() -> None:
    rows = read_series(CSV)
    assert len(rows) == 1268
    assert rows == sorted(rows)


def test_every_row_is_published_in_catalog_units_with_the_gap_and_the_flat_stretch(
    demo_site: Site,
) -> None:
    got = replayed(demo_site, "reading")
    assert len(got) == 1268
    rows = read_series(CSV)
    assert [t for t, _, _ in got] == [t for t, _ in rows]
    for (_, values, _), (_, litres) in zip(got, rows, strict=True):
        assert values == {"flow": pytest.approx(litres * 3.6)}  # L/s -> m³/h
    gaps = {a: b - a for (a, _, _), (b, _, _) in itertools.pairwise(got) if b - a != 3600}
    assert gaps[MISSING_HOUR - 3600] == 7200  # 2022-03-29 04:00 +02:00 is missing
    assert MISSING_HOUR not in {t for t, _, _ in got}
    flat = [v["flow"] for t, v, _ in got if FLAT_FROM <= t <= FLAT_TO]
    assert len(flat) == 7
    assert all(abs(f - 24.26 * 3.6) <= 0.01 * 3.6 + 1e-9 for f in flat)


def test_senml_replay_sends_the_source_unit(demo_site: Site) -> None:
    got = replayed(demo_site, "senml")
    assert len(got) == 1268
    flat = [json.loads(p) for t, _, p in got if FLAT_FROM <= t <= FLAT_TO]
    assert len(flat) == 7
    assert {rec[0]["u"] for rec in flat} == {"l/s"}
    assert all(abs(rec[0]["v"] - 24.26) <= 0.011 for rec in flat)
    assert flat[0][0]["bn"] == "urn:dev:id:water-cy-net-01:"


def test_a_bad_row_names_the_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("time,flow\n2022-03-20T11:00:00Z,1.5\n2022-03-20T12:00:00Z,lots\n")
    with pytest.raises(ReplayError, match=r"x\.csv:3"):
        read_series(p)
