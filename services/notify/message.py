"""What a notice says, in a channel's language, alone or grouped with others.

An `Item` is one notice owed to one channel, frozen when the ticket event happened (it is the
outbox row's payload, so a restart sends what was decided then). `render` turns the items a
channel worker claimed together into one `Message`: a title, lines in zh / en / both, the link
of each ticket, and who to mention. A group names each ticket up to `MAX_NAMED`, then says how
many more; robots then cut to their size limits (services.notify.robots).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from domain.channels import Lang

MAX_NAMED = 10
"""A grouped message names this many tickets, then says how many more (robots cut at 2–20 KB)."""

EVENT_WORDS: dict[str, tuple[str, str]] = {
    "opened": ("新告警", "New alarm"),
    "escalated": ("告警升级", "Escalated"),
    "escalated_to_supervisor": ("无人确认,已上报", "Not acknowledged, escalated"),
    "chain": ("无人确认,已上报", "Not acknowledged, escalated"),
    "recovered": ("已恢复", "Recovered"),
    "resolved": ("已处理", "Resolved"),
    "acknowledged": ("已确认", "Acknowledged"),
    "reassigned": ("转交本网格", "Reassigned to this grid"),
    "retired": ("传感器已停用,工单关闭", "Sensor retired, ticket closed"),
    "test": ("测试消息", "Test message"),
}
SEVERITY_WORDS: dict[str, tuple[str, str]] = {
    "critical": ("严重", "critical"),
    "warning": ("预警", "warning"),
    "info": ("信息", "info"),
}


class Mention(BaseModel):
    """A person to mention: robots that can take a mobile number get the digits."""

    model_config = ConfigDict(frozen=True)

    name: str
    phone: str = ""

    @property
    def mobile(self) -> str:
        """The number as robots take it: digits only (138-0000-0017 → 13800000017)."""
        return "".join(c for c in self.phone if c.isdigit())


class Item(BaseModel):
    """One notice for one channel (an outbox row's payload)."""

    model_config = ConfigDict(frozen=True)

    event: str
    ticket_id: int | None = None
    severity: str = "info"
    status: str = ""
    rule: str = ""
    community: str = ""  # names, as crews know them
    grid: str = ""
    grid_id: str = ""
    asset: str = ""
    summary_zh: str = ""
    summary_en: str = ""
    source: str = ""
    opened_at_ns: int | None = None
    link: str = ""
    mentions: list[Mention] = []
    note: str = ""  # who acknowledged, which escalation step
    notice: str = ""  # the ticket event as JSON (MQTT and webhook channels send it as is)


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one channel: several items when they came within a group window."""

    title: str
    lines: list[str]  # one paragraph per item (or the "n more" line), plain text
    links: list[tuple[str, str]]  # (label, url) per named ticket
    mentions: list[Mention] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Plain text: title, the lines, the links."""
        parts = [self.title, *self.lines]
        return "\n".join(parts)

    @property
    def markdown(self) -> str:
        parts = [f"**{self.title}**"]
        parts.extend(f"- {line}" for line in self.lines)
        return "\n".join(parts)


def _words(pair: tuple[str, str], lang: Lang) -> str:
    zh, en = pair
    if lang is Lang.ZH:
        return zh
    if lang is Lang.EN:
        return en
    return f"{zh} / {en}"


def _when(ns: int | None, tz: ZoneInfo) -> str:
    if ns is None:
        return ""
    return datetime.fromtimestamp(ns / 1e9, tz).strftime("%Y-%m-%d %H:%M")


def item_line(item: Item, lang: Lang, tz: ZoneInfo) -> str:
    """One ticket in one paragraph: severity, event, summary, the limit's source, since, link."""
    sev = _words(SEVERITY_WORDS.get(item.severity, (item.severity, item.severity)), lang)
    what = _words(EVENT_WORDS.get(item.event, (item.event, item.event)), lang)
    head = f"[{sev}] {what}" + (f" #{item.ticket_id}" if item.ticket_id is not None else "")
    if item.event == "acknowledged":
        who = item.note or "?"
        return f"{head}: {who}" + (f" {item.link}" if item.link else "")
    summary = {
        Lang.ZH: item.summary_zh,
        Lang.EN: item.summary_en,
        Lang.BOTH: f"{item.summary_zh} / {item.summary_en}",
    }[lang]
    parts = [f"{head}: {summary}" if summary else head]
    if item.source and item.source not in summary:
        parts.append(_words(("依据", "source"), lang) + f": {item.source}")
    since = _when(item.opened_at_ns, tz)
    if since:
        parts.append(_words(("开始于", "since"), lang) + f" {since}")
    if item.note:
        parts.append(item.note)
    if item.link:
        parts.append(item.link)
    return ";".join(parts) if lang is Lang.ZH else "; ".join(parts)


def render(items: list[Item], lang: Lang, tz: ZoneInfo, max_bytes: int | None = None) -> Message:
    """The message for `items` (at least one), oldest first; with `max_bytes`, naming fewer
    tickets (and counting the rest) until its text and markdown fit."""
    if not items:
        raise ValueError("nothing to render")
    named = min(len(items), MAX_NAMED)
    while True:
        m = _render(items, lang, tz, named)
        size = max(len(m.text.encode()), len(m.markdown.encode()))
        if max_bytes is None or size <= max_bytes or named <= 1:
            return m
        named -= 1


def _render(items: list[Item], lang: Lang, tz: ZoneInfo, count: int) -> Message:
    mentions: list[Mention] = []
    for it in items:
        for m in it.mentions:
            if m not in mentions:
                mentions.append(m)
    named = items[:count]
    lines = [item_line(it, lang, tz) for it in named]
    rest = len(items) - len(named)
    if rest:
        lines.append(_words((f"另有 {rest} 条", f"and {rest} more"), lang))
    if len(items) == 1:
        it = items[0]
        sev = _words(SEVERITY_WORDS.get(it.severity, (it.severity, it.severity)), lang)
        what = _words(EVENT_WORDS.get(it.event, (it.event, it.event)), lang)
        place = " ".join(p for p in (it.community, it.grid, it.asset) if p)
        title = f"GridWatch {sev} {what}" + (f" · {place}" if place else "")
    else:
        places = sorted({" ".join(p for p in (it.community, it.grid) if p) for it in items})
        where = places[0] if len(places) == 1 else _words(("多个网格", "several grids"), lang)
        how_many = _words((f"{len(items)} 条通知", f"{len(items)} notices"), lang)
        title = f"GridWatch {how_many} · {where}"
    links = [(f"#{it.ticket_id}", it.link) for it in named if it.link]
    return Message(title=title, lines=lines, links=links, mentions=mentions, items=items)
