"""Quoting for InfluxQL, so that no text from a request reaches a query unescaped.

InfluxQL's scanner accepts the escapes backslash-backslash, backslash-quote and backslash-n
inside quoted identifiers and string literals, and refuses a raw newline; these functions emit
exactly those. A newline is escaped, not passed through: a raw one ends the query with a parse
error. A carriage return cannot be written at all (the scanner reads it, and CR LF, as a raw
newline, and there is no escape for it), nor NUL: both are refused with ValueError rather than
silently naming something else. A value stored through line protocol never holds a carriage
return (our encoder writes it as backslash-r); to match one holding a NUL, bind it as a
parameter. Callers still allow-list ids (sensors, metrics) against the registry and catalog:
quoting keeps a query well-formed, the allow-list keeps it meaningful.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^[1-9][0-9]{0,9}(ns|u|µ|ms|s|m|h|d|w)$")


def _escape(text: str, quote: str) -> str:
    if "\x00" in text or "\r" in text:
        raise ValueError("InfluxQL text cannot contain NUL or a carriage return")
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")


def ident(name: str) -> str:
    """A double-quoted identifier: a measurement, field, tag, database or policy name."""
    if not name:
        raise ValueError("an InfluxQL identifier cannot be empty")
    return f'"{_escape(name, chr(34))}"'


def string(value: str) -> str:
    """A single-quoted string literal, e.g. a tag value in a WHERE clause."""
    return f"'{_escape(value, chr(39))}'"


def duration(literal: str) -> str:
    """A duration literal such as `1h` or `300s`, checked rather than escaped (they are bare)."""
    if not _DURATION.match(literal):
        raise ValueError(f"not an InfluxQL duration: {literal!r}")
    return literal


def seconds(n: int) -> str:
    """A whole number of seconds as a duration literal."""
    if n <= 0:
        raise ValueError("a duration must be positive")
    return duration(f"{int(n)}s")
