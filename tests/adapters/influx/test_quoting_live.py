r"""InfluxQL quoting against a real InfluxDB (reliability.md: "one input, exactly one point"):
any text put through `quoting.ident` names exactly that identifier, and any stored tag value put
through `quoting.string` matches exactly its own point — quotes, backslashes and newlines
included. InfluxQL's scanner reads `\n` in a quoted name as a newline and refuses a raw one, so
an identifier that does not escape newlines (the writer's former copy) fails the first property,
and a carriage return, which InfluxQL cannot express, is refused rather than misnamed.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.influx.errors import InfluxQueryError
from adapters.influx.lineprotocol import encode_lines
from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import ident, string
from adapters.influx.writer import InfluxWriter
from domain.catalog import Kind
from domain.measurement import Measurement
from tests.harness import InfluxDB

SPECIALS = ['"', "'", "\\", "\n", "\r", "\t", " ", ",", "=", ";", "$", "é", "中", "\u2028"]
hostile = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPECIALS), st.characters(codec="utf-8", exclude_characters="\x00")
    ),
    min_size=1,
    max_size=30,
)
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(influxdb: InfluxDB, db: str, q: str) -> list[tuple[tuple[str, ...], list[list[object]]]]:
    async def go() -> list[tuple[tuple[str, ...], list[list[object]]]]:
        async with InfluxQuery(influxdb.url, db) as influx:
            return [(s.columns, [list(v) for v in s.values]) for s in await influx.query(q)]

    return asyncio.run(go())


def write(influxdb: InfluxDB, db: str, points: list[Measurement]) -> None:
    async def go() -> None:
        async with InfluxWriter(influxdb.url, db=db) as writer:
            result = await writer.write(encode_lines(points))
        assert (result.written, result.refused) == (len(points), [])

    asyncio.run(go())


def test_an_identifier_names_exactly_that_identifier(influxdb: InfluxDB, influx_db: str) -> None:
    write(influxdb, influx_db, [Measurement("p-1", Kind.POND, "g", "c", 1, {"do": 5.5})])

    @EXAMPLES
    @given(hostile.filter(lambda s: s != "time"))
    def prop(name: str) -> None:
        if "\r" in name:  # InfluxQL reads a CR as a raw newline and has no escape for it
            with pytest.raises(ValueError, match="carriage return"):
                ident(name)
            return
        q = f'SELECT "do" AS {ident(name)} FROM {ident("pond")}'  # noqa: S608 - quoted
        assert run(influxdb, influx_db, q) == [(("time", name), [[1, 5.5]])]

    prop()


def test_a_stored_field_key_is_named_exactly(influxdb: InfluxDB, influx_db: str) -> None:
    # Field keys reach InfluxDB through line protocol, which cannot carry a backslash in a
    # field key (adapters/influx/lineprotocol.py) nor a newline (stored as the two characters
    # `\n`); the name queried is the one InfluxDB reports having stored.
    examples = iter(range(1, 10**6))

    @EXAMPLES
    @given(hostile.map(lambda s: s.replace("\\", "")).filter(lambda s: s not in ("", "time")))
    def prop(key: str) -> None:
        t = next(examples)
        point = Measurement("p-1", Kind.POND, "g", "c", t, {key: float(t), "do": 0.0})
        write(influxdb, influx_db, [point])
        where = f"WHERE time = {t}"
        ((columns, (row,)),) = run(influxdb, influx_db, f"SELECT * FROM pond {where}")  # noqa: S608
        known = {"time", "do", "sensor", "grid", "community"}
        (stored,) = {c for c, v in zip(columns, row, strict=True) if v is not None} - known
        q = f"SELECT {ident(stored)} FROM pond {where}"  # noqa: S608 - quoted, int
        assert run(influxdb, influx_db, q) == [(("time", stored), [[t, float(t)]])]

    prop()


def test_a_stored_tag_value_matches_exactly_its_own_point(
    influxdb: InfluxDB, influx_db: str
) -> None:
    examples = iter(range(1, 10**6))

    @EXAMPLES
    @given(st.lists(hostile, min_size=1, max_size=4, unique=True))
    def prop(sensors: list[str]) -> None:
        base = next(examples) * 1_000
        points = [
            Measurement(s, Kind.POND, "g", "c", base + i, {"do": float(i)})
            for i, s in enumerate(sensors)
        ]
        write(influxdb, influx_db, points)
        span = f"time >= {base} AND time < {base + 1_000}"
        ((_, rows),) = run(influxdb, influx_db, f'SELECT "do", "sensor" FROM pond WHERE {span}')  # noqa: S608
        stored = {str(row[2]): row[1] for row in rows}
        assert len(stored) == len(sensors)  # distinct inputs stay distinct points
        for value, do in stored.items():
            q = f'SELECT "do" FROM pond WHERE "sensor" = {string(value)} AND {span}'  # noqa: S608
            ((_, got),) = run(influxdb, influx_db, q)
            assert [row[1] for row in got] == [do]

    prop()


RP = "raw 'x'"


@pytest.mark.parametrize("name", ['gw "quoted" db', "gw it's", "gw a;b", "gw 中文 é"])
async def test_the_writer_creates_a_database_of_exactly_its_name(
    influxdb: InfluxDB, name: str
) -> None:
    """A database name from settings goes through the same `ident` (as do policy names)."""
    point = Measurement("p-1", Kind.POND, "g", "c", 1, {"do": 1.0})
    async with InfluxWriter(influxdb.url, db=name, rp=RP) as writer:
        await writer.write(encode_lines([point]))
    async with InfluxQuery(influxdb.url, name) as influx:
        (dbs,) = await influx.query("SHOW DATABASES", db="")
        (s,) = await influx.query(f'SELECT "do" FROM {ident(RP)}."pond"')  # noqa: S608 - quoted
        await influx.query(f"DROP DATABASE {ident(name)}", db="")
    assert name in dbs.column("name")
    assert s.values == ((1, 1.0),)


async def test_names_influxql_cannot_carry_are_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="carriage return"):
        InfluxWriter("http://influx.invalid", db="gw\rx")
    with pytest.raises(ValueError, match="carriage return"):
        InfluxWriter("http://influx.invalid", db="gw", rp="raw\r")


async def test_a_name_influxdb_refuses_is_a_typed_error(influxdb: InfluxDB) -> None:
    with pytest.raises(InfluxQueryError, match="invalid name"):
        async with InfluxWriter(influxdb.url, db="gw\nx"):
            pass
