"""`gridwatch report --from DATE --to DATE [--community ID] [--out FILE.html] [--pdf]`: the
officers' sanitation report (services/reports), from InfluxDB and the ticket database.

Dates are site-local days, both included. Settings as for `gridwatch api` (GRIDWATCH_SITE,
GRIDWATCH_INFLUX_URL, GRIDWATCH_INFLUX_DB, GRIDWATCH_DB_URL, GRIDWATCH_INFLUX_RAW_RETENTION).
The database's registry, when it holds one, names the site and its communities (the site file
seeds a hub's database and may be stale since); sensors count where they were during the period
(services.reports.data).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from adapters.influx.errors import InfluxError
from adapters.influx.query import InfluxQuery
from domain.instants import to_ns
from domain.settings import Settings
from domain.site import Registry
from gridwatch import flags
from services.db.engine import open_database
from services.registry.store import RegistryStore
from services.reports import PdfUnavailable, collect, render, to_pdf
from services.trends.errors import TrendsError
from services.trends.service import Trends


def _day_ns(d: date, registry: Registry) -> int:
    return to_ns(datetime(d.year, d.month, d.day), registry.site.tz)  # site-local midnight


async def write_report(
    settings: Settings,
    registry: Registry,
    first: date,
    last: date,
    community: str | None,
    out: Path,
    *,
    now_ns: int | None = None,
) -> Path:
    """Collect and render the report for days first..last (inclusive) into `out` (HTML)."""
    influx_settings = settings.influx
    if not influx_settings.url:
        raise TrendsError("name InfluxDB with --influx-url or GRIDWATCH_INFLUX_URL")
    engine = await asyncio.to_thread(open_database, settings.db.url)
    try:
        store = RegistryStore(engine)
        if await asyncio.to_thread(store.version):
            registry = await asyncio.to_thread(store.registry)
        async with InfluxQuery(
            influx_settings.url,
            influx_settings.db,
            token=influx_settings.token_value,
            user=influx_settings.user,
            password=influx_settings.password_value,
        ) as influx:
            trends = await Trends.start(influx, raw_duration=influx_settings.raw_retention)
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
    site: flags.Site = None,
    db_url: flags.DbUrl = None,
    influx_url: flags.InfluxUrl = None,
    influx_db: flags.InfluxDb = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Write the sanitation report for officers: pond grades and classes, chlorine and voltage
    compliance, sewer overflow/surcharge events, tickets and data completeness."""
    settings = flags.settings(
        env_file, site=site, db_url=db_url, influx_url=influx_url, influx_db=influx_db
    ).settings
    first, last = from_.date(), to.date()
    if last < first:
        typer.echo("error: --to is before --from", err=True)
        raise typer.Exit(2)
    registry = flags.site_registry(settings)
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
