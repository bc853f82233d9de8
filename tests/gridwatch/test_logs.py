"""One logging setup (adapters/logs.py): an InfluxDB write through the real writer adds no
httpx "HTTP Request: POST …/write 204" line, and JSON mode writes one parseable object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from adapters.influx.writer import InfluxWriter
from adapters.logs import CHATTY, configure_logging
from domain.sections import LogSettings
from tests.harness import InfluxDB


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's state is put back after the test (pytest's own handlers included)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    yield io.StringIO()
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)


async def _write_some(influxdb: InfluxDB, db: str) -> None:
    async with InfluxWriter(influxdb.url, db=db) as writer:
        for i in range(3):
            result = await writer.write([f"pond,sensor=p1 do={7 + i} {1_750_000_000 + i}000000000"])
            assert result.written == 1
    logging.getLogger("gridwatch.gateway").info("stored %d readings", 3)


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_write_to_influxdb_logs_no_http_request_line(
    influxdb: InfluxDB, influx_db: str, captured: io.StringIO, fmt: str
) -> None:
    configure_logging(LogSettings(level="info", format=fmt), stream=captured)  # type: ignore[arg-type]
    await _write_some(influxdb, influx_db)
    out = captured.getvalue()
    assert "stored 3 readings" in out  # our own INFO event is there
    assert "HTTP Request" not in out
    assert "httpx" not in out


async def test_json_mode_writes_one_parseable_object_per_line(
    influxdb: InfluxDB, influx_db: str, captured: io.StringIO
) -> None:
    configure_logging(LogSettings(level="debug", format="json"), stream=captured)
    await _write_some(influxdb, influx_db)
    try:
        raise RuntimeError("a failure with a traceback")
    except RuntimeError:
        logging.getLogger("gridwatch.test").exception("something went wrong: %s", "détail")
    lines = captured.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses on its own
    assert {"time", "level", "logger", "message"} <= set(records[0])
    by_message = {r["message"]: r for r in records}
    assert by_message["stored 3 readings"]["level"] == "INFO"
    failure = by_message["something went wrong: détail"]
    assert failure["logger"] == "gridwatch.test"
    assert "RuntimeError: a failure with a traceback" in failure["exception"]
    assert not any(r["logger"].startswith(("httpx", "httpcore")) for r in records)


def test_library_chatter_stays_at_warning_even_in_debug(captured: io.StringIO) -> None:
    configure_logging(LogSettings(level="debug", format="text"), stream=captured)
    logging.getLogger("httpx").info("HTTP Request: POST http://x/write 204")
    logging.getLogger("httpx").warning("a real problem")
    logging.getLogger("gridwatch.hub").debug("a debug event")
    out = captured.getvalue()
    assert "HTTP Request" not in out
    assert "a real problem" in out
    assert "a debug event" in out


def test_a_worker_tags_its_lines(captured: io.StringIO) -> None:
    configure_logging(LogSettings(format="json"), stream=captured, tag="w1", level=logging.INFO)
    logging.getLogger("gateway.service").info("subscribed")
    (record,) = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert (record["process"], record["message"]) == ("w1", "subscribed")
