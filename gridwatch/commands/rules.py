"""`gridwatch rules dry-run`: the tickets a rule (or a changed threshold) would have opened over
past readings in InfluxDB, before switching it on. Nothing is written anywhere."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from adapters.influx.errors import InfluxError
from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout
from domain.instants import from_ns, to_ns
from domain.site import Registry, SiteError, load_site
from gridwatch import flags
from services.dryrun import DryRun, DryRunError, DryRunResult, Scope, dry_run, parse_sets

app = typer.Typer(help="Rules: try them on past data.", no_args_is_help=True)

FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def _ns(d: datetime, registry: Registry) -> int:
    return to_ns(d, registry.site.tz)  # zone-less: site-local, as on every API route


def _fmt(ns: int | None, registry: Registry) -> str:
    if ns is None:
        return "-"
    return from_ns(ns, registry.site.tz).isoformat()


def _print(r: DryRunResult, registry: Registry) -> None:
    typer.echo(f"rule {r.rule}: {r.sensors} sensor(s), {r.readings} reading(s)")
    typer.echo("sensor\trule\tseverity\topened_at\tcleared_at\tpeak")
    for t in r.tickets:
        typer.echo(
            f"{t.sensor}\t{t.rule}\t{t.severity}\t{_fmt(t.opened_at_ns, registry)}\t"
            f"{_fmt(t.cleared_at_ns, registry)}\t{t.peak_value}"
        )
    typer.echo(f"{len(r.tickets)} ticket(s) would have opened")
    if r.baseline is not None:
        typer.echo(f"{len(r.baseline)} ticket(s) under the rule as it is now")
    for x in r.inhibited:
        typer.echo(
            f"{x.sensor}\t{x.rule}\tinhibited by {x.into}\t{_fmt(x.at_ns, registry)}\t"
            f"{x.severity}\t{x.metric} {x.value}"
        )
    typer.echo(f"{len(r.inhibited)} breach(es) would have been a note on another rule's ticket")


@app.command("dry-run")
def dry_run_command(
    rule: Annotated[str, typer.Option("--rule", help="Rule id, e.g. pond.low_oxygen.")],
    from_: Annotated[datetime, typer.Option("--from", formats=FORMATS, help="Start (site tz).")],
    to: Annotated[datetime, typer.Option("--to", formats=FORMATS, help="End, excluded.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Change a field: warning.value=3.5, for=30min (repeat)."),
    ] = None,
    sensor: Annotated[str | None, typer.Option("--sensor")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    community: Annotated[str | None, typer.Option("--community")] = None,
    site: flags.Site = None,
    influx_url: flags.InfluxUrl = None,
    influx_db: flags.InfluxDb = None,
    rules: flags.Rules = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Replay readings of a sensor, a kind or a community through one rule and list the
    tickets it would have opened (one per episode)."""
    settings = flags.settings(
        env_file, site=site, influx_url=influx_url, influx_db=influx_db, rules=rules
    ).settings
    influx_settings = settings.influx
    if not settings.site or not influx_settings.url:
        typer.echo("error: name --site and --influx-url (or GRIDWATCH_SITE/_INFLUX_URL)", err=True)
        raise typer.Exit(2)
    try:
        registry = Registry(load_site(settings.site))
        req = DryRun(
            rule,
            Scope(sensor, kind, community),
            _ns(from_, registry),
            _ns(to, registry),
            parse_sets(set_ or []),
        )
    except (SiteError, DryRunError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None

    async def run() -> DryRunResult:
        async with InfluxQuery(
            influx_settings.url or "",
            influx_settings.db,
            token=influx_settings.token_value,
            user=influx_settings.user,
            password=influx_settings.password_value,
        ) as influx:
            return await dry_run(
                influx, registry, req, overrides=settings.rules, raw_rp=Layout().raw_rp
            )

    try:
        result = asyncio.run(run())
    except DryRunError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except InfluxError as e:
        typer.echo(f"error: InfluxDB: {e}", err=True)
        raise typer.Exit(1) from None
    _print(result, registry)
