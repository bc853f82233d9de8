"""Where the engine's state lives between hub runs (pending durations, active conditions).

The engine is pure: it is built from a loaded state map and hands back, after each batch, the
entries that changed. A store persists them; H5 implements this protocol on SQL
(services/db/rule_state.py), the in-memory one here serves tests and single-process demos.

Keys are (sensor, rule id); community incidents use (community id, "community.silent"); the
sensor-level record (last evaluated event time, offline state) uses (sensor, "sensor.offline").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

StateKey = tuple[str, str]


class RuleStateStore(Protocol):
    def load(self) -> dict[tuple[str, str], dict[str, Any]]: ...  # (sensor, rule) -> JSON-able

    def save(self, changed: Mapping[tuple[str, str], dict[str, Any] | None]) -> None: ...


class MemoryRuleStateStore:
    """A RuleStateStore in a dict; copies on the way in and out, like a database would."""

    def __init__(self, initial: Mapping[StateKey, dict[str, Any]] | None = None) -> None:
        self._rows: dict[StateKey, dict[str, Any]] = copy.deepcopy(dict(initial or {}))

    def load(self) -> dict[StateKey, dict[str, Any]]:
        return copy.deepcopy(self._rows)

    def save(self, changed: Mapping[StateKey, dict[str, Any] | None]) -> None:
        for key, value in changed.items():
            if value is None:
                self._rows.pop(key, None)
            else:
                self._rows[key] = copy.deepcopy(value)

    def __len__(self) -> int:
        return len(self._rows)
