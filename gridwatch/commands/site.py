"""`gridwatch site export|apply`: the live registry as a site file, and a site file into it.

`export` prints the registry as YAML (the site file's normalised shape: people once under
`people`, grids naming their worker by id); `apply FILE` sends a file through the same
validation and transaction as `PUT /api/v1/site` and prints the diff; `--dry-run` only prints
it. Export then apply is a no-op. Sensors missing from the file are retired, never deleted.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import typer
import yaml

from domain.settings import Settings
from domain.site import SiteError, load_site
from gridwatch import flags
from gridwatch.logins import dynsec_admin
from services.db.engine import open_database
from services.registry import provisioning
from services.registry.changes import ENTITIES, Outcome
from services.registry.edits import checked
from services.registry.store import RegistryStore
from services.rules.book import load_rules
from services.rules.overrides import RuleError
from services.ticketing import registry_outbox

app = typer.Typer(help="Export or apply the site registry.", no_args_is_help=True)


def _store(db_url: str | None, site: Path | None) -> RegistryStore:
    loaded = flags.settings(db_url=db_url, site=site).settings
    # a move or retirement owes the crews their notices, as through the API
    store = RegistryStore(open_database(loaded.db.url), outbox=registry_outbox(loaded))
    if store.version() == 0 and loaded.site is not None:
        store.seed(load_site(loaded.site))
    return store


def export_text(store: RegistryStore) -> str:
    """The committed registry as site-file YAML ("" when there is none)."""
    cur = store.current()
    if cur.site is None:
        return ""
    return yaml.safe_dump(cur.site.document(), allow_unicode=True, sort_keys=False)


def diff_lines(out: Outcome) -> list[str]:
    lines: list[str] = []
    for name in ENTITIES:
        for action, ids in out.diff[name].items():
            if name == "sensors" and action == "removed":
                action = "retired"
            lines.extend(
                f"{action:8} {name[:-1] if name != 'people' else 'person'} {i}" for i in ids
            )
    return lines


@app.command("export")
def export(db_url: flags.DbUrl = None, site: flags.Site = None) -> None:
    """Print the registry as YAML (a site file)."""
    text = export_text(_store(db_url, site))
    if not text:
        typer.echo("error: the database holds no registry (apply a site file first)", err=True)
        raise typer.Exit(1)
    typer.echo(text, nl=False)


@app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="A site file (YAML or JSON).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print the diff.")] = False,
    db_url: flags.DbUrl = None,
) -> None:
    """Apply a site file to the registry (one transaction) and print the diff; with dynamic
    security (GRIDWATCH_DYNSEC_PASSWORD) new sensors get their broker logins, printed once,
    and retired ones lose theirs."""
    settings = flags.settings(db_url=db_url).settings
    try:
        new = checked(load_rules(settings.rules), load_site(file))
    except (SiteError, RuleError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    store = _store(db_url, None)
    actor = f"cli:{_user()}"
    out = store.change(lambda _cur: new, actor, dry_run=dry_run)
    lines = diff_lines(out)
    for line in lines:
        typer.echo(line)
    if not lines:
        typer.echo(f"no changes (version {out.version})")
    elif dry_run:
        typer.echo(f"dry run: nothing applied (version {out.version})")
    else:
        typer.echo(f"applied: version {out.version}")
        _logins(store, out, actor, settings)


def _logins(store: RegistryStore, out: Outcome, actor: str, settings: Settings) -> None:
    """The broker logins of a committed change (a failure leaves the change in place). The
    first version is the site's seed: its sensors keep the logins broker-config gave them."""
    if out.version == 1:
        return
    logins = dynsec_admin(settings)
    if logins is None:
        if out.added_sensors:
            typer.echo(
                "new sensors have no broker login: this hub has no dynamic-security connection "
                "(GRIDWATCH_DYNSEC_PASSWORD); add them with gridwatch broker-config",
                err=True,
            )
        return

    async def run() -> provisioning.Logins:
        async with logins:
            return await provisioning.follow(store, logins, out, actor)

    done = asyncio.run(run())
    for sid, c in done.credentials.items():
        typer.echo(f"login {sid}: user {c['username']} password {c['password']} (shown once)")
    for sid, err in done.errors.items():
        typer.echo(f"error: {sid}: {err}", err=True)
    if done.errors:
        typer.echo("retry a sensor's login with POST /api/v1/sensors/{id}/credentials", err=True)
        raise typer.Exit(1)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"
