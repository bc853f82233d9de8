"""Inline SVG charts for the report: no script, no external asset, prints as vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape

GRADE_COLORS = {"none": "#3a9e5f", "light": "#e6a23c", "heavy": "#2b2b2b", None: "#dcdcdc"}
CLASS_COLORS = {
    "I": "#1f6fb2",
    "II": "#3d8fd1",
    "III": "#5fb760",
    "IV": "#e6c13c",
    "V": "#e6853c",
    "劣V": "#c0392b",
}
FONT = 'font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"'


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" {FONT} '
        f'font-size="11">{body}</svg>'
    )


def ratio_bars(
    rows: Sequence[tuple[str, float | None]], label: str, target: float | None = None
) -> str:
    """One horizontal bar per row (0–100 %), green at or above `target`, amber below."""
    left, bar_w, row_h = 150, 300, 20
    height = row_h * len(rows) + 24
    parts: list[str] = []
    for i, (name, ratio) in enumerate(rows):
        y = 6 + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{bar_w}" height="14" fill="#eee"/>')
        if ratio is not None:
            ok = target is None or ratio >= target
            w = round(bar_w * max(0.0, min(1.0, ratio)), 1)
            color = "#3a9e5f" if ok else "#e6853c"
            parts.append(f'<rect x="{left}" y="{y}" width="{w}" height="14" fill="{color}"/>')
            parts.append(f'<text x="{left + bar_w + 6}" y="{y + 12}">{ratio * 100:.1f}%</text>')
        else:
            parts.append(f'<text x="{left + bar_w + 6}" y="{y + 12}">—</text>')
    if target is not None:
        x = left + bar_w * target
        parts.append(
            f'<line x1="{x}" y1="2" x2="{x}" y2="{height - 18}" stroke="#c0392b" '
            f'stroke-dasharray="3,2"/><text x="{x}" y="{height - 6}" text-anchor="middle" '
            f'fill="#c0392b">{target * 100:.0f}%</text>'
        )
    return _svg(left + bar_w + 60, height, "".join(parts), label)


def grade_calendar(days: Mapping[date, str | None], first: date, last: date, label: str) -> str:
    """Days as cells, one column per week (Monday on top), coloured by black-odorous grade;
    grey where the day has no data."""
    cell, gap, top = 12, 2, 14
    start = first - timedelta(days=first.weekday())
    weeks = (last - start).days // 7 + 1
    parts: list[str] = []
    d = start
    while d <= last:
        col, row = (d - start).days // 7, d.weekday()
        if d >= first:
            x, y = col * (cell + gap), top + row * (cell + gap)
            fill = GRADE_COLORS.get(days.get(d), GRADE_COLORS[None])
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}">'
                f"<title>{d.isoformat()}: {escape(str(days.get(d) or '—'))}</title></rect>"
            )
            if d.day == 1 or d == first:
                parts.append(f'<text x="{x}" y="10" font-size="9">{d.month}月</text>')
        d += timedelta(days=1)
    width = max(weeks * (cell + gap), 40)
    return _svg(width, top + 7 * (cell + gap), "".join(parts), label)


def stacked_days(counts: Mapping[str, int], colors: Mapping[str, str], label: str) -> str:
    """One bar split by category (days per class or grade), with counts written in."""
    total = sum(counts.values())
    width, height = 460, 22
    parts: list[str] = []
    x = 0.0
    for name, n in counts.items():
        if not n or not total:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
            f'fill="{colors.get(name, "#999")}"><title>{escape(name)}: {n}</title></rect>'
        )
        if w > 28:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="15" text-anchor="middle" fill="#fff">'
                f"{escape(name)} {n}</text>"
            )
        x += w
    if not total:
        parts.append(f'<rect width="{width}" height="{height}" fill="#eee"/>')
    return _svg(width, height, "".join(parts), label)


def week_columns(weeks: Sequence[tuple[date, int, int]], label: str) -> str:
    """Per week, overflow (red) and surcharge (blue) episodes side by side."""
    if not weeks:
        return _svg(200, 20, '<text x="0" y="14">—</text>', label)
    top = max(max(o, s) for _, o, s in weeks) or 1
    col, h, base = 36, 90, 104
    parts: list[str] = []
    for i, (monday, overflow, surcharge) in enumerate(weeks):
        x = 8 + i * col
        for j, (n, color) in enumerate(((overflow, "#c0392b"), (surcharge, "#1f6fb2"))):
            bh = h * n / top
            parts.append(
                f'<rect x="{x + j * 13}" y="{base - bh:.1f}" width="12" height="{bh:.1f}" '
                f'fill="{color}"><title>{n}</title></rect>'
            )
            if n:
                parts.append(
                    f'<text x="{x + j * 13 + 6}" y="{base - bh - 2:.1f}" text-anchor="middle" '
                    f'font-size="9">{n}</text>'
                )
        parts.append(
            f'<text x="{x + 12}" y="{base + 12}" text-anchor="middle" font-size="9">'
            f"{monday.month}/{monday.day}</text>"
        )
    return _svg(16 + col * len(weeks), base + 16, "".join(parts), label)
