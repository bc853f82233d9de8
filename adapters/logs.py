"""One logging setup for every hub process: a line per event that matters, in text or JSON.

Called once by each command with the `log` settings (`GRIDWATCH_LOG_LEVEL`,
`GRIDWATCH_LOG_FORMAT`), and by each gateway worker process, which writes to InfluxDB and so
would otherwise be the loudest (here, not in gridwatch/, because gateway/ may not import the
composition root; the log stream is one more outside system a process writes to).

Libraries that narrate every request are held at WARNING whatever the level, because at INFO
they bury the hub's own events: httpx logs every InfluxDB write ("HTTP Request: POST …/write
204", several a second under load), uvicorn's access log every API call, paho and alembic their
housekeeping. Their warnings and errors still come through.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from domain.sections import LogSettings

CHATTY = ("httpx", "httpcore", "uvicorn.access", "paho", "aiomqtt", "alembic", "asyncio")
"""Loggers kept at WARNING: they log routine traffic, not events."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the process tag
    (a gateway worker's `w<i>`) and the exception's traceback when there is one — what a log
    shipper parses without a grok rule."""

    def __init__(self, tag: str = "") -> None:
        super().__init__()
        self.tag = tag

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.tag:
            out["process"] = self.tag
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(
    settings: LogSettings,
    stream: TextIO | None = None,
    *,
    tag: str = "",
    level: int | None = None,
) -> None:
    """Replace the root logger's handlers with one on `stream` (default stderr). `tag` marks
    the lines of one process of several (a worker); `level` overrides the settings' level (a
    worker takes its parent's)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    text_format = TEXT_FORMAT.replace("%(name)s", f"{tag} %(name)s") if tag else TEXT_FORMAT
    handler.setFormatter(
        JsonFormatter(tag) if settings.format == "json" else logging.Formatter(text_format)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if level is not None else settings.level.upper())
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
