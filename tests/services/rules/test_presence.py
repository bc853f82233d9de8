"""What the engine leaves for the API's "waiting": the hub time it last heard each sensor in
the sensor's offline row, and a start record the engine itself never loads back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.rules import RuleEngine
from services.rules.silence import HUB_ROW, waiting
from tests.services.rules.conftest import MIN, T0, reading


def test_the_offline_row_carries_when_the_hub_heard_the_sensor(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine()
    engine.evaluate(reading("pond-01", T0 - 5 * MIN, do=6.0), received_ns=T0 + MIN)
    row = engine.changes()[("pond-01", "sensor.offline")]
    assert row is not None
    assert row["seen"] == T0 + MIN
    assert engine.started_record() == {"started": T0, "intervals": 3.0}


def test_the_start_record_is_not_engine_state(make_engine: Callable[..., RuleEngine]) -> None:
    engine = make_engine(state={HUB_ROW: {"started": T0 - MIN, "intervals": 3.0}})
    assert HUB_ROW not in engine.changes()  # neither loaded nor deleted as an orphan
    assert engine.state_errors == 0


@pytest.mark.parametrize(
    ("seen", "now", "expected"),
    [
        (None, T0 + MIN, True),  # never heard since the start
        (T0 - MIN, T0 + MIN, True),  # heard before the hub started only
        (T0 + MIN, T0 + 2 * MIN, False),
        (T0 + MIN, T0 + MIN + 15 * MIN - 1, False),  # within 3 × 300 s
        (T0 + MIN, T0 + MIN + 15 * MIN, True),  # silent past its window, no verdict yet
    ],
)
def test_waiting(seen: int | None, now: int, expected: bool) -> None:
    assert waiting(now, T0, seen, 15 * MIN) is expected
