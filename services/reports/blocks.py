"""The pieces every section of the HTML report is built from: a table (numbers right-aligned),
a legend, the note on a section whose data is missing, and how percentages, durations and
times read in the report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from services.reports.data import NS, ReportData


def pct(x: float | None) -> str:
    """A share as a percentage; "—" when there was nothing to share."""
    return "—" if x is None else f"{x * 100:.1f}%"


def dur(s: float | None) -> str:
    """A duration in the largest unit a reader needs (s, min, h min, d); "—" when unknown."""
    if s is None:
        return "—"
    s = round(s)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    h, m = divmod(s // 60, 60)
    return f"{h} h {m:02d} min" if h < 48 else f"{h / 24:.1f} d"


def local(ns: int, tz: ZoneInfo) -> datetime:
    """A timestamp as the site's wall-clock time."""
    return datetime.fromtimestamp(ns // NS, UTC).astimezone(tz)


def table(head: Sequence[str], rows: Iterable[Sequence[str | int | float]]) -> str:
    out = ["<table><tr>", *(f"<th>{h}</th>" for h in head), "</tr>"]
    for r in rows:
        out.append("<tr>")
        for v in r:
            numeric = isinstance(v, int | float) or str(v).endswith(("%", "min", " s", " d"))
            cls = ' class="n"' if numeric else ""
            out.append(f"<td{cls}>{escape(str(v))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def problem(d: ReportData, key: str) -> str:
    """The note why a section's data is missing, or nothing when it is there."""
    why = d.problems.get(key)
    return f'<p class="note">数据不可用 / not available: {escape(why)}</p>' if why else ""


def legend(items: Iterable[tuple[str, str]]) -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{escape(t)}</span>' for t, c in items)
        + "</p>"
    )
