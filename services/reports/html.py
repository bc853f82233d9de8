"""The report as one self-contained HTML page: bilingual headings (中文 / English), tables
with the numbers, inline SVG charts, print CSS for A4. Nothing is loaded from anywhere."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from services.reports import sections
from services.reports.blocks import dur, local, pct
from services.reports.data import ReportData

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
.photos { break-inside: avoid; margin: 4px 0 8px; }
.photos p { margin: 0 0 2px; }
.photos img { max-width: 160px; max-height: 160px; margin: 0 6px 4px 0; vertical-align: top;
              border: 1px solid #ccc; }
.photos .more { color: #555; vertical-align: top; }
"""


def render(d: ReportData) -> str:
    """The whole report as one HTML document."""
    tz = ZoneInfo(d.timezone)
    first = local(d.start_ns, tz).date()
    last = local(d.stop_ns - 1, tz).date()
    last = max(last, first)
    t = d.tickets
    kpis = [
        ("工单 / tickets", str(t.opened) if t else "—"),
        ("受理中位 / median ack", dur(t.to_acknowledge.median_s) if t else "—"),
        ("解决中位 / median resolve", dur(t.to_resolve.median_s) if t else "—"),
    ]
    grids = d.completeness_grids
    rec = sum(min(g.received, g.expected) for g in grids)
    exp = sum(g.expected for g in grids)
    kpis.append(("数据完整率 / completeness", pct(rec / exp if exp else None)))
    head = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>环境卫生报告 / Sanitation report {first} – {last}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>社区环境卫生报告 / Community Sanitation Report</h1>"
        f'<p class="meta">{escape(d.community_name)} · {first.isoformat()} – {last.isoformat()}'
        f" ({escape(d.timezone)}) · 生成于 / generated "
        f"{local(d.generated_ns, tz).strftime('%Y-%m-%d %H:%M')}</p>"
        '<div class="kpis">'
        + "".join(f'<div class="kpi">{escape(k)}<b>{escape(v)}</b></div>' for k, v in kpis)
        + "</div>"
    )
    body = (
        sections.ponds(d, first, last)
        + sections.compliance(d)
        + sections.sewer(d, tz)
        + sections.tickets(d)
        + sections.completeness(d)
    )
    foot = (
        '<p class="meta">来源 / sources: 城市黑臭水体整治工作指南 (2015); GB 3838-2002; '
        "GB 5749-2022; GB/T 12325-2008. GridWatch.</p></body></html>"
    )
    return head + body + foot
