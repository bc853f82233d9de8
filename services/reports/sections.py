"""The six numbered sections of the HTML report, each a self-contained `<section>`: ponds'
grades and water classes, compliance rates, sewer events, tickets and data completeness."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from zoneinfo import ZoneInfo

from services.reports.blocks import dur, legend, local, pct, problem, table
from services.reports.charts import (
    CLASS_COLORS,
    GRADE_COLORS,
    grade_calendar,
    ratio_bars,
    stacked_days,
    week_columns,
)
from services.reports.data import Durations, ReportData, TicketPhotos
from services.trends.shares import Share
from services.trends.standards import GRADE_LABELS, WaterClass


def ponds(d: ReportData, first: date, last: date) -> str:
    out = [
        "<section><h2>1. 池塘黑臭等级 / Pond black-odorous grade (by day)</h2>",
        problem(d, "ponds"),
    ]
    out.append(
        legend(
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
        table(
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
    out.append(table(["传感器 / sensor", *[f"{x} 类" for x in labels]], class_rows))
    out.append("</section>")
    return "".join(out)


def _rates(
    d: ReportData,
    key: str,
    heading: str,
    shares: Sequence[tuple[str, Share]],
    head: Sequence[str],
    rows: Iterable[Sequence[str | int | float]],
) -> list[str]:
    """One rate of section 3: the overall share of all sensors, a bar per sensor, the table."""
    inside = sum(s.inside for _, s in shares)
    total = sum(s.total for _, s in shares)
    out = [f"<h3>{heading}</h3>", problem(d, key)]
    out.append(
        f"<p>合计 / overall: <b>{pct(inside / total if total else None)}</b> ({inside}/{total})</p>"
    )
    if shares:
        out.append(ratio_bars([(sensor, s.ratio) for sensor, s in shares], key))
    out.append(table(head, rows))
    return out


def compliance(d: ReportData) -> str:
    out = ["<section><h2>3. 达标率 / Compliance rates</h2>"]
    out += _rates(
        d,
        "chlorine",
        "余氯合格率 / Free chlorine within 0.05–2 mg/L (GB 5749-2022)",
        [(c.sensor, c.compliant) for c in d.chlorine],
        ["传感器 / sensor", "资产 / asset", "合格 / compliant", "读数 / readings", "≥ 0.1 mg/L"],
        [
            (
                c.sensor,
                c.asset,
                pct(c.compliant.ratio),
                c.compliant.total,
                pct(c.above_warning.ratio),
            )
            for c in d.chlorine
        ],
    )
    out += _rates(
        d,
        "voltage",
        "电压合格率 / Voltage qualification rate, 198–235.4 V (GB/T 12325-2008)",
        [(v.sensor, v.qualified) for v in d.voltage],
        [
            "传感器 / sensor",
            "资产 / asset",
            "合格率 / qualified",
            "供电读数 / supplied",
            "停电读数 / outage",
        ],
        [
            (v.sensor, v.asset, pct(v.qualified.ratio), v.qualified.total, v.outage_readings)
            for v in d.voltage
        ],
    )
    out.append("</section>")
    return "".join(out)


def sewer(d: ReportData, tz: ZoneInfo) -> str:
    out = ["<section><h2>4. 污水管网冒溢与满管 / Sewer overflow and surcharge events</h2>"]
    out.append(problem(d, "sewer"))
    counts = Counter(e.event for e in d.sewer_episodes)
    out.append(
        table(
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
    out.append(legend([("冒溢 / overflow", "#c0392b"), ("满管 / surcharge", "#1f6fb2")]))
    out.append(week_columns([(k, v[0], v[1]) for k, v in sorted(weeks.items())], "sewer weeks"))
    rows = [
        (
            e.sensor,
            e.event,
            local(e.start_ns, tz).strftime("%Y-%m-%d %H:%M"),
            local(e.end_ns, tz).strftime("%Y-%m-%d %H:%M"),
            f"{e.peak:g}",
        )
        for e in d.sewer_episodes
        if e.event in ("overflow", "surcharge")
    ]
    out.append(
        table(
            ["传感器 / sensor", "事件 / event", "开始 / start", "结束 / end", "峰值 / peak"], rows
        )
    )
    out.append("</section>")
    return "".join(out)


def _durations_row(name: str, x: Durations) -> tuple[str, int, str, str]:
    return (name, x.count, dur(x.median_s), dur(x.p90_s))


def tickets(d: ReportData) -> str:
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
        table(
            ["用时 / time", "工单数 / tickets", "中位数 / median", "P90"],
            [
                _durations_row("受理 / to acknowledge", t.to_acknowledge),
                _durations_row("解决 / to resolve", t.to_resolve),
            ],
        )
    )
    out.append("<h3>按规则 / By rule</h3>")
    out.append(table(["规则 / rule", "工单 / tickets"], list(t.by_rule.items())))
    if d.photos:
        out.append(photos(d.photos, ZoneInfo(d.timezone)))
    out.append("</section>")
    return "".join(out)


def photos(items: Sequence[TicketPhotos], tz: ZoneInfo) -> str:
    """The resolved tickets' photos as thumbnails inside the file (data: URIs): the report
    stays one file that opens offline and prints to PDF with its pictures."""
    out = ["<h3>已解决工单的照片 / Photos of resolved tickets</h3>"]
    for p in items:
        when = local(p.resolved_at_ns, tz).strftime("%Y-%m-%d %H:%M")
        out.append(
            f'<div class="photos"><p>#{p.ticket_id} · {escape(p.sensor)} · {escape(p.rule)}'
            f" · 解决于 / resolved {when}</p>"
        )
        for i, thumb in enumerate(p.thumbs, 1):
            b64 = base64.b64encode(thumb).decode("ascii")
            out.append(
                f'<img src="data:image/jpeg;base64,{b64}" alt="#{p.ticket_id} photo {i}/{p.total}">'
            )
        if (more := p.total - len(p.thumbs)) > 0:
            out.append(f'<span class="more">+{more} 张 / more</span>')
        out.append("</div>")
    return "".join(out)


def completeness(d: ReportData) -> str:
    out = ["<section><h2>6. 数据完整率 / Data completeness (received / expected readings)</h2>"]
    out.append(problem(d, "completeness"))
    out.append("<h3>按网格 / By grid cell</h3>")
    if d.completeness_grids:
        out.append(ratio_bars([(g.key, g.ratio) for g in d.completeness_grids], "grids", 0.95))
    out.append(
        table(
            ["网格 / grid", "收到 / received", "应收 / expected", "完整率 / complete"],
            [(g.key, g.received, g.expected, pct(g.ratio)) for g in d.completeness_grids],
        )
    )
    out.append("<h3>按传感器 / By sensor</h3>")
    out.append(
        table(
            ["传感器 / sensor", "收到 / received", "应收 / expected", "完整率 / complete"],
            [(s.key, s.received, s.expected, pct(s.ratio)) for s in d.completeness_sensors],
        )
    )
    out.append("</section>")
    return "".join(out)
