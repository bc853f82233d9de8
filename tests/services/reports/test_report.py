"""A report over three crafted days (2025-06-01..03, Asia/Shanghai) in the real InfluxDB and a
SQLite ticket database; every number asserted was worked out by hand from the data below."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.influx.query import InfluxQuery
from domain.breach import Breach, Change, Severity
from domain.site import Registry
from gridwatch.commands.report import write_report
from gridwatch.settings import load_settings
from services.db.engine import open_database
from services.db.models import Ticket
from services.photos.images import THUMB_SIDE
from services.photos.store import PhotoStore
from services.reports import ReportData, collect, find_browser, render, to_pdf
from services.reports.data import PHOTOS_PER_TICKET
from services.tickets.service import TicketService
from services.trends.service import Trends
from tests.harness import InfluxDB
from tests.services.trends.conftest import Write, line

NS = 10**9
MIN = 60 * NS
HOUR = 60 * MIN
D0 = int(datetime(2025, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * NS
STOP = D0 + 72 * HOUR
NOW = D0 + 100 * HOUR


def pond_day(day: int, do: float, nh3n: float) -> list[str]:
    return [
        line(
            "pond",
            "pond-a",
            D0 + day * 24 * HOUR + h * HOUR,
            do=do,
            nh3n=nh3n,
            orp=150.0,
            transparency=60.0,
        )
        for h in (2, 8, 14, 20)
    ]


def crafted() -> list[str]:
    lines: list[str] = []
    # pond-a: day 1 grade none, class III (DO 5.5 -> III, NH3-N 0.4 -> II); day 2 light
    # (DO 1.5), 劣V; day 3 heavy (DO 0.1), 劣V. pond-b reports nothing.
    lines += pond_day(0, 5.5, 0.4) + pond_day(1, 1.5, 0.4) + pond_day(2, 0.1, 0.4)
    # tap-1 chlorine: 8 x 0.3, 0.03, 2.5 -> 8/10 within 0.05-2, 9/10 >= 0.1
    tap = [0.3] * 8 + [0.03, 2.5]
    lines += [line("water", "tap-1", D0 + i * HOUR, chlorine=v) for i, v in enumerate(tap)]
    # tank-1: 4 x 0.08 -> 4/4 within, 0/4 >= 0.1. Overall 12/14 = 85.7 %
    lines += [line("water", "tank-1", D0 + i * HOUR, chlorine=0.08) for i in range(4)]
    # tx-1: 7 x 220 V, 2 x 240 V, 1 x 100 V (outage) -> 7/9 = 77.8 %, 1 outage reading
    volts = [220.0] * 7 + [240.0, 240.0, 100.0]
    lines += [line("power", "tx-1", D0 + i * HOUR, voltage=v) for i, v in enumerate(volts)]
    # mh-1: one overflow (freeboard 0.1 for 5 min, day 1) and one surcharge (fill 1.0 for
    # 3 min, day 2), each also a warning episode; otherwise freeboard 1.0, fill 0.3
    for i in range(20):
        t = D0 + 10 * HOUR + i * MIN
        lines.append(line("sewer", "mh-1", t, freeboard=0.1 if 5 <= i < 10 else 1.0, fill=0.3))
    for i in range(20):
        t = D0 + 34 * HOUR + i * MIN
        lines.append(line("sewer", "mh-1", t, freeboard=1.0, fill=1.0 if 5 <= i < 8 else 0.3))
    return lines


@dataclass
class Clock:
    now: int = D0

    def __call__(self) -> int:
        return self.now


def breach(sensor: str, rule: str, since: int) -> Breach:
    return Breach(sensor, rule, Change.RAISED, Severity.WARNING, since, since, "x", 1.0)


@pytest.fixture
def db(tmp_path: Path, registry: Registry) -> Iterator[Engine]:
    """Three tickets opened in the range, one before it. Hub times to acknowledge: 10 min,
    30 min, 2 h (resolved without an ack); to resolve: 1 h, 2 h; one still open."""
    engine = open_database(f"sqlite:///{tmp_path / 'gw.db'}")
    clock = Clock()
    svc = TicketService(engine, registry, clock=clock)

    def open_(sensor: str, rule: str, since: int) -> int:
        clock.now = since + 5 * MIN
        [n] = svc.apply(breach(sensor, rule, since))
        return n.ticket.id

    old = open_("tap-1", "water.chlorine_low", D0 - 10 * HOUR)
    svc.actions.resolve(old, "li-ming", "", None)
    a = open_("pond-a", "pond.low_oxygen", D0 + HOUR)
    created = clock.now
    clock.now = created + 10 * MIN
    svc.actions.acknowledge(a, "li-ming", None)
    clock.now = created + HOUR
    svc.actions.resolve(a, "li-ming", "aerator fixed", None)
    b = open_("tx-1", "power.voltage", D0 + 25 * HOUR)
    clock.now += 30 * MIN
    svc.actions.acknowledge(b, "li-ming", None)
    c = open_("pond-a", "pond.black_odorous", D0 + 50 * HOUR)
    clock.now += 2 * HOUR
    svc.actions.resolve(c, "wang-fang", "", None)
    yield engine
    engine.dispose()


async def report_data(influx: InfluxQuery, db: Engine, registry: Registry) -> ReportData:
    return await collect(Trends(influx), db, registry, D0, STOP, now_ns=NOW)


async def test_numbers_in_the_report(
    write: Write, influx: InfluxQuery, db: Engine, registry: Registry
) -> None:
    await write(crafted())
    d = await report_data(influx, db, registry)
    assert d.problems == {}

    ponds = {p.sensor: p for p in d.ponds}
    assert [(x.day, x.grade) for x in ponds["pond-a"].days] == [
        (date(2025, 6, 1), "none"),
        (date(2025, 6, 2), "light"),
        (date(2025, 6, 3), "heavy"),
    ]
    assert {c.label: n for c, n in ponds["pond-a"].class_counts().items()} == {"III": 1, "劣V": 2}
    assert ponds["pond-b"].days == []

    chlorine = {c.sensor: c for c in d.chlorine}
    assert (chlorine["tap-1"].compliant.inside, chlorine["tap-1"].compliant.total) == (8, 10)
    assert chlorine["tap-1"].above_warning.inside == 9
    assert (chlorine["tank-1"].compliant.inside, chlorine["tank-1"].above_warning.inside) == (4, 0)
    [v] = d.voltage
    assert (v.qualified.inside, v.qualified.total, v.outage_readings) == (7, 9, 1)

    events = sorted(e.event for e in d.sewer_episodes)
    assert events == ["overflow", "overflow_warning", "surcharge", "surcharge_warning"]
    overflow = next(e for e in d.sewer_episodes if e.event == "overflow")
    assert (overflow.start_ns, overflow.end_ns) == (
        D0 + 10 * HOUR + 5 * MIN,
        D0 + 10 * HOUR + 9 * MIN,
    )

    t = d.tickets
    assert t is not None
    assert (t.opened, t.open_now, t.resolved) == (3, 1, 2)
    assert (t.to_acknowledge.median_s, t.to_acknowledge.p90_s) == (1800, 7200)
    assert (t.to_resolve.median_s, t.to_resolve.p90_s) == (5400, 7200)

    sensors = {c.key: c for c in d.completeness_sensors}
    assert (sensors["pond-a"].received, sensors["pond-a"].expected) == (12, 864)
    assert (sensors["tx-1"].received, sensors["tx-1"].expected) == (10, 4320)
    grids = {c.key: c for c in d.completeness_grids}
    assert (grids["qp-g1"].received, grids["qp-g1"].expected) == (12 + 10 + 10, 864 + 2 * 4320)

    html = render(d)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "社区环境卫生报告 / Community Sanitation Report" in text
    assert "2025-06-01 – 2025-06-03" in text
    assert "85.7%  (12/14)" in text  # chlorine overall
    assert "77.8%  (7/9)" in text  # voltage qualification overall
    assert "30 min" in text  # median time to acknowledge
    assert "1 h 30 min" in text  # median time to resolve
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") >= 6  # calendars, class bars, compliance bars, weeks, grids


async def test_community_scope_leaves_other_communities_out(
    write: Write, influx: InfluxQuery, db: Engine, registry: Registry
) -> None:
    await write(crafted())
    d = await collect(Trends(influx), db, registry, D0, STOP, "qingping", now_ns=NOW)
    assert d.community_name == "清平社区"
    assert d.tickets is not None
    assert d.tickets.opened == 3


async def test_cli_path_writes_html_and_a_pdf(
    write: Write,
    influx: InfluxQuery,
    influxdb: InfluxDB,
    influx_db: str,
    db: Engine,
    registry: Registry,
    tmp_path: Path,
) -> None:
    if find_browser() is None:
        pytest.fail("no Chromium to print the PDF with: apt-get install chromium (make test does)")
    await write(crafted())
    settings = load_settings(
        site="unused", influx_url=influxdb.url, influx_db=influx_db, db_url=str(db.url)
    )
    out = tmp_path / "out" / "report.html"
    await write_report(
        settings, registry, date(2025, 6, 1), date(2025, 6, 3), None, out, now_ns=NOW
    )
    assert "85.7%" in out.read_text(encoding="utf-8")
    pdf = to_pdf(out, out.with_suffix(".pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")


def jpeg(w: int, h: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_resolved_tickets_photos_are_thumbnails_inside_the_file(
    influx: InfluxQuery, db: Engine, registry: Registry
) -> None:
    with Session(db) as s:
        ids = {(t.rule, t.status): t.id for t in s.scalars(select(Ticket))}
    aerator = ids[("pond.low_oxygen", "resolved")]
    odour = ids[("pond.black_odorous", "resolved")]
    still_open = ids[("power.voltage", "acknowledged")]
    store = PhotoStore(db, budget_bytes=10**8, max_side=2048)
    first = store.add(aerator, "li-ming", jpeg(1200, 900, (200, 30, 30)), None)
    for i in range(PHOTOS_PER_TICKET + 2):  # two past the cap
        store.add(odour, "wang-fang", jpeg(400, 300, (10, 20 * i, 200)), None)
    store.add(still_open, "li-ming", jpeg(400, 300, (0, 0, 0)), None)  # not resolved: left out

    d = await report_data(influx, db, registry)
    assert [(p.ticket_id, len(p.thumbs), p.total) for p in d.photos] == [
        (aerator, 1, 1),
        (odour, PHOTOS_PER_TICKET, PHOTOS_PER_TICKET + 2),
    ]
    html = render(d)
    srcs = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(srcs) == 1 + PHOTOS_PER_TICKET
    stored = store.read(first.id, None, thumb=True)
    assert base64.b64decode(srcs[0]) == stored  # the stored thumbnail, not the full image
    with Image.open(io.BytesIO(base64.b64decode(srcs[0]))) as im:
        assert im.format == "JPEG"
        assert max(im.size) == THUMB_SIDE
        assert im.getpixel((im.width // 2, im.height // 2))[0] > 150  # the red photo
    text = re.sub(r"<[^>]+>", " ", html)
    assert f"#{aerator} · pond-a · pond.low_oxygen" in text
    assert "+2 张 / more" in text
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    # Everything else is as without photos: the photos block is the only difference.
    d.photos = []
    plain = render(d)
    assert "<img" not in plain
    block = re.search(
        r"<h3>已解决工单的照片 / Photos of resolved tickets</h3>.*?(?=</section>)", html
    )
    assert block is not None
    assert html.replace(block.group(0), "") == plain


async def test_a_report_without_photos_has_no_photo_block(
    influx: InfluxQuery, db: Engine, registry: Registry
) -> None:
    d = await report_data(influx, db, registry)
    assert d.photos == []
    html = render(d)
    assert "<img" not in html
    assert "Photos of resolved tickets" not in html
