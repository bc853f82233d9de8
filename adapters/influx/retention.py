"""Retention and downsampling the hub sets up in its database (contract §3, issue 7).

Two retention policies:
- the database's default policy (`autogen` unless told otherwise) holds raw readings as the
  gateway writes them, kept for `raw_duration` (configurable, e.g. `90d`; `INF` keeps forever);
- `hourly` holds one point per sensor per hour, kept for years (`1040w` ≈ 20 years).

One continuous query per kind rolls raw readings up into `hourly`, keeping for each field
`mean_<f>`, `min_<f>`, `max_<f>`, `count_<f>`, `sum_<f>` and `last_<f>` with the sensor, grid
and community tags, so every aggregation the trends API offers can be answered exactly from the
rollup (a mean over a day is sum(sum_f) / sum(count_f), not a mean of means). The CQs resample
the last `resample_for` on each run so readings uploaded late by devices that cached them are
still rolled up; `backfill_rollup` runs the same SELECT over any past range (after an import).

`ensure_retention` is idempotent: run it at every start.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.influx.errors import InfluxQueryError
from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import ident
from domain.catalog import Kind
from domain.duration import Retention, format_duration, parse_duration

ROLLUP_AGGREGATES = ("mean", "min", "max", "count", "sum", "last")
"""The functions the rollup keeps per field; the rollup field for `do` and `max` is `max_do`."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where raw and rolled-up data live, for query builders to choose between."""

    raw_rp: str = "autogen"
    rollup_rp: str = "hourly"
    raw_duration_s: int | None = None  # None: raw data kept forever
    rollup_every_s: int = 3600


def rollup_select(db: str, layout: Layout, kind: Kind, where: str = "") -> str:
    """The SELECT ... INTO that rolls one kind's raw readings up by hour."""
    funcs = ", ".join(f"{f}(*)" for f in ROLLUP_AGGREGATES)
    target = f"{ident(db)}.{ident(layout.rollup_rp)}.:MEASUREMENT"
    source = f"{ident(db)}.{ident(layout.raw_rp)}.{ident(kind.value)}"
    return (
        f"SELECT {funcs} INTO {target} FROM {source}"  # noqa: S608 - every name quoted
        f"{' WHERE ' + where if where else ''} GROUP BY time({layout.rollup_every_s}s), *"
    )


def cq_name(kind: Kind) -> str:
    return f"gw_hourly_{kind.value}"


async def ensure_retention(
    query_client: InfluxQuery,
    db: str,
    raw_duration: Retention | str = "INF",
    rollup_duration: Retention | str = "1040w",
    *,
    raw_rp: str = "autogen",
    rollup_rp: str = "hourly",
    resample_for: str = "1d",
) -> Layout:
    """Create the database, both retention policies and the per-kind continuous queries, or
    bring existing ones to the given durations (a Retention, or text it parses: INF, 90d,
    1h30m; read by the one domain parser). Returns the layout queries should use."""
    raw, rollup = Retention.parse(raw_duration), Retention.parse(rollup_duration)
    resample = format_duration(int(parse_duration(resample_for)))
    layout = Layout(raw_rp, rollup_rp, raw.seconds)
    q = query_client
    await q.query(f"CREATE DATABASE {ident(db)}", db="")
    existing = {
        str(row["name"])
        for s in await q.query(f"SHOW RETENTION POLICIES ON {ident(db)}", db="")
        for row in s.rows()
    }
    for name, dur, default in (
        (raw_rp, str(raw), " DEFAULT"),
        (rollup_rp, str(rollup), ""),
    ):
        verb = "ALTER" if name in existing else "CREATE"
        repl = "" if verb == "ALTER" else " REPLICATION 1"
        await q.query(
            f"{verb} RETENTION POLICY {ident(name)} ON {ident(db)} DURATION {dur}{repl}{default}",
            db="",
        )
    for kind in Kind:
        create = (
            f"CREATE CONTINUOUS QUERY {ident(cq_name(kind))} ON {ident(db)} "
            f"RESAMPLE FOR {resample} "
            f"BEGIN {rollup_select(db, layout, kind)} END"
        )
        try:
            await q.query(create, db="")
        except InfluxQueryError as e:
            if "already exists" not in str(e):
                raise
            # Same name, other definition (durations or policies changed): replace it.
            await q.query(f"DROP CONTINUOUS QUERY {ident(cq_name(kind))} ON {ident(db)}", db="")
            await q.query(create, db="")
    return layout


async def backfill_rollup(
    query_client: InfluxQuery, db: str, layout: Layout, start_ns: int, stop_ns: int
) -> int:
    """Roll up raw readings in [start, stop) now, as the CQs would have; returns points written.
    For data imported into the past and for tests (a CQ only runs when an hour ends)."""
    written = 0
    for kind in Kind:
        where = f"time >= {int(start_ns)} AND time < {int(stop_ns)}"
        for s in await query_client.query(rollup_select(db, layout, kind, where), db=db):
            written += sum(int(v or 0) for v in s.column("written"))
    return written
