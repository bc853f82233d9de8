"""A dry-run shows precedence: what the rule would have opened and what was (or would have
been) a note on another rule's ticket instead. pond-a: DO 1.5 mg/L for two hours."""

from __future__ import annotations

import pytest

from adapters.influx.query import InfluxQuery
from domain.site import Registry
from services.dryrun import DryRun, Scope, dry_run
from tests.services.trends.conftest import Write, line

NS = 10**9
MIN = 60 * NS
HOUR = 60 * MIN
T0 = 1_750_000_000 * NS


@pytest.fixture
async def low_do(write: Write) -> None:
    lines = [
        line(
            "pond",
            "pond-a",
            t,
            do=1.5 if t < T0 + 2 * HOUR else 6.0,
            orp=150.0,
            nh3n=0.5,
            transparency=60.0,
        )
        for t in range(T0, T0 + 5 * HOUR, 5 * MIN)
    ]
    await write(lines)


async def test_the_grade_would_have_been_a_note_on_low_oxygen(
    low_do: None, influx: InfluxQuery, registry: Registry
) -> None:
    r = await dry_run(
        influx, registry, DryRun("pond.black_odorous", Scope(sensor="pond-a"), T0, T0 + 5 * HOUR)
    )
    assert r.tickets == []
    [x] = r.inhibited
    assert (x.sensor, x.rule, x.into, x.at_ns) == (
        "pond-a",
        "pond.black_odorous",
        "pond.low_oxygen",
        T0 + HOUR,
    )
    assert (x.severity, x.metric, x.value) == ("warning", "do", 1.5)


async def test_low_oxygen_opens_and_says_what_it_inhibits(
    low_do: None, influx: InfluxQuery, registry: Registry
) -> None:
    r = await dry_run(
        influx, registry, DryRun("pond.low_oxygen", Scope(sensor="pond-a"), T0, T0 + 5 * HOUR)
    )
    [t] = r.tickets
    assert (t.rule, t.severity, t.opened_at_ns) == ("pond.low_oxygen", "critical", T0)
    assert [(x.rule, x.into) for x in r.inhibited] == [("pond.black_odorous", "pond.low_oxygen")]
