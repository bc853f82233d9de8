"""`gridwatch report --from DATE --to DATE [--community ID] [--out FILE.html] [--pdf]`: the
officers' sanitation report (services/reports), from InfluxDB and the ticket database.

Dates are site-local days, both included. Settings as for `gridwatch api` (GRIDWATCH_SITE,
GRIDWATCH_INFLUX_URL, GRIDWATCH_INFLUX_DB, GRIDWATCH_DB_URL, GRIDWATCH_INFLUX_RAW_RETENTION).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from domain.site import Registry, SiteError, load_site
from gridwatch.flags import settings_with_flags
from services.api.settings import ApiSettings
from services.db.engine import open_database
from services.influx.client import InfluxQuery
from services.influx.errors import InfluxError
from services.reports import PdfUnavailable, collect, render, to_pdf
from services.trends.errors import TrendsError
from services.trends.service import Trends


def _day_ns(d: date, registry: Registry) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=registry.site.tz).timestamp()) * 10**9


async def write_report(
    settings: ApiSettings,
    registry: Registry,
    first: date,
    last: date,
    community: str | None,
    out: Path,
    *,
    now_ns: int | None = None,
) -> Path:
    """Collect and render the report for days first..last (inclusive) into `out` (HTML)."""
    if not settings.influx_url:
        raise TrendsError("name InfluxDB with --influx-url or GRIDWATCH_INFLUX_URL")
    engine = await asyncio.to_thread(open_database, settings.db_url)
    try:
        async with InfluxQuery(
            settings.influx_url,
            settings.influx_db,
            token=settings.influx_token,
            user=settings.influx_user,
            password=settings.influx_password,
        ) as influx:
            trends = await Trends.start(influx, raw_duration=settings.influx_raw_retention)
            data = await collect(
                trends,
                engine,
                registry,
                _day_ns(first, registry),
                _day_ns(last + timedelta(days=1), registry),
                community,
                now_ns=now_ns if now_ns is not None else time.time_ns(),
            )
    finally:
        engine.dispose()
    text = render(data)

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")

    await asyncio.to_thread(save)
    return out


def command(
    from_: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (site-local).")
    ],
    to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included.")],
    community: Annotated[
        str | None, typer.Option("--community", help="One community id (default: all).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default report-FROM-TO.html).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print a PDF beside the HTML.")] = False,
    site: Annotated[str | None, typer.Option("--site", help="[env GRIDWATCH_SITE]")] = None,
    db_url: Annotated[str | None, typer.Option("--db-url", help="[env GRIDWATCH_DB_URL]")] = None,
    influx_url: Annotated[
        str | None, typer.Option("--influx-url", help="[env GRIDWATCH_INFLUX_URL]")
    ] = None,
    influx_db: Annotated[
        str | None, typer.Option("--influx-db", help="[env GRIDWATCH_INFLUX_DB]")
    ] = None,
) -> None:
    """Write the sanitation report for officers: pond grades and classes, chlorine and voltage
    compliance, sewer overflow/surcharge events, tickets and data completeness."""
    settings = settings_with_flags(
        ApiSettings,
        site=site,
        db_url=db_url,
        influx_url=influx_url,
        influx_db=influx_db,
    )
    first, last = from_.date(), to.date()
    if last < first:
        typer.echo("error: --to is before --from", err=True)
        raise typer.Exit(2)
    if not settings.site:
        typer.echo("error: name the site file with --site or GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    try:
        registry = Registry(load_site(settings.site))
    except SiteError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    html = out or Path(f"report-{first.isoformat()}-{last.isoformat()}.html")
    try:
        asyncio.run(write_report(settings, registry, first, last, community, html))
    except (TrendsError, InfluxError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"report: {html}")
    if pdf:
        try:
            typer.echo(f"pdf: {to_pdf(html, html.with_suffix('.pdf'))}")
        except PdfUnavailable as e:
            typer.echo(f"no PDF: {e}", err=True)
