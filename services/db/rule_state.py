"""The rule engine's state in SQL (table rule_state), so pending durations and active states
survive a hub restart. Implements the RuleStateStore protocol of services/rules/state.py:
`load()` everything at start, `save(changed)` what changed (None deletes) in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from services.db.models import RuleState


class SqlRuleStateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> dict[tuple[str, str], dict[str, Any]]:
        with Session(self.engine) as s:
            return {(r.sensor, r.rule): json.loads(r.state) for r in s.scalars(select(RuleState))}

    def save(self, changed: Mapping[tuple[str, str], dict[str, Any] | None]) -> None:
        if not changed:
            return
        with Session(self.engine) as s, s.begin():
            for (sensor, rule), state in changed.items():
                if state is None:
                    s.execute(
                        delete(RuleState).where(RuleState.sensor == sensor, RuleState.rule == rule)
                    )
                else:
                    s.merge(RuleState(sensor=sensor, rule=rule, state=json.dumps(state)))
