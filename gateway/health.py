"""The gateway's health: a few facts about the data path and one verdict that says what is
wrong, for an operator's health endpoint (JSON) and for Prometheus (gateway/metrics.py).

`assess` is pure: the Gateway gathers the facts, this module decides. Failing means readings
are not flowing or are being lost now; degraded means they flow but something needs a look.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any


class Status(IntEnum):
    """Ordered: the worst finding wins."""

    OK = 0
    DEGRADED = 1
    FAILING = 2


@dataclass(frozen=True, slots=True)
class Facts:
    """What the gateway knows right now; counts are since this process started unless named
    `_total` (those come from the spool and survive restarts)."""

    broker_connected: bool
    session_persistent: bool | None
    influx_up: bool
    spool_enabled: bool
    spool_depth: int = 0
    spool_oldest_age_s: float | None = None
    spool_full: bool = False
    spool_dropped: int = 0
    spool_refused: int = 0
    spool_dropped_total: int = 0
    dead_letters: int = 0
    dead_letters_total: int = 0
    write_errors: dict[str, int] = field(default_factory=dict)
    last_reading_age_s: float | None = None
    broker_dropped: int | None = None
    registry_version: int = 0  # the site registry's version this gateway judges by


@dataclass(frozen=True, slots=True)
class Health:
    status: Status
    problems: list[str]
    facts: Facts

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: `{"status": "ok", "problems": [...], ...facts}`."""
        return {"status": self.status.name.lower(), "problems": self.problems, **asdict(self.facts)}


def assess(facts: Facts, *, stale_after_s: float = 300.0) -> Health:
    """The verdict and, for each finding, one sentence an operator can act on."""
    found: list[tuple[Status, str]] = []
    if not facts.broker_connected:
        found.append((Status.FAILING, "not connected to the MQTT broker"))
    if facts.session_persistent is False:
        found.append(
            (
                Status.DEGRADED,
                "the broker granted no persistent session: readings sent while "
                "the gateway is away are lost",
            )
        )
    if not facts.influx_up:
        where = "spooled to disk" if facts.spool_enabled else "held unacknowledged"
        found.append((Status.DEGRADED, f"InfluxDB is not taking writes; readings are {where}"))
    if facts.spool_full:
        found.append(
            (
                Status.FAILING,
                "the spool is full: new readings are refused and left with the "
                "broker, whose queue drops the newest when full",
            )
        )
    if facts.spool_depth:
        age = facts.spool_oldest_age_s or 0.0
        found.append((Status.DEGRADED, f"{facts.spool_depth} readings spooled, oldest {age:.0f} s"))
    if facts.spool_dropped:
        found.append(
            (
                Status.FAILING,
                f"{facts.spool_dropped} spooled readings dropped (spool full, policy drop_oldest)",
            )
        )
    if facts.dead_letters:
        found.append(
            (Status.DEGRADED, f"{facts.dead_letters} lines refused by InfluxDB (dead letters)")
        )
    if facts.broker_dropped:
        found.append(
            (
                Status.DEGRADED,
                f"the broker dropped {facts.broker_dropped} messages (queue or in-flight limits)",
            )
        )
    if facts.last_reading_age_s is not None and facts.last_reading_age_s > stale_after_s:
        found.append((Status.DEGRADED, f"no valid reading for {facts.last_reading_age_s:.0f} s"))
    status = max((s for s, _ in found), default=Status.OK)
    return Health(status, [text for _, text in found], facts)


def combine(facts: Sequence[Facts]) -> Facts:
    """The facts of several gateways (a cluster's workers) as one: connected and up only if
    every one is, counts and depths summed, the oldest spool age and the freshest reading."""
    if not facts:
        raise ValueError("no facts to combine")
    errors: dict[str, int] = {}
    for f in facts:
        for k, n in f.write_errors.items():
            errors[k] = errors.get(k, 0) + n
    persistent = [f.session_persistent for f in facts]
    dropped = [f.broker_dropped for f in facts if f.broker_dropped is not None]
    return Facts(
        broker_connected=all(f.broker_connected for f in facts),
        session_persistent=None if None in persistent else all(persistent),
        influx_up=all(f.influx_up for f in facts),
        spool_enabled=all(f.spool_enabled for f in facts),
        spool_depth=sum(f.spool_depth for f in facts),
        spool_oldest_age_s=_most(f.spool_oldest_age_s for f in facts),
        spool_full=any(f.spool_full for f in facts),
        spool_dropped=sum(f.spool_dropped for f in facts),
        spool_refused=sum(f.spool_refused for f in facts),
        spool_dropped_total=sum(f.spool_dropped_total for f in facts),
        dead_letters=sum(f.dead_letters for f in facts),
        dead_letters_total=sum(f.dead_letters_total for f in facts),
        write_errors=errors,
        last_reading_age_s=_least(f.last_reading_age_s for f in facts),
        broker_dropped=max(dropped) if dropped else None,  # one broker: the same counter
        registry_version=min(f.registry_version for f in facts),  # what every one has
    )


def _most(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _least(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
