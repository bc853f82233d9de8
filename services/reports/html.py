"""The report as one self-contained HTML page: bilingual headings (中文 / English), tables
with the numbers, inline SVG charts, print CSS for A4. Nothing is loaded from anywhere."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from html import escape
from zoneinfo import ZoneInfo

from services.reports.charts import (
    CLASS_COLORS,
    GRADE_COLORS,
    grade_calendar,
    ratio_bars,
    stacked_days,
    week_columns,
)
from services.reports.data import NS, Durations, ReportData
from services.trends.standards import GRADE_LABELS, WaterClass

CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif;
       color: #222; font-size: 12px; margin: 0 auto; max-width: 980px; padding: 12px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; border-bottom: 2px solid #1f6fb2; padding-bottom: 2px; margin: 18px 0 6px; }
h3 { font-size: 12px; margin: 10px 0 4px; }
.meta { color: #555; margin-bottom: 8px; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.kpi { border: 1px solid #ccd; border-radius: 4px; padding: 6px 10px; min-width: 120px; }
.kpi b { display: block; font-size: 17px; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
th { background: #f0f4f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #a33; }
.legend span { display: inline-block; margin-right: 10px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; }
section { break-inside: avoid-page; }
.pond { display: inline-block; margin: 0 18px 8px 0; vertical-align: top; }
"""


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _dur(s: float | None) -> str:
    if s is None:
        return "—"
    s = round(s)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    h, m = divmod(s // 60, 60)
    return f"{h} h {m:02d} min" if h < 48 else f"{h / 24:.1f} d"


def _local(ns: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ns // NS, UTC).astimezone(tz)


def _table(head: Sequence[str], rows: Iterable[Sequence[str | int | float]]) -> str:
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


def _problem(d: ReportData, key: str) -> str:
    why = d.problems.get(key)
    return f'<p class="note">数据不可用 / not available: {escape(why)}</p>' if why else ""


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{escape(t)}</span>' for t, c in items)
        + "</p>"
    )


def _ponds(d: ReportData, first: date, last: date) -> str:
    out = [
        "<section><h2>1. 池塘黑臭等级 / Pond black-odorous grade (by day)</h2>",
        _problem(d, "ponds"),
    ]
    out.append(
        _legend(
            [(f"{zh} / {en}", GRADE_COLORS[g]) for g, (zh, en) in GRADE_LABELS.items()]
            + [("无数据 / no data", GRADE_COLORS[None])]
        )
    )
    rows = []
    for p in d.ponds:
        grades = {day.day: day.grade for day in p.days}
        out.append(
            f'<div class="pond"><h3>{escape(p.asset or p.sensor)} ({escape(p.sensor)})</h3>'
            f"{grade_calendar(grades, first, last, f'{p.sensor} grade calendar')}</div>"
        )
        c = p.grade_counts()
        rows.append((p.sensor, p.asset, c.get("none", 0), c.get("light", 0), c.get("heavy", 0)))
    if not d.ponds:
        out.append("<p>本范围内无池塘传感器 / no pond sensors in scope</p>")
    out.append(
        _table(
            [
                "传感器 / sensor",
                "资产 / asset",
                "非黑臭 / none (d)",
                "轻度 / light (d)",
                "重度 / heavy (d)",
            ],
            rows,
        )
    )
    out.append("</section>")
    out.append(
        "<section><h2>2. 地表水环境质量类别 / GB 3838-2002 class (days per class)</h2>"
        "<p>按溶解氧与氨氮评价（未测总磷）/ judged on DO and NH3-N (TP not measured).</p>"
    )
    labels = [c.label for c in WaterClass]
    class_rows: list[list[str | int]] = []
    for p in d.ponds:
        counts = {c.label: n for c, n in p.class_counts().items()}
        ordered = {lab: counts.get(lab, 0) for lab in labels}
        class_rows.append([p.sensor, *ordered.values()])
        out.append(
            f"<h3>{escape(p.sensor)}</h3>"
            + stacked_days(ordered, CLASS_COLORS, f"{p.sensor} days per class")
        )
    out.append(_table(["传感器 / sensor", *[f"{x} 类" for x in labels]], class_rows))
    out.append("</section>")
    return "".join(out)


def _compliance(d: ReportData) -> str:
    out = ["<section><h2>3. 达标率 / Compliance rates</h2>"]
    out.append("<h3>余氯合格率 / Free chlorine within 0.05–2 mg/L (GB 5749-2022)</h3>")
    out.append(_problem(d, "chlorine"))
    inside = sum(c.compliant.inside for c in d.chlorine)
    total = sum(c.compliant.total for c in d.chlorine)
    overall = _pct(inside / total if total else None)
    out.append(f"<p>合计 / overall: <b>{overall}</b> ({inside}/{total})</p>")
    if d.chlorine:
        out.append(ratio_bars([(c.sensor, c.compliant.ratio) for c in d.chlorine], "chlorine"))
    out.append(
        _table(
            [
                "传感器 / sensor",
                "资产 / asset",
                "合格 / compliant",
                "读数 / readings",
                "≥ 0.1 mg/L",
            ],
            [
                (
                    c.sensor,
                    c.asset,
                    _pct(c.compliant.ratio),
                    c.compliant.total,
                    _pct(c.above_warning.ratio),
                )
                for c in d.chlorine
            ],
        )
    )
    out.append("<h3>电压合格率 / Voltage qualification rate, 198–235.4 V (GB/T 12325-2008)</h3>")
    out.append(_problem(d, "voltage"))
    ok = sum(v.qualified.inside for v in d.voltage)
    sup = sum(v.qualified.total for v in d.voltage)
    out.append(f"<p>合计 / overall: <b>{_pct(ok / sup if sup else None)}</b> ({ok}/{sup})</p>")
    if d.voltage:
        out.append(ratio_bars([(v.sensor, v.qualified.ratio) for v in d.voltage], "voltage"))
    out.append(
        _table(
            [
                "传感器 / sensor",
                "资产 / asset",
                "合格率 / qualified",
                "供电读数 / supplied",
                "停电读数 / outage",
            ],
            [
                (v.sensor, v.asset, _pct(v.qualified.ratio), v.qualified.total, v.outage_readings)
                for v in d.voltage
            ],
        )
    )
    out.append("</section>")
    return "".join(out)


def _sewer(d: ReportData, tz: ZoneInfo) -> str:
    out = ["<section><h2>4. 污水管网冒溢与满管 / Sewer overflow and surcharge events</h2>"]
    out.append(_problem(d, "sewer"))
    counts = Counter(e.event for e in d.sewer_episodes)
    out.append(
        _table(
            [
                "冒溢 / overflow",
                "冒溢预警 / overflow warning",
                "满管 / surcharge",
                "满管预警 / surcharge warning",
            ],
            [
                (
                    counts["overflow"],
                    counts["overflow_warning"],
                    counts["surcharge"],
                    counts["surcharge_warning"],
                )
            ],
        )
    )
    weeks: dict[date, list[int]] = {}
    for w in d.sewer_weeks:
        acc = weeks.setdefault(w.week, [0, 0])
        acc[0] += w.counts.get("overflow", 0)
        acc[1] += w.counts.get("surcharge", 0)
    out.append("<h3>每周事件 / Events per week</h3>")
    out.append(_legend([("冒溢 / overflow", "#c0392b"), ("满管 / surcharge", "#1f6fb2")]))
    out.append(week_columns([(k, v[0], v[1]) for k, v in sorted(weeks.items())], "sewer weeks"))
    rows = [
        (
            e.sensor,
            e.event,
            _local(e.start_ns, tz).strftime("%Y-%m-%d %H:%M"),
            _local(e.end_ns, tz).strftime("%Y-%m-%d %H:%M"),
            f"{e.peak:g}",
        )
        for e in d.sewer_episodes
        if e.event in ("overflow", "surcharge")
    ]
    out.append(
        _table(
            ["传感器 / sensor", "事件 / event", "开始 / start", "结束 / end", "峰值 / peak"], rows
        )
    )
    out.append("</section>")
    return "".join(out)


def _durations_row(name: str, x: Durations) -> tuple[str, int, str, str]:
    return (name, x.count, _dur(x.median_s), _dur(x.p90_s))


def _tickets(d: ReportData) -> str:
    t = d.tickets
    out = ["<section><h2>5. 工单 / Tickets opened in the period</h2>"]
    if t is None:
        return "".join(out) + "</section>"
    out.append(
        '<div class="kpis">'
        f'<div class="kpi">新开 / opened<b>{t.opened}</b></div>'
        f'<div class="kpi">未关闭 / still open<b>{t.open_now}</b></div>'
        f'<div class="kpi">已解决 / resolved<b>{t.resolved}</b></div>'
        f'<div class="kpi">严重 / critical<b>{t.critical}</b></div></div>'
    )
    out.append(
        _table(
            ["用时 / time", "工单数 / tickets", "中位数 / median", "P90"],
            [
                _durations_row("受理 / to acknowledge", t.to_acknowledge),
                _durations_row("解决 / to resolve", t.to_resolve),
            ],
        )
    )
    out.append("<h3>按规则 / By rule</h3>")
    out.append(_table(["规则 / rule", "工单 / tickets"], list(t.by_rule.items())))
    out.append("</section>")
    return "".join(out)


def _completeness(d: ReportData) -> str:
    out = ["<section><h2>6. 数据完整率 / Data completeness (received / expected readings)</h2>"]
    out.append(_problem(d, "completeness"))
    out.append("<h3>按网格 / By grid cell</h3>")
    if d.completeness_grids:
        out.append(ratio_bars([(g.key, g.ratio) for g in d.completeness_grids], "grids", 0.95))
    out.append(
        _table(
            ["网格 / grid", "收到 / received", "应收 / expected", "完整率 / complete"],
            [(g.key, g.received, g.expected, _pct(g.ratio)) for g in d.completeness_grids],
        )
    )
    out.append("<h3>按传感器 / By sensor</h3>")
    out.append(
        _table(
            ["传感器 / sensor", "收到 / received", "应收 / expected", "完整率 / complete"],
            [(s.key, s.received, s.expected, _pct(s.ratio)) for s in d.completeness_sensors],
        )
    )
    out.append("</section>")
    return "".join(out)


def render(d: ReportData) -> str:
    """The whole report as one HTML document."""
    tz = ZoneInfo(d.timezone)
    first = _local(d.start_ns, tz).date()
    last = _local(d.stop_ns - 1, tz).date()
    last = max(last, first)
    t = d.tickets
    kpis = [
        ("工单 / tickets", str(t.opened) if t else "—"),
        ("受理中位 / median ack", _dur(t.to_acknowledge.median_s) if t else "—"),
        ("解决中位 / median resolve", _dur(t.to_resolve.median_s) if t else "—"),
    ]
    grids = d.completeness_grids
    rec = sum(min(g.received, g.expected) for g in grids)
    exp = sum(g.expected for g in grids)
    kpis.append(("数据完整率 / completeness", _pct(rec / exp if exp else None)))
    head = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>环境卫生报告 / Sanitation report {first} – {last}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>社区环境卫生报告 / Community Sanitation Report</h1>"
        f'<p class="meta">{escape(d.community_name)} · {first.isoformat()} – {last.isoformat()}'
        f" ({escape(d.timezone)}) · 生成于 / generated "
        f"{_local(d.generated_ns, tz).strftime('%Y-%m-%d %H:%M')}</p>"
        '<div class="kpis">'
        + "".join(f'<div class="kpi">{escape(k)}<b>{escape(v)}</b></div>' for k, v in kpis)
        + "</div>"
    )
    body = _ponds(d, first, last) + _compliance(d) + _sewer(d, tz) + _tickets(d) + _completeness(d)
    foot = (
        '<p class="meta">来源 / sources: 城市黑臭水体整治工作指南 (2015); GB 3838-2002; '
        "GB 5749-2022; GB/T 12325-2008. GridWatch.</p></body></html>"
    )
    return head + body + foot
