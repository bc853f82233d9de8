"""The rule engine's state in SQL (table rule_state), so pending durations and active states
survive a hub restart. Implements the RuleStateStore protocol of services/rules/state.py:
`load()` everything at start, `save(changed)` what changed (None deletes) in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.db.models import RuleState

_PG_SAVE_LOCK = 0x72756C65  # "rule": the advisory lock key every hub's state save shares


class SqlRuleStateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> dict[tuple[str, str], dict[str, Any]]:
        with Session(self.engine) as s:
            return {(r.sensor, r.rule): json.loads(r.state) for r in s.scalars(select(RuleState))}

    def save(self, changed: Mapping[tuple[str, str], dict[str, Any] | None]) -> None:
        if not changed:
            return
        if self.engine.dialect.name in ("postgresql", "sqlite"):
            self._save_bulk(changed)
            return
        with Session(self.engine) as s, s.begin():
            for (sensor, rule), state in changed.items():
                if state is None:
                    s.execute(
                        delete(RuleState).where(RuleState.sensor == sensor, RuleState.rule == rule)
                    )
                else:
                    s.merge(RuleState(sensor=sensor, rule=rule, state=json.dumps(state)))

    def _save_bulk(self, changed: Mapping[tuple[str, str], dict[str, Any] | None]) -> None:
        """One executemany upsert and one executemany delete: the engine changes ~2 keys per
        reading (offline, stuck), and a per-row ORM merge cost more than the whole ingest."""
        rows = [
            {"sensor": sensor, "rule": rule, "state": json.dumps(state)}
            for (sensor, rule), state in changed.items()
            if state is not None
        ]
        gone = [
            {"s": sensor, "r": rule} for (sensor, rule), state in changed.items() if state is None
        ]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(RuleState)
        upsert = upsert.on_conflict_do_update(
            index_elements=["sensor", "rule"], set_={"state": upsert.excluded.state}
        )
        with self.engine.begin() as c:
            if dialect is postgresql:
                # Hubs evaluating the same stream save the same keys in different orders
                # (the engine's dirty set): take turns, or their row locks deadlock.
                c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SAVE_LOCK})
            if gone:
                c.execute(
                    delete(RuleState).where(
                        RuleState.sensor == bindparam("s"), RuleState.rule == bindparam("r")
                    ),
                    gone,
                )
            if rows:
                c.execute(upsert, rows)
