"""The words of a ticket, in Chinese and English, in one module.

A summary says what (the metric's label from the catalog), where (community, grid, asset), how
bad (value, unit, how it compares with which limit), since when, and which standard, but only
where the limit's provenance is S (a national standard); practice-based limits are not
presented as law. E.g. "清平社区 清平1号网格 堰塘A:溶解氧 1.5 mg/L,低于 2.0 mg/L
(轻度黑臭,城市黑臭水体整治工作指南)已持续 1 小时" (one line).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.catalog import CATALOG, HEALTH, Kind, Metric

NS_PER_MIN = 60 * 10**9

RULE_TITLES: dict[str, tuple[str, str]] = {
    "sensor.offline": ("传感器离线", "sensor offline"),
    "sensor.stuck": ("传感器读数长时间不变", "sensor value stuck"),
    "sensor.battery": ("传感器电池电量低", "sensor battery low"),
    "sensor.implausible": ("传感器持续发送不合理数值", "sensor sends only implausible values"),
    "community.silent": ("社区多数传感器同时失联", "most sensors of the community fell silent"),
    "resident.report": ("居民报告问题", "residents report a problem"),
    # the grade rule names the indicator that set the grade; the title keeps it apart from
    # the single-indicator ticket (e.g. pond.murky) on the same reading
    "pond.black_odorous": ("黑臭水体分级", "black-odorous grade"),
}

_COMPARE: dict[str, tuple[str, str]] = {
    "below": ("低于", "below"),
    "above": ("高于", "above"),
    "outside": ("超出允许范围,界限", "outside the allowed range, limit"),
    "drop": ("短时下降超过", "a sudden drop of more than"),
}


@dataclass(frozen=True, slots=True)
class Place:
    """Where a ticket is, in names a crew member knows."""

    community: str
    grid: str
    asset: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What a summary is made of (all from the ticket, so it can be rebuilt at any time)."""

    rule: str
    kind: str
    metric: str | None
    value: float | None
    threshold: float | None
    comparison: str
    limit_zh: str
    limit_en: str
    source: str
    provenance: str
    since_ns: int
    at_ns: int


def metric_of(kind: str, name: str | None) -> Metric | None:
    """The catalog entry for a metric name (health fields such as battery_v included)."""
    if name is None:
        return None
    if name in HEALTH:
        return HEALTH[name]
    try:
        return CATALOG[Kind(kind)].get(name)
    except ValueError:
        return None


def number(v: float, metric: Metric | None) -> str:
    """A value with the metric's resolution, keeping one decimal: 1.5, 2.0, 0.16, 230.4."""
    res = metric.resolution if metric else 0.01
    decimals = max(1, len(f"{res:f}".rstrip("0").split(".")[1]) if res < 1 else 1)
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def duration_zh(ns: int) -> str:
    minutes = max(0, ns) // NS_PER_MIN
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} 天"] if days else []
    if hours:
        parts.append(f"{hours} 小时")
    if mins and not days:
        parts.append(f"{mins} 分钟")
    return " ".join(parts) or "不到 1 分钟"


def duration_en(ns: int) -> str:
    minutes = max(0, ns) // NS_PER_MIN
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}" if n == 1 else f"{n} {word}s"

    parts = [unit(days, "day")] if days else []
    if hours:
        parts.append(unit(hours, "hour"))
    if mins and not days:
        parts.append(unit(mins, "minute"))
    return " ".join(parts) or "less than a minute"


def _limit(f: Facts, zh: bool) -> str:
    words = [f.limit_zh if zh else f.limit_en]
    if f.provenance == "S" and f.source:
        # a source may be written "中文名 / English name"; each language takes its own
        chinese, _, english = f.source.partition(" / ")
        words.append(chinese if zh or not english else english)
    words = [w for w in words if w]
    if not words:
        return ""
    return f"({','.join(words)})" if zh else f" ({', '.join(words)})"


def summary(f: Facts, place: Place) -> tuple[str, str]:
    """The (Chinese, English) sentence for a ticket."""
    lasted = f.at_ns - f.since_ns
    m = metric_of(f.kind, f.metric)
    where_zh = " ".join(p for p in (place.community, place.grid, place.asset) if p)
    where_en = ", ".join(p for p in (place.community, place.grid, place.asset) if p)
    title = RULE_TITLES.get(f.rule)
    if title is not None or m is None or f.value is None:
        zh_what, en_what = title or (f.rule, f.rule)
        detail_zh = detail_en = ""
        if m is not None and f.value is not None:
            unit = m.shown_unit
            detail_zh = f",{m.label_zh} {number(f.value, m)} {unit}".rstrip()
            detail_en = f", {m.label_en} {number(f.value, m)} {unit}".rstrip()
        zh = f"{where_zh}:{zh_what}{detail_zh}{_limit(f, True)},已持续 {duration_zh(lasted)}"
        en = f"{where_en}: {en_what}{detail_en}{_limit(f, False)}, for {duration_en(lasted)}"
        return zh, en
    unit = m.shown_unit
    value = f"{number(f.value, m)} {unit}".rstrip()
    cmp_zh, cmp_en = _COMPARE.get(f.comparison, (f.comparison, f.comparison))
    bound_zh = bound_en = ""
    if f.threshold is not None:
        limit = f"{number(f.threshold, m)} {unit}".rstrip()
        bound_zh = f",{cmp_zh} {limit}"
        bound_en = f", {cmp_en} {limit}"
    zh = f"{where_zh}:{m.label_zh} {value}{bound_zh}{_limit(f, True)}已持续 {duration_zh(lasted)}"
    en = f"{where_en}: {m.label_en} {value}{bound_en}{_limit(f, False)} for {duration_en(lasted)}"
    return zh, en


def inhibition_note(kind: str, rule: str, severity: str, facts: Facts) -> str:
    """The note an inhibited rule leaves on the more specific rule's ticket (one line, both
    languages): "同时达到 轻度黑臭(溶解氧 1.5 mg/L,低于 2.0 mg/L;黑臭水体分级) / also meets
    light black-odorous by dissolved oxygen (1.5 mg/L, below 2.0 mg/L; black-odorous grade)"."""
    m = metric_of(kind, facts.metric)
    title_zh, title_en = RULE_TITLES.get(rule, (rule, rule))
    what_zh = facts.limit_zh or title_zh
    what_en = facts.limit_en or title_en
    label_zh = m.label_zh if m else facts.metric or ""
    label_en = m.label_en if m else facts.metric or ""
    value = ""
    bound_zh = bound_en = ""
    if m is not None and facts.value is not None:
        value = f"{number(facts.value, m)} {m.shown_unit}".rstrip()
        if facts.threshold is not None:
            limit = f"{number(facts.threshold, m)} {m.shown_unit}".rstrip()
            cmp_zh, cmp_en = _COMPARE.get(facts.comparison, (facts.comparison, facts.comparison))
            bound_zh, bound_en = f",{cmp_zh} {limit}", f", {cmp_en} {limit}"
    level_zh = "严重" if severity == "critical" else "预警"
    zh = f"同时达到 {what_zh}({label_zh} {value}{bound_zh};{title_zh},{level_zh},{rule})"
    en = f"also meets {what_en} by {label_en} ({value}{bound_en}; {title_en}, {severity}, {rule})"
    return f"{zh} / {en}"
